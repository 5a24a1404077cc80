import type { SqlConnection, SqlStatement } from '../sql-connection.js';
import { endsTimeToMitigate, evolve, initialIncidentState, type IncidentState } from '../../domain/index.js';
import type { StoredEvent } from '../../event-store/index.js';
import type { IncidentRecord } from '../read-model.types.js';
import {
  UnprojectableEventError,
  type IncidentStreamEvent,
  type Projection,
} from './incident-stream-event.js';

/**
 * One row per incident: its IncidentRecord, folded with the domain's own `evolve` so that the
 * read side never disagrees with the write side, plus the columns the queries filter and sort on.
 * Events of types this release does not know are skipped, as are events of an incident that was
 * never declared.
 *
 * Incidents are folded in memory and written by `flush`, once however many of their events came:
 * the runner flushes every batch, a rebuild at the end (and whenever `maxFolding` is exceeded).
 */

export class IncidentsProjection implements Projection {
  private readonly select: SqlStatement<[string], { record: string }>;
  private readonly upsert: SqlStatement;
  private readonly upsertRecord: SqlStatement;
  private readonly insertService: SqlStatement;
  /** The incidents folded since the last flush, by id. */
  private readonly folding = new Map<string, Folding>();

  /** `maxFolding`: the most incidents held in memory between flushes (a few KiB each). */
  constructor(
    db: SqlConnection,
    private readonly maxFolding: number,
  ) {
    this.select = db.prepare('SELECT record FROM incident_records WHERE id = ?');
    this.upsert = db.prepare(
      `INSERT INTO incidents (id, status, severity, open, started_at, last_updated_at, resolved_at, title_lower)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, severity = excluded.severity,
         open = excluded.open, last_updated_at = excluded.last_updated_at,
         resolved_at = excluded.resolved_at, title_lower = excluded.title_lower`,
    );
    this.upsertRecord = db.prepare(
      `INSERT INTO incident_records (id, record) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET record = excluded.record`,
    );
    this.insertService = db.prepare('INSERT INTO incident_services (service, incident_id) VALUES (?, ?)');
  }

  apply(events: readonly IncidentStreamEvent[]): void {
    for (const { incidentId, stored, event, occurredMs } of events) {
      if (event === null) continue;
      let incident = this.folding.get(incidentId);
      if (incident === undefined) {
        // At a stream's first event there is nothing written to read back (in a rebuild, a read
        // waits for every statement before it).
        incident =
          (stored.streamVersion === 1 ? undefined : this.load(incidentId)) ??
          (event.type === 'IncidentDeclared' ? declared(stored) : undefined);
        if (incident === undefined) continue;
        this.folding.set(incidentId, incident);
      }
      try {
        incident.state = evolve(incident.state, event);
      } catch (error) {
        throw new UnprojectableEventError(stored, error);
      }
      // The latest occurredAt, not the last one recorded: a backdated entry does not make the
      // incident look less recently updated.
      if (occurredMs > incident.lastUpdatedMs) {
        incident.lastUpdatedAt = stored.occurredAt;
        incident.lastUpdatedMs = occurredMs;
      }
      incident.lastPosition = stored.globalPosition;
      if (event.type === 'CustomerUpdatePublished' && event.data.visibility === 'PUBLIC') {
        incident.customerUpdateCount += 1;
      }
      if (endsTimeToMitigate(event.type)) incident.mitigatedOrResolvedAt ??= stored.occurredAt;
    }
    if (this.folding.size > this.maxFolding) this.flush();
  }

  /** The state of an incident folded since the last flush (events of this batch included). */
  stateOf(incidentId: string): IncidentState | undefined {
    return this.folding.get(incidentId)?.state;
  }

  /** Writes the incidents folded since the last flush. */
  flush(): void {
    for (const [id, incident] of this.folding) this.write(id, incident);
    this.folding.clear();
  }

  private load(id: string): Folding | undefined {
    const row = this.select.get(id);
    if (row === undefined) return undefined;
    const {
      declaredRecordedAt,
      lastUpdatedAt,
      lastPosition,
      customerUpdateCount,
      mitigatedOrResolvedAt,
      ...state
    } = JSON.parse(row.record) as IncidentRecord;
    return {
      listedServices: new Set(Object.keys(state.services)),
      state,
      declaredRecordedAt,
      lastUpdatedAt,
      lastUpdatedMs: Date.parse(lastUpdatedAt),
      lastPosition: BigInt(lastPosition),
      customerUpdateCount,
      mitigatedOrResolvedAt,
    };
  }

  private write(id: string, incident: Folding): void {
    const { state } = incident;
    const record: IncidentRecord = {
      ...state,
      declaredRecordedAt: incident.declaredRecordedAt,
      lastUpdatedAt: incident.lastUpdatedAt,
      lastPosition: incident.lastPosition.toString(),
      customerUpdateCount: incident.customerUpdateCount,
      mitigatedOrResolvedAt: incident.mitigatedOrResolvedAt,
    };
    this.upsert.run(
      id,
      state.status,
      state.severity,
      isOpen(state) ? 1 : 0,
      Date.parse(state.startedAt!),
      incident.lastUpdatedMs,
      state.resolvedAt === null ? null : Date.parse(state.resolvedAt),
      state.title.toLowerCase(),
    );
    this.upsertRecord.run(id, JSON.stringify(record));
    // The domain adds services to an incident but never removes one.
    for (const service of Object.keys(state.services)) {
      if (!incident.listedServices.has(service)) this.insertService.run(service, id);
    }
  }
}

/** An incident while a batch folds into it: the domain's state, and what only the log knows. */
interface Folding {
  /** The services its incident_services rows list. */
  listedServices: Set<string>;
  state: IncidentState;
  declaredRecordedAt: string;
  lastUpdatedAt: string;
  lastUpdatedMs: number;
  lastPosition: bigint;
  customerUpdateCount: number;
  mitigatedOrResolvedAt: string | null;
}

function declared(stored: StoredEvent): Folding {
  return {
    listedServices: new Set(),
    state: initialIncidentState(),
    declaredRecordedAt: stored.recordedAt,
    lastUpdatedAt: stored.occurredAt,
    lastUpdatedMs: -Infinity,
    lastPosition: stored.globalPosition,
    customerUpdateCount: 0,
    mitigatedOrResolvedAt: null,
  };
}

function isOpen(state: IncidentState): boolean {
  return state.status !== 'RESOLVED' && state.status !== 'CLOSED';
}
