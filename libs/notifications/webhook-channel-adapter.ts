import { postJson } from '../webhooks/http-post.js';
import { SIGNATURE_HEADER, signWebhook } from '../webhooks/signature.js';
import type { ChannelAdapter, OutgoingNotification } from './channel-adapter.js';

export interface NotificationWebhookSettings {
  url: string;
  secret: string;
  timeoutMs: number;
  maxResponseBytes: number;
}

/**
 * WEBHOOK: POSTs the notification as JSON to one configured URL, signed like webhook deliveries
 * (X-Ledger-Signature), for a customer-facing system that relays updates (a status page, a CRM).
 */
export class WebhookChannelAdapter implements ChannelAdapter {
  readonly name = 'webhook';

  constructor(private readonly settings: NotificationWebhookSettings) {}

  async send(notification: OutgoingNotification, signal: AbortSignal): Promise<{ detail: string | null }> {
    const body = JSON.stringify(notification);
    const outcome = await postJson(
      this.settings.url,
      body,
      {
        [SIGNATURE_HEADER]: signWebhook(this.settings.secret, body),
        'X-Ledger-Notification-Id': notification.notificationId,
      },
      { timeoutMs: this.settings.timeoutMs, maxResponseBytes: this.settings.maxResponseBytes, signal },
    );
    if (outcome.error !== null) throw new Error(outcome.error);
    return { detail: `HTTP ${outcome.statusCode}` };
  }
}
