import type { Channel, IncidentStatus } from '../domain/index.js';

/** What an adapter sends: one customer update on its channel. */
export interface OutgoingNotification {
  notificationId: string;
  incidentId: string;
  channel: Channel;
  /** The incident's status as the update announced it. */
  incidentStatus: IncidentStatus;
  /** The update's plain-language text, as the communicator wrote it. */
  message: string;
  /** 1 for the first attempt; retries of one notification carry the same notificationId. */
  attempt: number;
}

/**
 * A way to reach customers. To add a channel's real integration (an SMS gateway, a social
 * network, a status page, an in-app inbox), implement this and hand it to the dispatcher for the
 * channel; until then the channel has the LogChannelAdapter. See docs/integrations.md.
 */
export interface ChannelAdapter {
  /** Recorded with every delivery (`smtp`, `webhook`, `log`…), so the log says how it went out. */
  readonly name: string;
  /**
   * Resolves once the channel has accepted the notification, with what it said (a message id, a
   * status code); throws when it did not, and the notification is retried with backoff. Attempts
   * must be safe to repeat: delivery is at least once, and `notificationId` lets receivers dedupe.
   * When `signal` aborts (shutdown), give up quickly: unless it resolved, the attempt is recorded
   * as failed (the server stopped during it) and the next one is made after the restart.
   */
  send(notification: OutgoingNotification, signal: AbortSignal): Promise<{ detail: string | null }>;
}

export type ChannelAdapters = Record<Channel, ChannelAdapter>;
