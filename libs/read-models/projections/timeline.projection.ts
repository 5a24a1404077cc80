import type { SqlConnection, SqlStatement } from '../sql-connection.js';
import type { IncidentStreamEvent, Projection } from './incident-stream-event.js';
import { isBackdated, visibilityOf } from './timeline-entry.js';

/**
 * Every event of every incident stream, known type or not, with its whole envelope and its entry's
 * visibility: the timeline (which describes each entry when read, see `shownTo`) and `eventsOf`
 * read it.
 */
export class TimelineProjection implements Projection {
  private readonly insert: SqlStatement;

  constructor(db: SqlConnection) {
    this.insert = db.prepare(
      `INSERT INTO timeline (incident_id, version, position, event_id, type, schema_version, visibility,
         actor, recorded_at, occurred_at, occurred_ms, backdated, data, correlation_id, causation_id,
         idempotency_key, request_fingerprint, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  apply(events: readonly IncidentStreamEvent[]): void {
    for (const { incidentId, stored, occurredMs } of events) {
      this.insert.run(
        incidentId,
        stored.streamVersion,
        stored.globalPosition.toString(),
        stored.eventId,
        stored.type,
        stored.schemaVersion,
        visibilityOf(stored),
        stored.actor,
        stored.recordedAt,
        stored.occurredAt,
        occurredMs,
        isBackdated(occurredMs, stored.recordedAt) ? 1 : 0,
        JSON.stringify(stored.data),
        stored.correlationId,
        stored.causationId,
        stored.idempotencyKey,
        stored.requestFingerprint,
        stored.hash,
      );
    }
  }
}
