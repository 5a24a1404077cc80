import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { newEvent } from '../event-store/testing/event-store.contract.js';
import { openLocalDb } from '../feed-follower/local-db.js';
import {
  NotificationIndex,
  NOTIFICATIONS_FILE,
  NOTIFICATIONS_SCHEMA,
  NOTIFICATIONS_SCHEMA_VERSION,
} from './notification-index.js';

describe('a notifications.db written by a release before lastErrorAt', () => {
  let dir: string;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'notification-index-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = () =>
    openLocalDb(join(dir, NOTIFICATIONS_FILE), NOTIFICATIONS_SCHEMA, NOTIFICATIONS_SCHEMA_VERSION);

  test('gains the column when opened: a failure indexed before keeps its error, with no time; the next failure brings both', async () => {
    const failure = (attempt: number, error: string) =>
      newEvent({ type: 'NotificationAttemptFailed', data: { attempt, error, nextAttemptAt: null } });
    await store.appendToStream('notification-n1', [failure(1, 'HTTP 500'), failure(2, 'ECONNREFUSED')], 0);
    const [, second] = await store.readStream('notification-n1');
    // The file as that release left it after attempt 1 failed: its schema had no last_error_at.
    const before = open();
    before.exec('ALTER TABLE notifications DROP COLUMN last_error_at');
    before
      .prepare(
        `INSERT INTO notifications (id, stream_id, incident_id, update_version, channel, correlation_id, status,
           attempts, next_attempt_at, last_error, queued_at)
         VALUES ('n1', 'notification-n1', 'i1', 1, 'EMAIL', 'c1', 'PENDING', 1, 0, 'HTTP 500', ?)`,
      )
      .run(new Date().toISOString());
    before.close();

    const db = open();
    const index = new NotificationIndex(db);
    const lastErrors = () =>
      index.ofUpdate('i1', 1).map(({ lastError, lastErrorAt }) => ({ lastError, lastErrorAt }));
    expect(lastErrors()).toEqual([{ lastError: 'HTTP 500', lastErrorAt: null }]);
    index.apply(second);
    expect(lastErrors()).toEqual([{ lastError: 'ECONNREFUSED', lastErrorAt: second.occurredAt }]);
    db.close();

    // Opened again, there is nothing to add.
    const again = open();
    expect(() => new NotificationIndex(again)).not.toThrow();
    again.close();
  });
});
