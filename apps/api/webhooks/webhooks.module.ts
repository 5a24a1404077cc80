import { Inject, Logger, Module } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../../../libs/event-store/index.js';
import { WebhookDispatcher } from '../../../libs/webhooks/webhook-dispatcher.js';
import { BackgroundWorkerModule } from '../background-worker.js';
import { dispatcherLog } from '../dispatcher-log.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { WebhookRegistry } from './webhook-registry.js';
import { WebhooksResolver } from './webhooks.resolver.js';

const logger = new Logger('Webhooks');

/** Webhook registrations, signed deliveries and their log (LEDGER_DATA_DIR/webhooks.db). */
@Module({
  providers: [
    {
      provide: WebhookDispatcher,
      inject: [LEDGER_CONFIG, EVENT_STORE],
      useFactory: (config: LedgerConfig, store: EventStore) =>
        WebhookDispatcher.open(config.dataDir, store, {
          policy: config.delivery,
          maxResponseBytes: config.webhookMaxResponseBytes,
          ...dispatcherLog(logger, 'Webhook'),
        }),
    },
    WebhookRegistry,
    WebhooksResolver,
  ],
})
export class WebhooksModule extends BackgroundWorkerModule {
  constructor(@Inject(WebhookDispatcher) protected readonly worker: WebhookDispatcher) {
    super();
  }
}
