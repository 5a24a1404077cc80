import type Database from 'better-sqlite3';
import type { StoredEvent } from '../../event-store/index.js';
import { CommunicationsProjection } from './communications.projection.js';
import { IncidentsProjection } from './incidents.projection.js';
import { toIncidentStreamEvent, type IncidentStreamEvent, type Projection } from './incident-stream-event.js';
import { TimelineProjection } from './timeline.projection.js';

/** Another writer moved the checkpoint since this one read it: its batch was rolled back. */
export class CheckpointMovedError extends Error {
  constructor(expected: bigint | null) {
    super(
      `The read models' checkpoint is no longer at ${expected ?? 'the start'}: another process wrote to them`,
    );
    this.name = 'CheckpointMovedError';
  }
}

/**
 * Applies events to every read model and moves the checkpoint. It never opens a transaction:
 * the caller wraps batches, a flush and the checkpoint in one, so that they commit or vanish
 * together.
 */
export class ReadModelWriter {
  private readonly projections: Projection[];
  private readonly moveCheckpoint: Database.Statement<[string, string | null]>;

  /** The read-model tables must exist: statements are prepared against them. */
  constructor(db: Database.Database) {
    this.projections = [
      new IncidentsProjection(db),
      new TimelineProjection(db),
      new CommunicationsProjection(db),
    ];
    this.moveCheckpoint = db.prepare('UPDATE checkpoint SET position = ? WHERE position IS ?');
  }

  /** Applies events in the log's order; events of other streams (maintenance-…) are skipped. */
  apply(events: readonly StoredEvent[]): void {
    const incidentEvents: IncidentStreamEvent[] = [];
    for (const stored of events) {
      const event = toIncidentStreamEvent(stored);
      if (event !== null) incidentEvents.push(event);
    }
    for (const projection of this.projections) projection.apply(incidentEvents);
  }

  /** Writes what the projections hold in memory: call it before committing. */
  flush(): void {
    for (const projection of this.projections) projection.flush?.();
  }

  /**
   * Moves the checkpoint from `expected` to `position`. Throws CheckpointMovedError when it is no
   * longer at `expected`, so that two writers on one file (a rebuild under a running server, two
   * servers on one data dir) can never apply the same event twice.
   */
  advanceCheckpoint(expected: bigint | null, position: bigint): void {
    const { changes } = this.moveCheckpoint.run(position.toString(), expected?.toString() ?? null);
    if (changes !== 1) throw new CheckpointMovedError(expected);
  }
}
