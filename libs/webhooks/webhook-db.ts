import type Database from 'better-sqlite3';
import type { WebhookRegisteredData } from './webhook-events.js';

/** The webhooks' own SQLite file, beside the event store's in LEDGER_DATA_DIR. */
export const WEBHOOKS_FILE = 'webhooks.db';

export const WEBHOOKS_SCHEMA_VERSION = 1;

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED_WILL_RETRY' | 'GAVE_UP';

const OPEN = `status IN ('PENDING', 'FAILED_WILL_RETRY')`;

export const WEBHOOKS_SCHEMA = `
  -- Registrations: url, filters and times from the log (WebhookRegistered / WebhookRemoved),
  -- the secret from the mutation that registered the webhook on this data dir.
  CREATE TABLE webhooks (
    id          TEXT    PRIMARY KEY,
    url         TEXT    NOT NULL,
    event_types TEXT    NOT NULL,
    incident_id TEXT,
    created_at  TEXT    NOT NULL,
    -- NULL when the webhook was registered on another data dir: it cannot be signed here.
    secret      TEXT,
    -- 1 from the dispatcher's handling of WebhookRegistered to that of WebhookRemoved: the
    -- events in between, and only they, get deliveries.
    listening   INTEGER NOT NULL DEFAULT 0,
    removed_at  TEXT
  ) STRICT;
  -- The outbox and the delivery log. seq is the order of creation, which is the feed's.
  CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    webhook_id      TEXT    NOT NULL,
    position        TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    stream_id       TEXT    NOT NULL,
    incident_id     TEXT,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Epoch milliseconds.
    next_attempt_at INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    -- An event queued twice for one webhook fails the batch instead of being delivered twice.
    UNIQUE (webhook_id, event_id)
  ) STRICT;
  CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, seq);
  CREATE INDEX deliveries_open_by_stream ON deliveries (webhook_id, stream_id, seq) WHERE ${OPEN};
  CREATE INDEX deliveries_open_by_due ON deliveries (next_attempt_at) WHERE ${OPEN};
  CREATE TABLE delivery_attempts (
    delivery_id  TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    attempted_at TEXT    NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    latency_ms   INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
  ) STRICT, WITHOUT ROWID;
`;

export interface Webhook {
  id: string;
  url: string;
  eventTypes: string[];
  incidentId: string | null;
  createdAt: string;
  removedAt: string | null;
  /** Deliveries are made: not removed, and its secret is known here. */
  active: boolean;
}

/** A webhook as the dispatcher matches events against it. */
export interface ListeningWebhook {
  id: string;
  eventTypes: string[];
  incidentId: string | null;
}

/** An open delivery, with what its attempt needs. */
export interface DueDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  /** The event's position in the feed. */
  position: string;
  url: string;
  secret: string;
  body: string;
  attempts: number;
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  position: string;
  eventId: string;
  eventType: string;
  streamId: string;
  incidentId: string | null;
  body: string;
  nextAttemptAt: number;
  createdAt: string;
}

export interface DeliveryAttempt {
  attempt: number;
  attemptedAt: string;
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
}

export interface Delivery {
  id: string;
  webhookId: string;
  position: string;
  eventId: string;
  eventType: string;
  streamId: string;
  incidentId: string | null;
  status: DeliveryStatus;
  createdAt: string;
  /** When the next attempt is due; null once delivered or given up. */
  nextAttemptAt: string | null;
  attempts: DeliveryAttempt[];
}

interface WebhookRow {
  id: string;
  url: string;
  event_types: string;
  incident_id: string | null;
  created_at: string;
  secret: string | null;
  removed_at: string | null;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  position: string;
  event_id: string;
  event_type: string;
  stream_id: string;
  incident_id: string | null;
  status: DeliveryStatus;
  created_at: string;
  next_attempt_at: number;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  attempted_at: string;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
}

// Every way of saving a registration inserts the whole row, so that it does not matter whether
// the mutation or the dispatcher gets there first; each then sets only what it knows.
const UPSERT = `
  INSERT INTO webhooks (id, url, event_types, incident_id, created_at, secret, listening, removed_at)
  VALUES (@id, @url, @eventTypes, @incidentId, @createdAt, @secret, @listening, @removedAt)
  ON CONFLICT (id) DO UPDATE SET `;

export type Registration = { id: string; createdAt: string } & WebhookRegisteredData;

