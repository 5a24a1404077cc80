import { INCIDENT_EVENT_TYPES, incidentStreamId, type RecordedIncidentEvent } from '../../domain/index.js';
import type { StoredEvent } from '../../event-store/index.js';

/** An event of an incident stream, as every projection gets it. */
export interface IncidentStreamEvent {
  incidentId: string;
  stored: StoredEvent;
  /** occurredAt in epoch milliseconds, parsed once for every projection. */
  occurredMs: number;
  /** The domain event; null for a type this release does not know (written by a newer one). */
  event: RecordedIncidentEvent | null;
}

/**
 * An event that does not project: its data is not what this release's ledger writes (the store was
 * changed outside it, which `verify` reports), or this release has a bug. Named, so that the
 * operator finds it in the log.
 */
export class UnprojectableEventError extends Error {
  constructor(stored: StoredEvent, cause: unknown) {
    super(
      `The ${stored.type} at position ${stored.globalPosition} (stream ${stored.streamId}, version ` +
        `${stored.streamVersion}) does not project: ${(cause as Error)?.message ?? String(cause)}. ` +
        'Either the event store was changed outside the ledger (`verify` checks), or this release has a bug.',
      { cause },
    );
    this.name = 'UnprojectableEventError';
  }
}

/** What the read models apply, in the log's order, in one transaction. */
export interface Projection {
  apply(events: readonly IncidentStreamEvent[]): void;
  /** Writes what `apply` kept in memory, if anything; called before the transaction commits. */
  flush?(): void;
}

const INCIDENT_STREAM_PREFIX = incidentStreamId('');
const KNOWN_TYPES = new Set<string>(INCIDENT_EVENT_TYPES);

/** The event with its incident, or null for an event of another stream (maintenance-…). */
export function toIncidentStreamEvent(stored: StoredEvent): IncidentStreamEvent | null {
  if (!stored.streamId.startsWith(INCIDENT_STREAM_PREFIX)) return null;
  return {
    incidentId: stored.streamId.slice(INCIDENT_STREAM_PREFIX.length),
    stored,
    occurredMs: Date.parse(stored.occurredAt),
    event: asIncidentEvent(stored),
  };
}

/**
 * The stored event as the domain's evolve takes it, or null for a type this release does not
 * know. The envelope already has the fields evolve reads (type, data, occurredAt, actor), so it
 * is passed as it is: a rebuild folds every event of the log, and a copy each would show.
 */
export function asIncidentEvent(stored: Pick<StoredEvent, 'type' | 'data'>): RecordedIncidentEvent | null {
  return KNOWN_TYPES.has(stored.type) ? (stored as unknown as RecordedIncidentEvent) : null;
}
