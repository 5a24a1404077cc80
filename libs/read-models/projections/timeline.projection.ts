import type Database from 'better-sqlite3';
import type { IncidentStreamEvent, Projection } from './incident-stream-event.js';
import { toTimelineEntry } from './timeline-entry.js';

/**
 * Every event of every incident stream, known type or not, as a readable entry with its whole
 * envelope: the timeline and `eventsOf` read it.
 */
export class TimelineProjection implements Projection {
  private readonly insert: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO timeline (incident_id, version, position, event_id, type, schema_version, visibility,
         description, actor, recorded_at, occurred_at, occurred_ms, backdated, data, correlation_id,
         causation_id, idempotency_key, request_fingerprint, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  apply(events: readonly IncidentStreamEvent[]): void {
    for (const incidentEvent of events) {
      const { incidentId, stored, occurredMs } = incidentEvent;
      const entry = toTimelineEntry(incidentEvent);
      this.insert.run(
        incidentId,
        entry.version,
        entry.position,
        stored.eventId,
        entry.type,
        stored.schemaVersion,
        entry.visibility,
        entry.description,
        entry.actor,
        entry.recordedAt,
        entry.occurredAt,
        occurredMs,
        entry.backdated ? 1 : 0,
        JSON.stringify(entry.data),
        stored.correlationId,
        stored.causationId,
        stored.idempotencyKey,
        stored.requestFingerprint,
        stored.hash,
      );
    }
  }
}
