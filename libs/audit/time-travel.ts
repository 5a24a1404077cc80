/**
 * Time travel: an incident's state as the ledger had it at a version or an instant, and the
 * differences between two such states.
 */
import {
  endsTimeToMitigate,
  evolveStored,
  initialIncidentState,
  type IncidentState,
} from '../domain/index.js';
import type { StoredEvent } from '../event-store/index.js';
import type { IncidentRecord } from '../read-models/read-model.types.js';

/**
 * Which events count:
 *  - `version`: the first `version` events (0: before the incident was declared);
 *  - `at`, by `recordedAt` (the default): the events the ledger held at that instant. This is
 *    "what did the ledger say at T": recordedAt is the server's clock at append, covered by the
 *    hash chain, and the stream's events up to a recordedAt are a prefix of it, i.e. a state
 *    the ledger really was in. occurredAt is what the writer said about the world, and may be
 *    backdated: an entry written at 15:00 about 13:00 was not in the ledger at 14:00, and
 *    counting it then would rewrite the past with hindsight;
 *  - `at`, by `occurredAt`: hindsight on purpose, "what do we now know had happened by T": the
 *    events whose occurredAt is at or before T, in stream order. That set need not be a prefix,
 *    so the state's `version` is then the number of those events, not a stream version.
 */
export type AsOf = { version: number } | { at: string; by?: 'recordedAt' | 'occurredAt' };

/**
 * The incident's state at `asOf`, from its whole stream in version order. Throws a RangeError
 * for a version outside 0..the stream's last version, or an `at` that is not an instant.
 */
export function incidentAsOf(events: StoredEvent[], asOf: AsOf): IncidentState {
  return foldIncident(eventsAsOf(events, asOf));
}

/** The incident's state folded from `events`, in the order given. */
export function foldIncident(events: readonly StoredEvent[]): IncidentState {
  return events.reduce(evolveStored, initialIncidentState());
}

/**
 * What the incidents read model adds to the state (see IncidentRecord), worked out from the same
 * events: the latest occurredAt (a backdated entry does not make it older), how many PUBLIC
 * customer updates there were, and where the time to mitigate ended. `events` must hold at least one
 * event.
 */
export function recordExtrasOf(
  events: readonly StoredEvent[],
): Pick<IncidentRecord, 'lastUpdatedAt' | 'customerUpdateCount' | 'mitigatedOrResolvedAt'> {
  const latest = events.reduce((a, b) => (Date.parse(b.occurredAt) > Date.parse(a.occurredAt) ? b : a));
  const customerUpdateCount = events.filter(
    (event) => event.type === 'CustomerUpdatePublished' && event.data.visibility === 'PUBLIC',
  ).length;
  const mitigatedOrResolvedAt = events.find((event) => endsTimeToMitigate(event.type))?.occurredAt ?? null;
  return { lastUpdatedAt: latest.occurredAt, customerUpdateCount, mitigatedOrResolvedAt };
}

/** The events of the stream that count at `asOf` (see AsOf), in stream order; RangeError as above. */
export function eventsAsOf(events: StoredEvent[], asOf: AsOf): StoredEvent[] {
  if ('version' in asOf) {
    if (!Number.isInteger(asOf.version) || asOf.version < 0 || asOf.version > events.length) {
      throw new RangeError(`Version ${asOf.version} is not between 0 and ${events.length}`);
    }
    return events.slice(0, asOf.version);
  }
  const at = Date.parse(asOf.at);
  if (Number.isNaN(at)) throw new RangeError(`${asOf.at} is not an ISO-8601 instant`);
  if (asOf.by === 'occurredAt') return events.filter((event) => Date.parse(event.occurredAt) <= at);
  // A prefix even if the server clock ever stepped back: stop at the first event recorded later.
  const after = events.findIndex((event) => Date.parse(event.recordedAt) > at);
  return after === -1 ? events : events.slice(0, after);
}

/** One difference: `path` is a JSON Pointer (RFC 6901) into the state; null stands for absent. */
export interface StateChange {
  path: string;
  before: unknown;
  after: unknown;
}

/**
 * The differences from `before` to `after`, depth first in the state's field order: objects
 * are compared member by member and arrays item by item; a member or item present on one side
 * only is one change with the whole value.
 */
export function diffIncidentStates(before: IncidentState, after: IncidentState): StateChange[] {
  const changes: StateChange[] = [];
  diff(before, after, '', changes);
  return changes;
}

function diff(before: unknown, after: unknown, path: string, changes: StateChange[]): void {
  if (isContainer(before) && isContainer(after) && Array.isArray(before) === Array.isArray(after)) {
    const [from, to] = [before as Record<string, unknown>, after as Record<string, unknown>];
    // Own keys only: service names are free text, and `__proto__` is one.
    for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
      const child = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (Object.hasOwn(from, key) && Object.hasOwn(to, key)) diff(from[key], to[key], child, changes);
      else changes.push({ path: child, before: ownValue(from, key), after: ownValue(to, key) });
    }
  } else if (before !== after) {
    changes.push({ path, before, after });
  }
}

function ownValue(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : null;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
