import { describe, expect, it } from '@jest/globals';
import { DeciderSpecification } from '../domain/testing/decider-spec.js';
import { commandMetadata, minutesAfterStart, recorded, START } from '../domain/testing/fixtures.js';
import {
  evolveNotification,
  initialNotificationState,
  type NotificationEvent,
  type RecordedNotificationEvent,
} from './notification.js';
import { notificationDecider, type NotificationCommand } from './notification.decide.js';

const given = DeciderSpecification.for(notificationDecider);
const NOW = minutesAfterStart(5);
const RETRY_AT = minutesAfterStart(6);

const at = (event: NotificationEvent, occurredAt = START): RecordedNotificationEvent =>
  recorded(event, occurredAt, 'notification-dispatcher');

function command<Type extends NotificationCommand['type']>(
  type: Type,
  data: Extract<NotificationCommand, { type: Type }>['data'],
): NotificationCommand {
  return {
    type,
    data,
    metadata: commandMetadata(NOW, NOW, 'notification-dispatcher'),
  } as NotificationCommand;
}

const queuedData = {
  notificationId: 'update-1-EMAIL',
  incidentId: 'incident-1',
  updateEventId: 'update-1',
  updateVersion: 3,
  channel: 'EMAIL' as const,
  incidentStatus: 'INVESTIGATING' as const,
  message: 'Checkout is failing for some customers; we are on it.',
};
const queued = at({ type: 'NotificationQueued', data: queuedData });
const failed = (attempt: number) =>
  at({
    type: 'NotificationAttemptFailed',
    data: { attempt, error: 'ECONNREFUSED', nextAttemptAt: RETRY_AT },
  });
const delivered = at({ type: 'NotificationDelivered', data: { attempt: 1, adapter: 'smtp', detail: null } });
const failure = (attempt: number, maxAttempts = 5) =>
  command('RecordAttemptFailure', { attempt, error: 'ECONNREFUSED', retryAt: RETRY_AT, maxAttempts });

describe('a notification', () => {
  it('is queued once, with its message trimmed', () => {
    given([])
      .when(command('QueueNotification', { ...queuedData, message: `  ${queuedData.message}\n` }))
      .then([{ type: 'NotificationQueued', data: queuedData }]);
    given([queued]).when(command('QueueNotification', queuedData)).thenThrows('notification-already-queued');
    given([])
      .when(command('QueueNotification', { ...queuedData, message: '  ' }))
      .thenThrows('notification-needs-message');
  });

  it('records a delivery of the next attempt', () => {
    given([queued, failed(1)])
      .when(command('RecordDelivery', { attempt: 2, adapter: 'smtp', detail: '<id@ledger>' }))
      .then([
        { type: 'NotificationDelivered', data: { attempt: 2, adapter: 'smtp', detail: '<id@ledger>' } },
      ]);
  });

  it('schedules a retry after a failed attempt, and gives up after the last one', () => {
    given([queued])
      .when(failure(1))
      .then([
        {
          type: 'NotificationAttemptFailed',
          data: { attempt: 1, error: 'ECONNREFUSED', nextAttemptAt: RETRY_AT },
        },
      ]);
    given([queued, failed(1), failed(2)])
      .when(failure(3, 3))
      .then([
        {
          type: 'NotificationAttemptFailed',
          data: { attempt: 3, error: 'ECONNREFUSED', nextAttemptAt: null },
        },
        { type: 'NotificationAbandoned', data: { attempts: 3, lastError: 'ECONNREFUSED' } },
      ]);
  });

  it('refuses outcomes for a missing, closed or out-of-sequence attempt', () => {
    given([]).when(failure(1)).thenThrows('notification-not-found');
    given([queued, delivered]).when(failure(2)).thenThrows('notification-closed');
    given([queued, failed(1), at({ type: 'NotificationAbandoned', data: { attempts: 1, lastError: 'x' } })])
      .when(command('RecordDelivery', { attempt: 2, adapter: 'smtp', detail: null }))
      .thenThrows('notification-closed');
    given([queued, failed(1)])
      .when(failure(1))
      .thenThrows('attempt-out-of-sequence');
    given([queued])
      .when(command('RecordDelivery', { attempt: 2, adapter: 'log', detail: null }))
      .thenThrows('attempt-out-of-sequence');
  });

  it('evolves into its delivery status', () => {
    const state = [queued, failed(1), at(delivered, NOW)].reduce(
      evolveNotification,
      initialNotificationState(),
    );
    expect(state).toMatchObject({
      exists: true,
      channel: 'EMAIL',
      status: 'DELIVERED',
      attempts: 1,
      lastError: 'ECONNREFUSED',
      deliveredAt: NOW,
      adapter: 'smtp',
      nextAttemptAt: null,
      version: 3,
    });
  });
});
