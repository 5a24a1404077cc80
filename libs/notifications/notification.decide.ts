/**
 * Notification commands and `decideNotification`.
 *
 * Rules (the stable `RuleViolation.rule` names):
 *   notification-already-queued    QueueNotification on a stream that already holds one
 *   notification-needs-message     a blank message
 *   notification-not-found         recording an attempt before QueueNotification
 *   notification-closed            recording an attempt once delivered or abandoned
 *   attempt-out-of-sequence        an attempt number other than the next one
 *
 * The caller brings the clock and the randomness: `metadata.now` stamps the outcome, and the
 * retry instant (backoff with jitter) comes with the failure; the decider only judges.
 */
import type { Channel, Decider, DomainCommand, IncidentStatus } from '../domain/index.js';
import { RuleViolation } from '../domain/index.js';
import {
  evolveNotification,
  initialNotificationState,
  type NotificationEvent,
  type NotificationState,
  type RecordedNotificationEvent,
} from './notification.js';

export type QueueNotification = DomainCommand<
  'QueueNotification',
  {
    notificationId: string;
    incidentId: string;
    updateEventId: string;
    updateVersion: number;
    channel: Channel;
    incidentStatus: IncidentStatus;
    message: string;
  }
>;
export type RecordDelivery = DomainCommand<
  'RecordDelivery',
  { attempt: number; adapter: string; detail: string | null }
>;
export type RecordAttemptFailure = DomainCommand<
  'RecordAttemptFailure',
  {
    attempt: number;
    error: string;
    /** When to try again, if this was not the last allowed attempt. */
    retryAt: string;
    maxAttempts: number;
  }
>;

export type NotificationCommand = QueueNotification | RecordDelivery | RecordAttemptFailure;

export function decideNotification(
  command: NotificationCommand,
  state: NotificationState,
): NotificationEvent[] {
  switch (command.type) {
    case 'QueueNotification':
      return queue(command, state);
    case 'RecordDelivery':
      checkAttempt(command.data.attempt, state);
      return [{ type: 'NotificationDelivered', data: command.data }];
    case 'RecordAttemptFailure':
      checkAttempt(command.data.attempt, state);
      return recordFailure(command);
    default:
      return unknownCommand(command);
  }
}

function queue(command: QueueNotification, state: NotificationState): NotificationEvent[] {
  if (state.exists) {
    throw new RuleViolation(
      'notification-already-queued',
      `Notification ${state.notificationId} is already queued`,
    );
  }
  const message = command.data.message.trim();
  if (message === '') throw new RuleViolation('notification-needs-message', 'A notification needs a message');
  return [{ type: 'NotificationQueued', data: { ...command.data, message } }];
}

function checkAttempt(attempt: number, state: NotificationState): void {
  if (!state.exists) throw new RuleViolation('notification-not-found', 'No such notification');
  if (state.status !== 'PENDING') {
    throw new RuleViolation(
      'notification-closed',
      `Notification ${state.notificationId} is ${state.status.toLowerCase()}`,
    );
  }
  if (attempt !== state.attempts + 1) {
    throw new RuleViolation(
      'attempt-out-of-sequence',
      `Notification ${state.notificationId} expects attempt ${state.attempts + 1}, got ${attempt}`,
    );
  }
}

function recordFailure({ data }: RecordAttemptFailure): NotificationEvent[] {
  const last = data.attempt >= data.maxAttempts;
  return [
    {
      type: 'NotificationAttemptFailed',
      data: { attempt: data.attempt, error: data.error, nextAttemptAt: last ? null : data.retryAt },
    },
    ...(last
      ? [{ type: 'NotificationAbandoned' as const, data: { attempts: data.attempt, lastError: data.error } }]
      : []),
  ];
}

function unknownCommand(command: never): never {
  throw new Error(`Unknown notification command ${(command as { type: string }).type}`);
}

export const notificationDecider: Decider<
  NotificationCommand,
  NotificationEvent,
  NotificationState,
  RecordedNotificationEvent
> = {
  decide: decideNotification,
  evolve: evolveNotification,
  initialState: initialNotificationState,
};
