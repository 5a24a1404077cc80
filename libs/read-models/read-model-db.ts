import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** The read models' own SQLite file, beside the event store's in LEDGER_DATA_DIR. */
export const READ_MODELS_FILE = 'read-models.db';

/**
 * Bumped with every change to the schema below. A file of an older version is emptied (the
 * read models are derived data: the runner then rebuilds them by catching up from the start of
 * the log); a file of a newer release is refused.
 */
const SCHEMA_VERSION = 1;

/** Bookkeeping, kept across rebuilds. */
const BOOKKEEPING_SCHEMA = `
  -- One row: the position of the last event applied, NULL before the first. Decimal text, as
  -- KurrentDB commit positions are unsigned 64-bit; the code compares them as BigInt.
  CREATE TABLE checkpoint (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position TEXT
  ) STRICT;
  INSERT INTO checkpoint (id, position) VALUES (1, NULL);
  -- The process running a ProjectionRunner on this file, so that the CLI can refuse to rebuild
  -- under a running API server.
  CREATE TABLE projector (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    pid        INTEGER NOT NULL,
    host       TEXT    NOT NULL,
    started_at TEXT    NOT NULL
  ) STRICT;
`;

const READ_MODEL_TABLES = [
  'incidents',
  'incident_records',
  'incident_services',
  'timeline',
  'customer_updates',
  'eta_revisions',
];

// Instants that queries sort or filter on are also kept as epoch milliseconds (*_ms, and the
// incidents' started_at / last_updated_at / resolved_at): they compare correctly whatever
// offset the ISO text was written with.
const READ_MODEL_SCHEMA = `
  -- What the incident queries filter and sort on, in narrow rows: a filter that has to look at
  -- many incidents reads few pages. The records themselves are in incident_records.
  CREATE TABLE incidents (
    id              TEXT    PRIMARY KEY,
    status          TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    open            INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    last_updated_at INTEGER NOT NULL,
    resolved_at     INTEGER,
    title_lower     TEXT    NOT NULL
  ) STRICT, WITHOUT ROWID;
  -- The IncidentRecord as JSON: what the queries return.
  CREATE TABLE incident_records (
    id     TEXT PRIMARY KEY,
    record TEXT NOT NULL
  ) STRICT;
  CREATE TABLE incident_services (
    service     TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    PRIMARY KEY (service, incident_id)
  ) STRICT, WITHOUT ROWID;
  -- Every event of every incident stream, with its whole envelope (so that eventsOf never reads
  -- the event store) and its readable description.
  CREATE TABLE timeline (
    incident_id         TEXT    NOT NULL,
    version             INTEGER NOT NULL,
    position            TEXT    NOT NULL,
    event_id            TEXT    NOT NULL,
    type                TEXT    NOT NULL,
    schema_version      INTEGER NOT NULL,
    visibility          TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    actor               TEXT    NOT NULL,
    recorded_at         TEXT    NOT NULL,
    occurred_at         TEXT    NOT NULL,
    occurred_ms         INTEGER NOT NULL,
    backdated           INTEGER NOT NULL,
    data                TEXT    NOT NULL,
    correlation_id      TEXT    NOT NULL,
    causation_id        TEXT,
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    hash                TEXT    NOT NULL
  ) STRICT;
  CREATE TABLE customer_updates (
    incident_id    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    occurred_at    TEXT    NOT NULL,
    occurred_ms    INTEGER NOT NULL,
    recorded_at    TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    channels       TEXT    NOT NULL,
    visibility     TEXT    NOT NULL,
    next_update_at TEXT
  ) STRICT;
  CREATE TABLE eta_revisions (
    incident_id             TEXT    NOT NULL,
    version                 INTEGER NOT NULL,
    occurred_at             TEXT    NOT NULL,
    actor                   TEXT    NOT NULL,
    previous_estimate       TEXT,
    estimated_resolution_at TEXT    NOT NULL,
    reason                  TEXT    NOT NULL
  ) STRICT;
`;

