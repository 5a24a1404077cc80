/**
 * The lifecycle of one customer notification: one customer update on one channel, in its own
 * stream `notification-<updateEventId>-<CHANNEL>`. Events, state and `evolve`; the rules are in
 * notification.decide.ts.
 */
import type { Channel, DomainEvent, IncidentStatus, Recorded } from '../domain/index.js';

export const NOTIFICATION_STREAM_PREFIX = 'notification-';

/** One notification per customer update and channel: the id is derived, so queueing is idempotent. */
export function notificationId(updateEventId: string, channel: Channel): string {
  return `${updateEventId}-${channel}`;
}

export function notificationStreamId(id: string): string {
  return `${NOTIFICATION_STREAM_PREFIX}${id}`;
}

export type NotificationQueued = DomainEvent<
  'NotificationQueued',
  {
    notificationId: string;
    incidentId: string;
    /** The CustomerUpdatePublished event this notification carries, and its incident version. */
    updateEventId: string;
    updateVersion: number;
    channel: Channel;
    incidentStatus: IncidentStatus;
    message: string;
  }
>;
export type NotificationAttemptFailed = DomainEvent<
  'NotificationAttemptFailed',
  {
    attempt: number;
    error: string;
    /** Null when this was the last attempt (a NotificationAbandoned follows). */
    nextAttemptAt: string | null;
  }
>;
export type NotificationDelivered = DomainEvent<
  'NotificationDelivered',
  {
    attempt: number;
    /** Which adapter took it: `smtp`, `webhook`, or `log` (a stand-in: nothing left the server). */
    adapter: string;
    /** What the adapter reported (a message id, a status code), if anything. */
    detail: string | null;
  }
>;
export type NotificationAbandoned = DomainEvent<
  'NotificationAbandoned',
  { attempts: number; lastError: string }
>;

export type NotificationEvent =
  NotificationQueued | NotificationAttemptFailed | NotificationDelivered | NotificationAbandoned;
export type NotificationEventType = NotificationEvent['type'];
export type RecordedNotificationEvent = Recorded<NotificationEvent>;

// A record keyed by every type, so that the compiler rejects a list missing one.
const notificationEventTypes: Record<NotificationEventType, true> = {
  NotificationQueued: true,
  NotificationAttemptFailed: true,
  NotificationDelivered: true,
  NotificationAbandoned: true,
};
export const NOTIFICATION_EVENT_TYPES = Object.keys(
  notificationEventTypes,
) as readonly NotificationEventType[];

export type NotificationStatus = 'PENDING' | 'DELIVERED' | 'ABANDONED';

export interface NotificationState {
  exists: boolean;
  notificationId: string;
  incidentId: string;
  channel: Channel | null;
  /** The incident's version that published the customer update this notification carries. */
  updateVersion: number;
  incidentStatus: IncidentStatus | null;
  message: string;
  status: NotificationStatus;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt is due; null once delivered or abandoned. */
  nextAttemptAt: string | null;
  /** The error of the last attempt that failed; kept once a later attempt delivered it. */
  lastError: string | null;
  deliveredAt: string | null;
  adapter: string | null;
  /** Events in the stream: the expected version of the next append. */
  version: number;
}

export function initialNotificationState(): NotificationState {
  return {
    exists: false,
    notificationId: '',
    incidentId: '',
    channel: null,
    updateVersion: 0,
    incidentStatus: null,
    message: '',
    status: 'PENDING',
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
    deliveredAt: null,
    adapter: null,
    version: 0,
  };
}

export function evolveNotification(
  state: NotificationState,
  event: RecordedNotificationEvent,
): NotificationState {
  const next = { ...state, version: state.version + 1 };
  switch (event.type) {
    case 'NotificationQueued': {
      const { notificationId, incidentId, channel, updateVersion, incidentStatus, message } = event.data;
      return {
        ...next,
        exists: true,
        notificationId,
        incidentId,
        channel,
        updateVersion,
        incidentStatus,
        message,
        nextAttemptAt: event.occurredAt,
      };
    }
    case 'NotificationAttemptFailed':
      return {
        ...next,
        attempts: event.data.attempt,
        lastError: event.data.error,
        nextAttemptAt: event.data.nextAttemptAt,
      };
    case 'NotificationDelivered':
      return {
        ...next,
        status: 'DELIVERED',
        attempts: event.data.attempt,
        nextAttemptAt: null,
        deliveredAt: event.occurredAt,
        adapter: event.data.adapter,
      };
    case 'NotificationAbandoned':
      return { ...next, status: 'ABANDONED', nextAttemptAt: null };
    default:
      return unknownEvent(event);
  }
}

function unknownEvent(event: never): never {
  throw new Error(`Unknown notification event ${(event as { type: string }).type}`);
}
