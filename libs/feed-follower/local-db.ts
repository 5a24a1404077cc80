import Database from 'better-sqlite3';
import type { StoredEvent } from '../event-store/index.js';
import { createOwnerOnly } from '../event-store/sqlite/owner-only-file.js';

/**
 * Where a follower of the feed (a dispatcher, the read models) is: one row, the position of the
 * last event handled, NULL before the first (decimal text, as KurrentDB positions are u64).
 */
export const CHECKPOINT_SCHEMA = `
  CREATE TABLE checkpoint (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position TEXT
  ) STRICT;
  INSERT INTO checkpoint (id, position) VALUES (1, NULL);
`;

/** Another writer moved the checkpoint since this one read it: its batch was rolled back. */
export class CheckpointMovedError extends Error {
  constructor(file: string, expected: bigint | null) {
    super(
      `The checkpoint of ${file} is no longer at ${expected ?? 'the start'}: another process wrote to it`,
    );
    this.name = 'CheckpointMovedError';
  }
}

/**
 * Opens a dispatcher's own SQLite file in the data dir (webhooks.db, notifications.db), creating
 * it with `schema` and a checkpoint table when missing, readable by its owner only (it may hold
 * secrets). WAL with
 * synchronous=FULL: an acknowledged registration or delivery outcome survives a power cut.
 */
export function openLocalDb(file: string, schema: string, schemaVersion: number): Database.Database {
  createOwnerOnly(file);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > schemaVersion) {
      throw new Error(`${file} has schema version ${version}; this release reads up to ${schemaVersion}`);
    }
    if (version === 0) {
      db.transaction(() => {
        db.exec(CHECKPOINT_SCHEMA + schema);
        db.pragma(`user_version = ${schemaVersion}`);
      }).immediate();
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function readCheckpoint(db: Database.Database): bigint | null {
  const { position } = db.prepare('SELECT position FROM checkpoint').get() as { position: string | null };
  return position === null ? null : BigInt(position);
}

/**
 * Moves the checkpoint from `expected` to `position`, inside the caller's transaction. Throws
 * CheckpointMovedError when it is no longer at `expected`, so that two writers on one file (two
 * servers on one data dir, a rebuild under a running server) never handle the same event twice.
 */
export function advanceCheckpoint(db: Database.Database, expected: bigint | null, position: bigint): void {
  const { changes } = db
    .prepare('UPDATE checkpoint SET position = ? WHERE position IS ?')
    .run(position.toString(), expected?.toString() ?? null);
  if (changes !== 1) throw new CheckpointMovedError(db.name, expected);
}

/** Handles a batch of the feed and moves the checkpoint past it, in one transaction. */
export type CheckpointedBatch = (events: StoredEvent[], from: bigint | null) => void;

/**
 * The transaction every follower of the feed commits a batch in: the checkpoint moves from `from`
 * to the batch's last position, and `apply` records the events, both or neither. The checkpoint
 * moves first: a batch that another writer already handled fails before any work.
 */
export function checkpointedBatch(
  db: Database.Database,
  apply: (events: StoredEvent[]) => void,
): CheckpointedBatch {
  const batch = db.transaction((events: StoredEvent[], from: bigint | null) => {
    advanceCheckpoint(db, from, events[events.length - 1].globalPosition);
    apply(events);
  });
  return (events, from) => batch.immediate(events, from);
}