/**
 * What the log holds for an attempt from its start, and keeps when it got no outcome: the process
 * died during it, or a shutdown cut it off. The receiver may or may not have got the request.
 */
export const SERVER_STOPPED =
  'the server stopped during this attempt: the receiver may or may not have got it';

/** How the log shows an attempt this process is making right now. */
export const IN_PROGRESS = 'in progress: no answer yet';

/**
 * Secrets of registrations being appended (see noteRegistering). Created when the file is opened,
 * not by its schema version: an addition that the files of every release can hold.
 */
const REGISTERING_SCHEMA = `
  CREATE TABLE IF NOT EXISTS registering (
    id     TEXT PRIMARY KEY,
    secret TEXT NOT NULL
  ) STRICT;
`;

/** The statements on webhooks.db. Writes run in the caller's transaction when there is one. */
export class WebhookDb {
  private readonly statements;
  /** The deliveries whose attempt this process started and has not finished. */
  private readonly attempting = new Set<string>();

  constructor(readonly db: Database.Database) {
    db.exec(REGISTERING_SCHEMA);
    this.statements = {
      saveSecret: db.prepare(UPSERT + 'secret = excluded.secret'),
      noteRegistering: db.prepare('INSERT INTO registering (id, secret) VALUES (?, ?)'),
      registeringSecret: db.prepare<[string], { secret: string }>(
        'SELECT secret FROM registering WHERE id = ?',
      ),
      forgetRegistering: db.prepare('DELETE FROM registering WHERE id = ?'),
      startListening: db.prepare(UPSERT + 'listening = 1'),
      markRemoved: db.prepare(UPSERT + 'removed_at = excluded.removed_at'),
      stopListening: db.prepare('UPDATE webhooks SET listening = 0, removed_at = ? WHERE id = ?'),
      giveUpOpen: db.prepare(`UPDATE deliveries SET status = 'GAVE_UP' WHERE webhook_id = ? AND ${OPEN}`),
      webhook: db.prepare<[string], WebhookRow>('SELECT * FROM webhooks WHERE id = ?'),
      webhooks: db.prepare<[], WebhookRow>('SELECT * FROM webhooks ORDER BY created_at, id'),
      listening: db.prepare<[], WebhookRow>('SELECT * FROM webhooks WHERE listening = 1'),
      active: db.prepare<[], { id: string }>(
        'SELECT id FROM webhooks WHERE secret IS NOT NULL AND removed_at IS NULL',
      ),
      insertDelivery: db.prepare(
        `INSERT INTO deliveries (id, webhook_id, position, event_id, event_type, stream_id, incident_id,
           body, status, next_attempt_at, created_at)
         VALUES (@id, @webhookId, @position, @eventId, @eventType, @streamId, @incidentId, @body, 'PENDING',
           @nextAttemptAt, @createdAt)`,
      ),
      // The oldest open delivery of each of the webhook's streams, if due. The pump asks after
      // every attempt, so this walks the streams with open deliveries (one index seek each) and
      // never the delivered history, nor the backlog queued behind a receiver that is down.
      due: db.prepare<[{ webhookId: string; now: number; limit: number }], DueDelivery>(
        `WITH RECURSIVE streams (stream_id) AS (
           SELECT MIN(stream_id) FROM deliveries WHERE webhook_id = @webhookId AND ${OPEN}
           UNION ALL
           SELECT (SELECT MIN(stream_id) FROM deliveries
                   WHERE webhook_id = @webhookId AND ${OPEN} AND stream_id > streams.stream_id)
           FROM streams WHERE streams.stream_id IS NOT NULL
         )
         SELECT d.id, d.webhook_id AS webhookId, d.event_id AS eventId, d.event_type AS eventType, d.position,
           w.url, w.secret, d.body, d.attempts
         FROM streams
         JOIN deliveries d ON d.seq = (SELECT MIN(seq) FROM deliveries
                                       WHERE webhook_id = @webhookId AND stream_id = streams.stream_id AND ${OPEN})
         JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.next_attempt_at <= @now AND w.secret IS NOT NULL AND w.removed_at IS NULL
         ORDER BY d.seq LIMIT @limit`,
      ),
      nextDue: db.prepare<[number], { at: number | null }>(
        `SELECT MIN(d.next_attempt_at) AS at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.${OPEN} AND d.next_attempt_at > ? AND w.secret IS NOT NULL AND w.removed_at IS NULL`,
      ),
      // Attempt n starts only from a delivery still open with n − 1 attempts: not one given up
      // meanwhile (its webhook removed), nor one whose attempt n another writer started.
      startAttempt: db.prepare(
        `UPDATE deliveries SET status = 'FAILED_WILL_RETRY', attempts = @attempt, next_attempt_at = @nextAttemptAt
         WHERE id = @deliveryId AND ${OPEN} AND attempts = @attempt - 1`,
      ),
      insertAttempt: db.prepare(
        `INSERT INTO delivery_attempts (delivery_id, attempt, attempted_at, status_code, error, latency_ms)
         VALUES (@deliveryId, @attempt, @attemptedAt, NULL, @error, 0)`,
      ),
      updateAttempt: db.prepare(
        `UPDATE delivery_attempts SET status_code = @statusCode, error = @error, latency_ms = @latencyMs
         WHERE delivery_id = @deliveryId AND attempt = @attempt`,
      ),
      // Only an open delivery: one given up meanwhile (its webhook removed) stays given up.
      updateDelivery: db.prepare(
        `UPDATE deliveries SET status = @status, next_attempt_at = @nextAttemptAt
         WHERE id = @deliveryId AND ${OPEN} AND attempts = @attempt`,
      ),
      deliveries: db.prepare<[string, number], DeliveryRow>(
        'SELECT * FROM deliveries WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?',
      ),
      attemptsOf: db.prepare<[string], AttemptRow>(
        `SELECT * FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))
         ORDER BY delivery_id, attempt`,
      ),
    };
  }

