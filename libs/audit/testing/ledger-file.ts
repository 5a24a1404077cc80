import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EventStore, HashedContent, StoredEvent } from '../../event-store/index.js';
import { SqliteEventStore } from '../../event-store/sqlite/sqlite-event-store.js';
import { newEvent } from '../../event-store/testing/event-store.contract.js';

/** A SQLite event store file in a temporary directory of its own. */
export interface LedgerFile {
  dir: string;
  file: string;
  remove(): void;
}

export function ledgerFile(prefix: string): LedgerFile {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: join(dir, 'events.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Appends `eventsPerStream` events to each stream, `perAppend` at a time, the streams taking
 * turns so that the global log interleaves them.
 */
export async function seedStreams(
  store: EventStore,
  streamIds: string[],
  eventsPerStream: number,
  perAppend = 1,
): Promise<void> {
  for (let version = 0; version < eventsPerStream; version += perAppend) {
    await Promise.all(
      streamIds.map((streamId, i) =>
        store.appendToStream(
          streamId,
          Array.from({ length: perAppend }, (_, j) => newEvent({ data: { stream: i, n: version + j } })),
          version,
        ),
      ),
    );
  }
}

/** Changes the store's file directly, as someone with write access to it would (the store must be closed). */
export function tamper(file: string, change: (db: Database.Database) => void): void {
  const db = new Database(file);
  try {
    db.transaction(() => change(db))();
  } finally {
    db.close();
  }
}

/**
 * Renumbers the log's positions 1, 2, 3… in the order `orderBy` (SQL over the events table) and
 * sets the store's counter back to the last: no position handed out is left empty, so `verify`
 * sees no event removed.
 */
export function renumberPositions(db: Database.Database, orderBy = 'global_position'): void {
  db.exec(`
    CREATE TEMP TABLE renumbered AS
      SELECT global_position AS old, row_number() OVER (ORDER BY ${orderBy}) AS new FROM events;
    UPDATE events SET global_position = -(SELECT new FROM renumbered WHERE old = global_position);
    UPDATE events SET global_position = -global_position;
    UPDATE sqlite_sequence SET seq = (SELECT max(global_position) FROM events) WHERE name = 'events';
    DROP TABLE renumbered;
  `);
}

/** Inserts a row as the store would write it, with any content and hash. */
export function insertRow(db: Database.Database, content: HashedContent, hash: string): void {
  db.prepare(
    `INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, recorded_at,
       occurred_at, actor, correlation_id, causation_id, idempotency_key, request_fingerprint, hash)
     VALUES (@eventId, @streamId, @streamVersion, @type, @schemaVersion, @data, @recordedAt,
       @occurredAt, @actor, @correlationId, @causationId, @idempotencyKey, @requestFingerprint, @hash)`,
  ).run({ ...content, data: JSON.stringify(content.data), hash });
}

/** Every event of the store's file, in global order. */
export async function readLog(file: string): Promise<StoredEvent[]> {
  const store = SqliteEventStore.open(file);
  try {
    return await store.readAll(null, 1_000_000);
  } finally {
    await store.close();
  }
}