// Separate from the tables so that a rebuild can create them once the rows are in: building an
// index from sorted rows is much faster than maintaining it row by row. The unique indexes also
// make applying an event twice fail loudly instead of doubling it.
const READ_MODEL_INDEXES = `
  CREATE INDEX incidents_by_start ON incidents (started_at, id);
  CREATE INDEX incidents_by_update ON incidents (last_updated_at, id);
  CREATE INDEX incidents_open_by_start ON incidents (open, started_at, id);
  CREATE INDEX incidents_open_by_update ON incidents (open, last_updated_at, id);
  CREATE INDEX incidents_by_status ON incidents (status);
  CREATE INDEX incidents_by_severity ON incidents (severity);
  CREATE INDEX incidents_by_resolution ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;
  -- One index per incident's rows: ordering a single incident's rows by occurredAt is a quick sort.
  CREATE UNIQUE INDEX timeline_by_version ON timeline (incident_id, version);
  CREATE UNIQUE INDEX customer_updates_by_version ON customer_updates (incident_id, version);
  CREATE UNIQUE INDEX eta_revisions_by_version ON eta_revisions (incident_id, version);
`;

/**
 * Opens (creating the directory, file and schema if missing) the read-model database. WAL and
 * synchronous=NORMAL: a power cut may lose the last commits, which the runner then applies
 * again from the log, since the checkpoint is in the same transactions as the rows.
 */
export function openReadModelDb(filePath: string): Database.Database {
  mkdirSync(dirname(filePath), { recursive: true });
  const db = new Database(filePath);
  try {
    // Only takes effect on a new file. Larger pages than the default 4 KiB make a rebuild, which
    // writes every page of the file, about 10% faster.
    db.pragma('page_size = 16384');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${db.name} has schema version ${version}; this release reads up to ${SCHEMA_VERSION}`);
  }
  db.transaction(() => {
    if (version === 0) db.exec(BOOKKEEPING_SCHEMA);
    recreateReadModels(db, { withIndexes: true });
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * Drops every read model and creates them empty, and resets the checkpoint. Runs inside the
 * caller's transaction; without indexes, the caller must call createReadModelIndexes before it
 * commits.
 */
export function recreateReadModels(db: Database.Database, { withIndexes }: { withIndexes: boolean }): void {
  for (const table of READ_MODEL_TABLES) db.exec(`DROP TABLE IF EXISTS ${table}`);
  db.exec(READ_MODEL_SCHEMA);
  if (withIndexes) createReadModelIndexes(db);
  db.prepare('UPDATE checkpoint SET position = NULL').run();
}

export function createReadModelIndexes(db: Database.Database): void {
  db.exec(READ_MODEL_INDEXES);
}

export function readCheckpoint(db: Database.Database): bigint | null {
  const { position } = db.prepare('SELECT position FROM checkpoint').get() as { position: string | null };
  return position === null ? null : BigInt(position);
}

/** Records that this process projects into the file (see activeProjector). */
export function registerProjector(db: Database.Database): void {
  db.prepare('INSERT OR REPLACE INTO projector (id, pid, host, started_at) VALUES (1, ?, ?, ?)').run(
    process.pid,
    hostname(),
    new Date().toISOString(),
  );
}

export function unregisterProjector(db: Database.Database): void {
  db.prepare('DELETE FROM projector WHERE pid = ? AND host = ?').run(process.pid, hostname());
}

/**
 * The pid of another live process on this machine that registered as projecting into the file,
 * or null. A process killed without stopping leaves its row behind; a dead pid is ignored.
 */
export function activeProjector(db: Database.Database): number | null {
  const row = db.prepare('SELECT pid, host FROM projector').get() as
    { pid: number; host: string } | undefined;
  if (row === undefined || row.host !== hostname() || row.pid === process.pid) return null;
  return isAlive(row.pid) ? row.pid : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