  /** The mutation that registered the webhook keeps its secret. */
  saveSecret(registration: Registration, secret: string): void {
    this.db.transaction(() => {
      this.statements.saveSecret.run(row(registration, { secret }));
      this.statements.forgetRegistering.run(registration.id);
    })();
  }

  /**
   * Keeps the secret of a registration about to be appended to the log, before it is: whichever
   * comes first, the mutation after its append or the dispatcher reaching WebhookRegistered (after a
   * crash between the two, say), makes it the webhook's. A webhook registered through another data
   * dir has none here, and is not signed here.
   */
  noteRegistering(id: string, secret: string): void {
    this.statements.noteRegistering.run(id, secret);
  }

  /** The registration was not appended after all. */
  forgetRegistering(id: string): void {
    this.statements.forgetRegistering.run(id);
  }

  /** The dispatcher reached WebhookRegistered: the events after it are for this webhook. */
  startListening(registration: Registration): void {
    this.statements.startListening.run(row(registration, { listening: 1 }));
    const registering = this.statements.registeringSecret.get(registration.id);
    if (registering) this.saveSecret(registration, registering.secret);
  }

  /** The mutation that removed the webhook: no more attempts from now on. */
  markRemoved(registration: Registration, removedAt: string): void {
    this.statements.markRemoved.run(row(registration, { removedAt }));
  }

  /** The dispatcher reached WebhookRemoved: no more deliveries, and the open ones are given up. */
  stopListening(id: string, removedAt: string): void {
    this.statements.stopListening.run(removedAt, id);
    this.statements.giveUpOpen.run(id);
  }

  /** The secret a webhook was registered with on this data dir; null when not known here. */
  secretOf(id: string): string | null {
    return this.statements.webhook.get(id)?.secret ?? this.registeringSecretOf(id);
  }

  /** The secret of a registration of this data dir not yet made the webhook's; null for none. */
  registeringSecretOf(id: string): string | null {
    return this.statements.registeringSecret.get(id)?.secret ?? null;
  }

  webhook(id: string): Webhook | null {
    const found = this.statements.webhook.get(id);
    return found ? toWebhook(found) : null;
  }

  webhooks(): Webhook[] {
    return this.statements.webhooks.all().map(toWebhook);
  }

  listening(): ListeningWebhook[] {
    return this.statements.listening.all().map(toWebhook);
  }

  activeIds(): string[] {
    return this.statements.active.all().map(({ id }) => id);
  }

  insertDelivery(delivery: NewDelivery): void {
    this.statements.insertDelivery.run(delivery);
  }

  due(webhookId: string, now: number, limit: number): DueDelivery[] {
    return this.statements.due.all({ webhookId, now, limit });
  }

  nextDueAfter(now: number): number | null {
    return this.statements.nextDue.get(now)?.at ?? null;
  }

