import type { ChannelAdapter, OutgoingNotification } from './channel-adapter.js';

/**
 * The stand-in for a channel without a real integration: writes the notification to the server's
 * log and counts it as delivered, recorded with adapter `log` so nobody mistakes it for a send.
 */
export class LogChannelAdapter implements ChannelAdapter {
  readonly name = 'log';

  constructor(private readonly log: (notification: OutgoingNotification) => void) {}

  async send(notification: OutgoingNotification): Promise<{ detail: string | null }> {
    this.log(notification);
    return { detail: null };
  }
}
