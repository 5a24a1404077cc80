import type { SqlConnection, SqlStatement } from '../sql-connection.js';
import { INCIDENT_EVENT_TYPES, type RecordedIncidentEvent } from '../../domain/index.js';

const KNOWN_TYPES = new Set<string>(INCIDENT_EVENT_TYPES);

interface EventRow {
  incident_id: string;
  type: string;
  data: string;
  occurred_at: string;
  actor: string;
}

/**
 * Reads one incident's events back from the timeline read model, in the order recorded, as the
 * domain's metrics take them: what the facts projection and communicationCompliance evaluate,
 * without reading the event store. Types this release does not know are left out.
 */
export class RecordedIncidentEvents {
  private readonly select: SqlStatement<[string], EventRow>;

  /** The timeline table must exist, and have its index for this to be quick. */
  constructor(db: SqlConnection) {
    this.select = db.prepare(
      `SELECT incident_id, type, data, occurred_at, actor FROM timeline
       WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY incident_id, version`,
    );
  }

  /** The events of each incident, in one statement (a rebuild's reads each wait for its SQLite thread). */
  of(incidentIds: readonly string[]): Map<string, RecordedIncidentEvent[]> {
    const events = new Map(incidentIds.map((incidentId) => [incidentId, [] as RecordedIncidentEvent[]]));
    if (incidentIds.length === 0) return events;
    for (const row of this.select.all(JSON.stringify(incidentIds))) {
      if (!KNOWN_TYPES.has(row.type)) continue;
      events.get(row.incident_id)!.push({
        type: row.type,
        data: JSON.parse(row.data) as unknown,
        occurredAt: row.occurred_at,
        actor: row.actor,
      } as RecordedIncidentEvent);
    }
    return events;
  }
}
