import { createTransport, type Transporter } from 'nodemailer';
import type { ChannelAdapter, OutgoingNotification } from './channel-adapter.js';

export interface SmtpSettings {
  /** `smtp://user:pass@host:port` or `smtps://…` (nodemailer's connection URL). */
  url: string;
  from: string;
  /** Who receives customer updates: typically a customer mailing list. */
  to: string[];
  /** Deadline of the connection, the greeting and each socket read. */
  timeoutMs: number;
}

/** EMAIL over SMTP (nodemailer): one plain-text email per customer update. */
export class SmtpEmailAdapter implements ChannelAdapter {
  readonly name = 'smtp';
  private readonly transport: Transporter;

  constructor(private readonly settings: SmtpSettings) {
    this.transport = createTransport({
      url: settings.url,
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  }

  async send(notification: OutgoingNotification, signal: AbortSignal): Promise<{ detail: string | null }> {
    const info = (await this.transport.sendMail({
      // Shutdown closes the connection instead of waiting out a hung server's timeouts.
      signal,
      from: this.settings.from,
      to: this.settings.to,
      subject: `Service incident update: ${describeStatus(notification.incidentStatus)}`,
      text: notification.message,
      // Retries of one notification carry one Message-ID, so mail clients can fold duplicates.
      messageId: `<${notification.notificationId}@incident-ledger>`,
      headers: { 'X-Ledger-Incident-Id': notification.incidentId },
    })) as { messageId?: string };
    return { detail: info.messageId ?? null };
  }
}

function describeStatus(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase();
}
