import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openReadModelDb, READ_MODELS_FILE } from './read-model-db.js';
import { ReadModelQueries } from './read-model-queries.js';
import { AccountabilityQueries } from './accountability-queries.js';
import { MaintenanceQueries } from './maintenance-queries.js';

export * from './read-model.types.js';
export * from './accountability.types.js';
export { AccountabilityQueries, type MetricsQuery } from './accountability-queries.js';
export { MaintenanceQueries, MAX_MAINTENANCES } from './maintenance-queries.js';
export { ConsistencyTimeoutError, ProjectionRunner, projectionStatus } from './projection-runner.js';
export type { ProjectionProgress, ProjectionRunnerOptions } from './projection-runner.js';
export { rebuild, type RebuildProgress } from './rebuild.js';
export { InvalidCursorError, MAX_PAGE_SIZE, ReadModelQueries } from './read-model-queries.js';
export {
  inspectReadModelDb,
  NewerReadModelsError,
  READ_MODELS_FILE,
  SCHEMA_VERSION as READ_MODELS_SCHEMA_VERSION,
} from './read-model-db.js';
export {
  BACKDATED_AFTER_MS,
  isBackdated,
  publicData,
  toTimelineEntry,
  visibilityOf,
} from './projections/timeline-entry.js';
export { toIncidentStreamEvent, type IncidentStreamEvent } from './projections/incident-stream-event.js';

export interface ReadModels {
  /** The SQLite file. */
  file: string;
  /** The connection: hand it to a ProjectionRunner. Close it before a `rebuild` of the same data dir. */
  db: Database.Database;
  queries: ReadModelQueries;
  /** Incident metrics, communication compliance, overdue updates and the post-incident catalogs. */
  accountability: AccountabilityQueries;
  maintenances: MaintenanceQueries;
  close(): void;
}

/**
 * Opens the read models of a data directory (`dataDir`/read-models.db, whatever the directory is
 * called); creates them, empty, when missing.
 */
export function openReadModels(dataDir: string): ReadModels {
  const file = join(dataDir, READ_MODELS_FILE);
  const db = openReadModelDb(file);
  return {
    file,
    db,
    queries: new ReadModelQueries(db),
    accountability: new AccountabilityQueries(db),
    maintenances: new MaintenanceQueries(db),
    close: () => db.close(),
  };
}

/** Whether `error` is SQLite finding a file damaged: "database disk image is malformed", "file is not a database". */
export function isDamagedDatabaseError(error: unknown): boolean {
  // By its code rather than `instanceof SqliteError`: better-sqlite3's native part throws instances of
  // the class of the copy of its module that loaded last (Jest loads one per test file).
  return /^SQLITE_(CORRUPT|NOTADB)/.test(String((error as { code?: unknown } | null)?.code));
}

/**
 * Whether the read models' file of a data directory is damaged: SQLite's quick check of it fails
 * (a missing file is not damaged). Reads the whole file: for after an error, not before every use.
 */
export function readModelsDamaged(dataDir: string): boolean {
  let db: Database.Database;
  try {
    db = new Database(join(dataDir, READ_MODELS_FILE), { fileMustExist: true });
  } catch {
    return false;
  }
  try {
    return db.pragma('quick_check', { simple: true }) !== 'ok';
  } catch (error) {
    if (isDamagedDatabaseError(error)) return true;
    throw error;
  } finally {
    db.close();
  }
}

/**
 * Deletes the read models' file of a data directory, with its -wal and -shm files, and nothing
 * else: they are derived data, which a rebuild writes again from the log.
 */
export function deleteReadModels(dataDir: string): void {
  const file = join(dataDir, READ_MODELS_FILE);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}
