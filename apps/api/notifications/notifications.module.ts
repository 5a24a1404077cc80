import { Inject, Logger, Module } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../../../libs/event-store/index.js';
import type { ChannelAdapter, ChannelAdapters } from '../../../libs/notifications/channel-adapter.js';
import { LogChannelAdapter } from '../../../libs/notifications/log-channel-adapter.js';
import { NotificationDispatcher } from '../../../libs/notifications/notification-dispatcher.js';
import { SmtpEmailAdapter } from '../../../libs/notifications/smtp-email-adapter.js';
import { WebhookChannelAdapter } from '../../../libs/notifications/webhook-channel-adapter.js';
import { BackgroundWorkerModule } from '../background-worker.js';
import { dispatcherLog } from '../dispatcher-log.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import {
  CommunicationsLogUpdatesResolver,
  NotificationDeliveriesResolver,
} from './notification-deliveries.resolver.js';

const logger = new Logger('Notifications');

/** EMAIL by SMTP and WEBHOOK by signed POST when configured; every other channel to the log. */
function channelAdapters(config: LedgerConfig): ChannelAdapters {
  const log = new LogChannelAdapter((notification) =>
    logger.log({ notification }, 'Customer notification (log adapter)'),
  );
  const email: ChannelAdapter = config.smtp
    ? new SmtpEmailAdapter({ ...config.smtp, timeoutMs: config.delivery.timeoutMs })
    : log;
  const webhook: ChannelAdapter = config.notificationWebhook
    ? new WebhookChannelAdapter({
        ...config.notificationWebhook,
        timeoutMs: config.delivery.timeoutMs,
        maxResponseBytes: config.webhookMaxResponseBytes,
      })
    : log;
  return { EMAIL: email, WEBHOOK: webhook, SMS: log, SOCIAL: log, WEBSITE: log, IN_APP: log };
}

/** Customer notification dispatch (outbox streams `notification-…`, index in LEDGER_DATA_DIR/notifications.db). */
@Module({
  providers: [
    {
      provide: NotificationDispatcher,
      inject: [LEDGER_CONFIG, EVENT_STORE],
      useFactory: (config: LedgerConfig, store: EventStore) =>
        NotificationDispatcher.open(config.dataDir, store, {
          policy: config.delivery,
          adapters: channelAdapters(config),
          ...dispatcherLog(logger, 'Notification'),
        }),
    },
    CommunicationsLogUpdatesResolver,
    NotificationDeliveriesResolver,
  ],
})
export class NotificationsModule extends BackgroundWorkerModule {
  constructor(@Inject(NotificationDispatcher) protected readonly worker: NotificationDispatcher) {
    super();
  }
}
