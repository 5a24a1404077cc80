import type { SqlConnection, SqlStatement } from '../sql-connection.js';
import type { IncidentStreamEvent, Projection } from './incident-stream-event.js';

/**
 * Customer updates and ETA revisions, the communications log. The gap since the previous update
 * is worked out when read: a backdated update changes the gaps of the ones after it.
 */
export class CommunicationsProjection implements Projection {
  private readonly insertUpdate: SqlStatement;
  private readonly insertEta: SqlStatement;

  constructor(db: SqlConnection) {
    this.insertUpdate = db.prepare(
      `INSERT INTO customer_updates (incident_id, version, occurred_at, occurred_ms, recorded_at, actor,
         status, message, channels, visibility, next_update_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertEta = db.prepare(
      `INSERT INTO eta_revisions (incident_id, version, occurred_at, actor, previous_estimate,
         estimated_resolution_at, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  apply(events: readonly IncidentStreamEvent[]): void {
    for (const { incidentId, stored, event, occurredMs } of events) {
      // Only two types matter here; the others (and unknown ones) leave the log unchanged.
      if (event?.type === 'CustomerUpdatePublished') {
        const { status, message, channels, visibility, nextUpdateAt } = event.data;
        this.insertUpdate.run(
          incidentId,
          stored.streamVersion,
          stored.occurredAt,
          occurredMs,
          stored.recordedAt,
          stored.actor,
          status,
          message,
          JSON.stringify(channels),
          visibility,
          nextUpdateAt,
        );
      } else if (event?.type === 'ResolutionEstimateSet') {
        const { previousEstimate, estimatedResolutionAt, reason } = event.data;
        this.insertEta.run(
          incidentId,
          stored.streamVersion,
          stored.occurredAt,
          stored.actor,
          previousEstimate,
          estimatedResolutionAt,
          reason,
        );
      }
    }
  }
}