  /**
   * Records, before its request goes, that attempt `attempt` of an open delivery has started: the
   * delivery counts it and is not due again before `nextAttemptAt` (past the attempt's deadline,
   * plus the backoff), and the log holds it as an attempt the server stopped during, which is what
   * it stays if the process dies before finishAttempt. False (nothing written) when the delivery
   * is no longer open or its attempt `attempt` was already started: it must not be sent.
   */
  readonly startAttempt = (
    deliveryId: string,
    attempt: number,
    attemptedAt: string,
    nextAttemptAt: number,
  ): boolean => {
    const started = this.db.transaction(() => {
      const { changes } = this.statements.startAttempt.run({ deliveryId, attempt, nextAttemptAt });
      if (changes === 0) return false;
      this.statements.insertAttempt.run({ deliveryId, attempt, attemptedAt, error: SERVER_STOPPED });
      return true;
    })();
    // Once committed: a failed commit leaves no attempt to show as under way.
    if (started) this.attempting.add(deliveryId);
    return started;
  };

  /**
   * Records the outcome of an attempt begun with startAttempt, and moves its delivery on (unless
   * it was given up meanwhile), in one transaction. False when it was: the delivery stays given up.
   */
  finishAttempt(
    deliveryId: string,
    attempt: Omit<DeliveryAttempt, 'attemptedAt'>,
    status: Exclude<DeliveryStatus, 'PENDING'>,
    nextAttemptAt: number,
  ): boolean {
    try {
      return this.db.transaction(() => {
        this.statements.updateAttempt.run({ deliveryId, ...attempt });
        const moved = this.statements.updateDelivery.run({
          deliveryId,
          status,
          attempt: attempt.attempt,
          nextAttemptAt,
        });
        return moved.changes === 1;
      })();
    } finally {
      this.attempting.delete(deliveryId);
    }
  }

  /**
   * Gives up an open delivery whose last allowed attempt (`attempts`) was started and never
   * finished: the server stopped during it.
   */
  giveUpStopped(deliveryId: string, attempts: number): void {
    this.statements.updateDelivery.run({
      deliveryId,
      status: 'GAVE_UP',
      attempt: attempts,
      nextAttemptAt: 0,
    });
  }

  /** The newest `first` deliveries of a webhook, newest first, with their attempts. */
  deliveries(webhookId: string, first: number): Delivery[] {
    const rows = this.statements.deliveries.all(webhookId, first);
    const attempts = new Map<string, DeliveryAttempt[]>();
    for (const found of this.statements.attemptsOf.all(JSON.stringify(rows.map((r) => r.id)))) {
      const list = attempts.get(found.delivery_id) ?? [];
      list.push({
        attempt: found.attempt,
        attemptedAt: found.attempted_at,
        statusCode: found.status_code,
        error: found.error,
        latencyMs: found.latency_ms,
      });
      attempts.set(found.delivery_id, list);
    }
    return rows.map((found) => {
      const open = found.status === 'PENDING' || found.status === 'FAILED_WILL_RETRY';
      const made = attempts.get(found.id) ?? [];
      let status = found.status;
      // An attempt in flight here is stored as what a crash would leave of it (a failed attempt
      // the server stopped during, to be retried): shown as what it is, under way.
      if (open && this.attempting.has(found.id) && made.length > 0) {
        made[made.length - 1] = { ...made[made.length - 1], error: IN_PROGRESS };
        if (made.length === 1) status = 'PENDING';
      }
      return {
        id: found.id,
        webhookId: found.webhook_id,
        position: found.position,
        eventId: found.event_id,
        eventType: found.event_type,
        streamId: found.stream_id,
        incidentId: found.incident_id,
        status,
        createdAt: found.created_at,
        nextAttemptAt: open ? new Date(found.next_attempt_at).toISOString() : null,
        attempts: made,
      };
    });
  }
}

function row(
  registration: Registration,
  set: { secret?: string; listening?: number; removedAt?: string },
): Record<string, unknown> {
  return {
    id: registration.id,
    url: registration.url,
    eventTypes: JSON.stringify(registration.eventTypes),
    incidentId: registration.incidentId,
    createdAt: registration.createdAt,
    secret: set.secret ?? null,
    listening: set.listening ?? 0,
    removedAt: set.removedAt ?? null,
  };
}

function toWebhook(found: WebhookRow): Webhook {
  return {
    id: found.id,
    url: found.url,
    eventTypes: JSON.parse(found.event_types) as string[],
    incidentId: found.incident_id,
    createdAt: found.created_at,
    removedAt: found.removed_at,
    active: found.secret !== null && found.removed_at === null,
  };
}
