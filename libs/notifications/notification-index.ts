import type Database from 'better-sqlite3';
import type { Channel } from '../domain/index.js';
import type { StoredEvent } from '../event-store/index.js';
import type { NotificationEvent, NotificationStatus } from './notification.js';

/** The notification dispatcher's own SQLite file, beside the event store's in LEDGER_DATA_DIR. */
export const NOTIFICATIONS_FILE = 'notifications.db';
export const NOTIFICATIONS_SCHEMA_VERSION = 1;

/**
 * An index of the notification streams, kept from the feed like a projection (the streams are
 * the truth): what the pump looks up to find due work, and what the communications log shows.
 * The one thing it knows before the streams: that an attempt has started (attempts, and the
 * next_attempt_at it is not given out again before), so that one cut off by a crash still counts.
 */
export const NOTIFICATIONS_SCHEMA = `
  CREATE TABLE notifications (
    -- The order of queueing, which is the feed's.
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    stream_id       TEXT    NOT NULL,
    incident_id     TEXT    NOT NULL,
    update_version  INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Epoch milliseconds; NULL once delivered or abandoned.
    next_attempt_at INTEGER,
    -- The last failed attempt's error and when it failed: kept once a later attempt delivered it.
    last_error      TEXT,
    adapter         TEXT,
    queued_at       TEXT    NOT NULL,
    delivered_at    TEXT,
    last_error_at   TEXT
  ) STRICT;
  CREATE INDEX notifications_by_update ON notifications (incident_id, update_version);
  CREATE INDEX notifications_pending ON notifications (channel, incident_id, seq) WHERE status = 'PENDING';
`;

/**
 * Columns added to the schema after its version 1, added when a file is opened rather than by a new
 * schema version: a file of an earlier release gains them (its rows hold NULL there), and an
 * earlier release still opens a file that has them. In one immediate transaction, so that two
 * processes opening the file at once do not both add them.
 */
function addLaterColumns(db: Database.Database): void {
  db.transaction(() => {
    const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('notifications')");
    if (!columns.all().some(({ name }) => name === 'last_error_at')) {
      db.exec('ALTER TABLE notifications ADD COLUMN last_error_at TEXT');
    }
  }).immediate();
}

/** A pending notification whose attempt may be made now. */
export interface DueNotification {
  id: string;
  streamId: string;
  correlationId: string;
}

/** One channel of one customer update, as the communications log shows it. */
export interface NotificationRecord {
  notificationId: string;
  channel: Channel;
  status: NotificationStatus;
  attempts: number;
  queuedAt: string;
  /** When the next attempt is due; null once delivered or abandoned. */
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  /**
   * The error of the last attempt that failed, and when it failed; kept once a later attempt
   * delivered the notification. Null while none failed (lastErrorAt also for a failure indexed by
   * a release before it was kept).
   */
  lastError: string | null;
  lastErrorAt: string | null;
  adapter: string | null;
}

interface NotificationRow {
  id: string;
  channel: Channel;
  status: NotificationStatus;
  attempts: number;
  queued_at: string;
  next_attempt_at: number | null;
  delivered_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  adapter: string | null;
}

export class NotificationIndex {
  private readonly statements;

