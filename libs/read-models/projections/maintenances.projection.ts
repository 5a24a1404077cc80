import type { SqlConnection, SqlStatement } from '../sql-connection.js';
import {
  evolveMaintenance,
  initialMaintenanceState,
  MAINTENANCE_EVENT_TYPES,
  maintenanceStreamId,
  type MaintenanceState,
  type RecordedMaintenanceEvent,
} from '../../domain/index.js';
import type { StoredEvent } from '../../event-store/index.js';

const MAINTENANCE_STREAM_PREFIX = maintenanceStreamId('');
const KNOWN_TYPES = new Set<string>(MAINTENANCE_EVENT_TYPES);

/** An event of a maintenance stream of a type this release knows. */
export function isMaintenanceEvent(stored: StoredEvent): boolean {
  return stored.streamId.startsWith(MAINTENANCE_STREAM_PREFIX) && KNOWN_TYPES.has(stored.type);
}

/**
 * One row per scheduled maintenance: its MaintenanceState folded with the domain's own
 * `evolveMaintenance`, and the columns the filters read (status, window, services). Maintenances
 * folded in a batch are written once, by `flush`; events of a maintenance never scheduled are skipped.
 */
export class MaintenancesProjection {
  private readonly select: SqlStatement<[string], { record: string }>;
  private readonly upsert: SqlStatement;
  private readonly deleteServices: SqlStatement<[string]>;
  private readonly insertService: SqlStatement;
  private readonly folding = new Map<string, MaintenanceState>();

  constructor(db: SqlConnection) {
    this.select = db.prepare('SELECT record FROM maintenances WHERE id = ?');
    this.upsert = db.prepare(
      `INSERT INTO maintenances (id, status, window_start_ms, window_end_ms, record) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, window_start_ms = excluded.window_start_ms,
         window_end_ms = excluded.window_end_ms, record = excluded.record`,
    );
    this.deleteServices = db.prepare('DELETE FROM maintenance_services WHERE maintenance_id = ?');
    this.insertService = db.prepare(
      'INSERT INTO maintenance_services (service, maintenance_id) VALUES (?, ?)',
    );
  }

  /** `events`: maintenance events (isMaintenanceEvent), in the log's order. */
  apply(events: readonly StoredEvent[]): void {
    for (const stored of events) {
      const id = stored.streamId.slice(MAINTENANCE_STREAM_PREFIX.length);
      // At a stream's first event there is nothing written to read back (see the incidents').
      const state =
        this.folding.get(id) ?? (stored.streamVersion === 1 ? initialMaintenanceState() : this.load(id));
      if (!state.exists && stored.type !== 'MaintenanceScheduled') continue;
      // The envelope has the fields evolve reads (type, data, occurredAt, actor).
      this.folding.set(id, evolveMaintenance(state, stored as unknown as RecordedMaintenanceEvent));
    }
  }

  flush(): void {
    for (const [id, state] of this.folding) {
      this.upsert.run(
        id,
        state.status,
        Date.parse(state.windowStart!),
        Date.parse(state.windowEnd!),
        JSON.stringify(state),
      );
      this.deleteServices.run(id);
      for (const service of state.services) this.insertService.run(service, id);
    }
    this.folding.clear();
  }

  private load(id: string): MaintenanceState {
    const row = this.select.get(id);
    return row === undefined ? initialMaintenanceState() : (JSON.parse(row.record) as MaintenanceState);
  }
}
