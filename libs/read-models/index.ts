import { join } from 'node:path';
import type Database from 'better-sqlite3';
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
export { activeProjector, READ_MODELS_FILE } from './read-model-db.js';
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
  /** The connection: hand it to a ProjectionRunner (and to `rebuild`, when nothing else uses it). */
  db: Database.Database;
  queries: ReadModelQueries;
  /** Incident metrics, communication compliance, overdue updates and the post-incident catalogs. */
  accountability: AccountabilityQueries;
  maintenances: MaintenanceQueries;
  close(): void;
}

/**
 * Opens the read models of a data directory (LEDGER_DATA_DIR/read-models.db), or of the file
 * itself when the path ends in `.db`; creates them, empty, when missing.
 */
export function openReadModels(dataDirOrFile: string): ReadModels {
  const file = dataDirOrFile.endsWith('.db') ? dataDirOrFile : join(dataDirOrFile, READ_MODELS_FILE);
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
