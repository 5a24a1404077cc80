import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { DataDirInUseError } from '../data-dir/data-dir-lock.js';
import { createOwnerOnly } from '../event-store/sqlite/owner-only-file.js';
import { isAlive } from '../local-process/local-process.js';
import { CHECKPOINT_SCHEMA } from '../feed-follower/local-db.js';
import type { SqlConnection } from './sql-connection.js';

/** The read models' own SQLite file, beside the event store's in LEDGER_DATA_DIR. */
export const READ_MODELS_FILE = 'read-models.db';

/**
 * Bumped with every change to the schema below. A file of an older version is emptied (the
 * read models are derived data: the runner then rebuilds them by catching up from the start of
 * the log); a file of a newer release is refused.
 */
export const SCHEMA_VERSION = 6;

/** The tables the incident facts projection rewrites, per incident, from its whole stream. */
export const PER_INCIDENT_FACTS_TABLES = [
  'incident_facts',
  'recurrence_keys',
  'root_causes',
  'preventive_measures',
  'postmortems',
  'compensations',
  'customer_feedback',
];

const READ_MODEL_TABLES = [
  'incidents',
  'incident_records',
  'incident_services',
  'timeline',
  'customer_updates',
  'eta_revisions',
  ...PER_INCIDENT_FACTS_TABLES,
  'maintenances',
  'maintenance_services',
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
  -- the event store). Descriptions are written when read, for the audience reading.
  CREATE TABLE timeline (
    incident_id         TEXT    NOT NULL,
    version             INTEGER NOT NULL,
    position            TEXT    NOT NULL,
    event_id            TEXT    NOT NULL,
    type                TEXT    NOT NULL,
    schema_version      INTEGER NOT NULL,
    visibility          TEXT    NOT NULL,
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
  -- One row per incident: what the domain's measureIncident and complianceOf make of its events,
  -- so that incidentMetrics and overdueUpdates aggregate rows instead of replaying streams. Worked
  -- out as of the incident's latest occurredAt (never the wall clock: a rebuild must give the same
  -- rows); what changes with the clock alone is kept apart (running_due_ms, next_update_due_ms).
  CREATE TABLE incident_facts (
    incident_id             TEXT    PRIMARY KEY,
    severity                TEXT    NOT NULL,
    started_ms              INTEGER NOT NULL,
    -- UTC "YYYY-MM" of the start, the MONTH group.
    month                   TEXT    NOT NULL,
    mtta_minutes            REAL,
    first_update_minutes    REAL,
    mitigate_minutes        REAL,
    mttr_minutes            REAL,
    first_eta_error_minutes REAL,
    final_eta_error_minutes REAL,
    eta_revisions           INTEGER,
    -- Cadence intervals judged, the running one (from the last public update, or from a reopening
    -- with none yet, to now, while open) included…
    cadence_judged          INTEGER NOT NULL,
    -- …the gaps among the finished ones…
    cadence_closed_gaps     INTEGER NOT NULL,
    -- …and when the running one becomes a gap; NULL when there is none.
    running_due_ms          INTEGER,
    -- What the policy demands next (first update or cadence) while open; NULL when nothing is owed.
    next_update_due_ms      INTEGER,
    -- 1 when it has a (root-cause category, service) pair that can recur.
    recurrence_judged       INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  -- Every (root-cause category, service) pair of every incident, with the incident's start: the
  -- primary key finds "the same pair, started earlier within N days" with one range read.
  CREATE TABLE recurrence_keys (
    category    TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    started_ms  INTEGER NOT NULL,
    incident_id TEXT    NOT NULL,
    PRIMARY KEY (category, service, started_ms, incident_id)
  ) STRICT, WITHOUT ROWID;
  -- The post-incident catalogs, one row per item as the domain's state holds it (latest revision).
  -- Keyed by incident first, so that rewriting an incident's rows is a range of the primary key.
  CREATE TABLE root_causes (
    incident_id   TEXT    NOT NULL,
    root_cause_id TEXT    NOT NULL,
    category      TEXT    NOT NULL,
    started_ms    INTEGER NOT NULL,
    root_cause    TEXT    NOT NULL,
    PRIMARY KEY (incident_id, root_cause_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE preventive_measures (
    incident_id TEXT    NOT NULL,
    measure_id  TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    due_ms      INTEGER NOT NULL,
    measure     TEXT    NOT NULL,
    PRIMARY KEY (incident_id, measure_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE postmortems (
    incident_id  TEXT    PRIMARY KEY,
    published_ms INTEGER NOT NULL,
    postmortem   TEXT    NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE compensations (
    incident_id TEXT    NOT NULL,
    grant_id    TEXT    NOT NULL,
    segment     TEXT,
    granted_ms  INTEGER NOT NULL,
    grant_data  TEXT    NOT NULL,
    PRIMARY KEY (incident_id, grant_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE customer_feedback (
    incident_id TEXT    NOT NULL,
    feedback_id TEXT    NOT NULL,
    rating      INTEGER NOT NULL,
    feedback    TEXT    NOT NULL,
    PRIMARY KEY (incident_id, feedback_id)
  ) STRICT, WITHOUT ROWID;
  -- Scheduled maintenance: the MaintenanceState as JSON, and what the filters read.
  CREATE TABLE maintenances (
    id              TEXT    PRIMARY KEY,
    status          TEXT    NOT NULL,
    window_start_ms INTEGER NOT NULL,
    window_end_ms   INTEGER NOT NULL,
    record          TEXT    NOT NULL
  ) STRICT;
  CREATE TABLE maintenance_services (
    service        TEXT NOT NULL,
    maintenance_id TEXT NOT NULL,
    PRIMARY KEY (service, maintenance_id)
  ) STRICT, WITHOUT ROWID;
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
  CREATE INDEX incident_facts_by_start ON incident_facts (started_ms);
  CREATE INDEX incident_facts_by_next_update ON incident_facts (next_update_due_ms)
    WHERE next_update_due_ms IS NOT NULL;
  CREATE INDEX recurrence_keys_by_incident ON recurrence_keys (incident_id);
  CREATE INDEX root_causes_by_start ON root_causes (started_ms);
  CREATE INDEX preventive_measures_by_owner ON preventive_measures (owner, due_ms);
  CREATE INDEX preventive_measures_by_due ON preventive_measures (due_ms);
  CREATE INDEX open_preventive_measures_by_due ON preventive_measures (due_ms, incident_id)
    WHERE status IN ('PLANNED', 'IN_PROGRESS');
  CREATE INDEX postmortems_by_publication ON postmortems (published_ms);
  CREATE INDEX compensations_by_grant ON compensations (granted_ms);
  CREATE INDEX maintenances_by_window ON maintenances (window_start_ms, window_end_ms);
`;

/**
 * Only takes effect on a new file. Larger pages than the default 4 KiB make a rebuild, which writes
 * every page of the file, about 10% faster.
 */
export const READ_MODELS_PAGE_SIZE = 16_384;

/**
 * Opens (creating the directory, file and schema if missing) the read-model database. WAL and
 * synchronous=NORMAL: a power cut may lose the last commits, which the runner then applies
 * again from the log, since the checkpoint is in the same transactions as the rows.
 */
export function openReadModelDb(filePath: string): Database.Database {
  createOwnerOnly(filePath);
  const db = new Database(filePath);
  try {
    db.pragma(`page_size = ${READ_MODELS_PAGE_SIZE}`);
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

/**
 * The read-model file as it is, to look at (the CLI's status): neither created nor migrated, so
 * that looking at an older release's file does not empty it under that release's running server.
 * Null when there is none; NewerReadModelsError for a newer release's. Version 0: no schema yet.
 */
export function inspectReadModelDb(
  filePath: string,
): { db: Database.Database; schemaVersion: number } | null {
  if (!existsSync(filePath)) return null;
  const db = new Database(filePath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return { db, schemaVersion: schemaVersionOf(db) };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** A read-model file written by a newer release: this one does not know its schema. */
export class NewerReadModelsError extends Error {
  constructor(
    readonly file: string,
    readonly version: number,
  ) {
    super(`${file} has schema version ${version}; this release reads up to ${SCHEMA_VERSION}`);
    this.name = 'NewerReadModelsError';
  }
}

/** The schema version of a read-model file; NewerReadModelsError for a newer release's. */
export function schemaVersionOf(db: Database.Database): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw new NewerReadModelsError(db.name, version);
  return version;
}

function migrate(db: Database.Database): void {
  const version = schemaVersionOf(db);
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version === 0) db.exec(CHECKPOINT_SCHEMA);
    dropOlderReleasesProjector(db);
    recreateReadModels(db, { withIndexes: true });
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * Releases before schema 6 named their server in a `projector` table instead of locking the data
 * directory (DataDirLock). Such a server still running would go on projecting into the emptied (or
 * replaced) read models: it is refused before anything changes, as those releases refused one another.
 */
export function refuseOlderReleasesServer(db: Database.Database): void {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'projector'").get() === undefined) return;
  const row = db.prepare('SELECT pid, host FROM projector').get() as
    { pid: number; host: string } | undefined;
  if (row !== undefined && row.host === hostname() && row.pid !== process.pid && isAlive(row.pid)) {
    throw new DataDirInUseError(
      `${db.name} is an older release's, and that release's server (process ${row.pid}) projects into it: ` +
        'stop it first',
    );
  }
}

function dropOlderReleasesProjector(db: Database.Database): void {
  refuseOlderReleasesServer(db);
  db.exec('DROP TABLE IF EXISTS projector');
}

/**
 * Drops every read model and creates them empty, and resets the checkpoint. Runs inside the
 * caller's transaction; without indexes, the caller must call createReadModelIndexes before it
 * commits.
 */
export function recreateReadModels(db: SqlConnection, { withIndexes }: { withIndexes: boolean }): void {
  for (const table of READ_MODEL_TABLES) db.exec(`DROP TABLE IF EXISTS ${table}`);
  db.exec(READ_MODEL_SCHEMA);
  if (withIndexes) createReadModelIndexes(db);
  db.prepare('UPDATE checkpoint SET position = NULL').run();
}

export function createReadModelIndexes(db: SqlConnection): void {
  db.exec(READ_MODEL_INDEXES);
}
