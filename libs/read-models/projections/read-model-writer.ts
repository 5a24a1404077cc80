import type { SqlConnection } from '../sql-connection.js';
import type { StoredEvent } from '../../event-store/index.js';
import { CommunicationsProjection } from './communications.projection.js';
import { IncidentFactsProjection } from './incident-facts.projection.js';
import { IncidentsProjection } from './incidents.projection.js';
import { toIncidentStreamEvent, type IncidentStreamEvent, type Projection } from './incident-stream-event.js';
import { isMaintenanceEvent, MaintenancesProjection } from './maintenances.projection.js';
import { TimelineProjection } from './timeline.projection.js';

/** What the projections hold in memory between flushes, at most: a rebuild flushes only at its end. */
export interface MemoryLimits {
  /** Incidents folded (a few KiB each). */
  maxFolding: number;
  /** Events kept to measure their incidents (about 1 KiB each). */
  maxHeldEvents: number;
}

export const DEFAULT_MEMORY_LIMITS: MemoryLimits = { maxFolding: 10_000, maxHeldEvents: 100_000 };

/**
 * Applies events to every read model. It never opens a transaction: the caller wraps batches, a
 * flush and the checkpoint's move in one (checkpointedBatch), so that they commit or vanish together.
 */
export class ReadModelWriter {
  private readonly projections: Projection[];
  private readonly facts: IncidentFactsProjection;
  private readonly maintenances: MaintenancesProjection;

  /** The read-model tables must exist: statements are prepared against them. */
  constructor(db: SqlConnection, { maxFolding, maxHeldEvents }: MemoryLimits = DEFAULT_MEMORY_LIMITS) {
    const incidents = new IncidentsProjection(db, maxFolding);
    // Flushed first: it reads back from the timeline what it does not hold, and reuses the
    // incidents' states before their flush lets them go.
    this.facts = new IncidentFactsProjection(
      db,
      (incidentId) => incidents.stateOf(incidentId),
      maxHeldEvents,
    );
    this.projections = [this.facts, incidents, new TimelineProjection(db), new CommunicationsProjection(db)];
    this.maintenances = new MaintenancesProjection(db);
  }

  /** Applies events in the log's order; events of other streams, or of unknown types, are skipped. */
  apply(events: readonly StoredEvent[]): void {
    const incidentEvents: IncidentStreamEvent[] = [];
    const maintenanceEvents: StoredEvent[] = [];
    for (const stored of events) {
      const event = toIncidentStreamEvent(stored);
      if (event !== null) incidentEvents.push(event);
      else if (isMaintenanceEvent(stored)) maintenanceEvents.push(stored);
    }
    for (const projection of this.projections) projection.apply(incidentEvents);
    this.maintenances.apply(maintenanceEvents);
  }

  /** Whether `flush` will read the read models (the incident facts, events they let go of). */
  flushReads(): boolean {
    return this.facts.readsBack();
  }

  /**
   * Writes what the projections hold in memory: call it before committing, with the read models'
   * indexes in place (the incident facts read each incident's timeline by its index).
   */
  flush(): void {
    for (const projection of this.projections) projection.flush?.();
    this.maintenances.flush();
  }
}