  constructor(db: Database.Database) {
    addLaterColumns(db);
    this.statements = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO notifications
           (id, stream_id, incident_id, update_version, channel, correlation_id, status, next_attempt_at, queued_at)
         VALUES (@id, @streamId, @incidentId, @updateVersion, @channel, @correlationId, 'PENDING', @nextAttemptAt,
           @queuedAt)`,
      ),
      // A failure indexed late (the follower behind the pump) leaves a later attempt's start as it is.
      failed: db.prepare(
        `UPDATE notifications SET attempts = MAX(attempts, @attempt), last_error = @error, last_error_at = @failedAt,
           next_attempt_at = CASE WHEN attempts > @attempt THEN next_attempt_at ELSE @nextAttemptAt END
         WHERE stream_id = @streamId`,
      ),
      startAttempt: db.prepare(
        `UPDATE notifications SET attempts = @attempt, next_attempt_at = @nextAttemptAt
         WHERE id = @id AND status = 'PENDING'`,
      ),
      attemptsOf: db.prepare<[string], { attempts: number }>(
        'SELECT attempts FROM notifications WHERE id = ?',
      ),
      delivered: db.prepare(
        `UPDATE notifications SET status = 'DELIVERED', attempts = @attempt, adapter = @adapter,
           delivered_at = @deliveredAt, next_attempt_at = NULL
         WHERE stream_id = @streamId`,
      ),
      abandoned: db.prepare(
        `UPDATE notifications SET status = 'ABANDONED', next_attempt_at = NULL WHERE stream_id = ?`,
      ),
      // The oldest pending notification of each incident on the channel, if due: a channel never
      // tells customers an older update after a newer one.
      due: db.prepare<[{ channel: Channel; now: number; limit: number }], DueNotification>(
        `SELECT n.id, n.stream_id AS streamId, n.correlation_id AS correlationId
         FROM notifications n
         WHERE n.channel = @channel AND n.status = 'PENDING' AND n.next_attempt_at <= @now
           AND NOT EXISTS (SELECT 1 FROM notifications o
                           WHERE o.channel = @channel AND o.incident_id = n.incident_id AND o.status = 'PENDING'
                             AND o.seq < n.seq)
         ORDER BY n.seq LIMIT @limit`,
      ),
      nextDue: db.prepare<[number], { at: number | null }>(
        `SELECT MIN(next_attempt_at) AS at FROM notifications WHERE status = 'PENDING' AND next_attempt_at > ?`,
      ),
      ofUpdate: db.prepare<[string, number], NotificationRow>(
        'SELECT * FROM notifications WHERE incident_id = ? AND update_version = ? ORDER BY channel',
      ),
    };
  }

  /** Applies an event of a notification stream, inside the caller's transaction. */
  apply(stored: StoredEvent): void {
    const event = { type: stored.type, data: stored.data } as NotificationEvent;
    const streamId = stored.streamId;
    switch (event.type) {
      case 'NotificationQueued':
        this.statements.insert.run({
          id: event.data.notificationId,
          streamId,
          incidentId: event.data.incidentId,
          updateVersion: event.data.updateVersion,
          channel: event.data.channel,
          correlationId: stored.correlationId,
          nextAttemptAt: Date.parse(stored.occurredAt),
          queuedAt: stored.recordedAt,
        });
        return;
      case 'NotificationAttemptFailed':
        this.statements.failed.run({
          streamId,
          attempt: event.data.attempt,
          error: event.data.error,
          failedAt: stored.occurredAt,
          nextAttemptAt: event.data.nextAttemptAt === null ? null : Date.parse(event.data.nextAttemptAt),
        });
        return;
      case 'NotificationDelivered':
        this.statements.delivered.run({
          streamId,
          attempt: event.data.attempt,
          adapter: event.data.adapter,
          deliveredAt: stored.occurredAt,
        });
        return;
      case 'NotificationAbandoned':
        this.statements.abandoned.run(streamId);
        return;
      default:
        return unknownEvent(event);
    }
  }

  /**
   * Records, before the channel is called, that attempt `attempt` has started: the index counts it
   * and does not give the notification out again before `nextAttemptAt` (past the attempt's
   * deadline, plus the backoff). The stream records the outcome; an attempt counted here and not
   * there is one the server stopped during (see startedAttempts).
   */
  startAttempt(id: string, attempt: number, nextAttemptAt: number): void {
    this.statements.startAttempt.run({ id, attempt, nextAttemptAt });
  }

  /** The attempts started, the one in progress (or cut off by a crash) included. */
  startedAttempts(id: string): number {
    return this.statements.attemptsOf.get(id)?.attempts ?? 0;
  }

  due(channel: Channel, now: number, limit: number): DueNotification[] {
    return this.statements.due.all({ channel, now, limit });
  }

  nextDueAfter(now: number): number | null {
    return this.statements.nextDue.get(now)?.at ?? null;
  }

  /** The notifications of one customer update (the incident's version that published it). */
  ofUpdate(incidentId: string, updateVersion: number): NotificationRecord[] {
    return this.statements.ofUpdate.all(incidentId, updateVersion).map((row) => ({
      notificationId: row.id,
      channel: row.channel,
      status: row.status,
      attempts: row.attempts,
      queuedAt: row.queued_at,
      nextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at).toISOString(),
      deliveredAt: row.delivered_at,
      lastError: row.last_error,
      lastErrorAt: row.last_error_at,
      adapter: row.adapter,
    }));
  }
}

function unknownEvent(event: never): never {
  throw new Error(`Unknown notification event ${(event as { type: string }).type}`);
}
