/**
 * The event store port. Two adapters implement it (SQLite, the embedded default, and
 * KurrentDB) and both pass the contract suite in `testing/event-store.contract.ts`.
 *
 * Stream versions count events: the first event of a stream has version 1, and a stream
 * that does not exist has version 0. Global positions are bigints, strictly increasing in
 * the order readers see them; the API renders them as decimal strings.
 */

/** What the command side hands to the store; the store adds position, recordedAt and hash. */
export interface NewEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: Record<string, unknown>;
  /** When it happened in the world (ISO-8601); never later than recordedAt. */
  occurredAt: string;
  /** From authentication, never from the request body. */
  actor: string;
  correlationId: string;
  causationId: string | null;
  /** The client's idempotency key, on every event of the append that it made. */
  idempotencyKey: string | null;
  /** SHA-256 of the request that carried the idempotency key, to tell a retry from a reuse. */
  requestFingerprint: string | null;
}

/** The full envelope of DESIGN.md, as stored. */
export interface StoredEvent extends NewEvent {
  streamId: string;
  streamVersion: number;
  globalPosition: bigint;
  /** Server clock at append (ISO-8601), authoritative. */
  recordedAt: string;
  /** SHA-256 over the previous event's hash in the stream and this event's canonical content. */
  hash: string;
}

/** A stream version (0 = the stream must not exist yet), 'no-stream', or 'any'. */
export type ExpectedVersion = number | 'no-stream' | 'any';

export interface AppendResult {
  /** The stream's version after the append (the version of its last event). */
  nextVersion: number;
  /** The global position of the last event appended. */
  position: bigint;
}

export interface SubscribeOptions {
  /** Ends the iteration (the iterator returns) when aborted. */
  signal?: AbortSignal;
  /**
   * Only the events it accepts are yielded. The store may test it as it reads, without waking the
   * subscriber for the others: a subscription that follows a few of the events costs little while
   * the rest are written. It must be quick and must not throw.
   */
  filter?: (event: StoredEvent) => boolean;
}

export interface EventStore {
  appendToStream(streamId: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult>;
  /**
   * Events of one stream from `fromVersion` (inclusive, default 1), at most `limit` of them (default:
   * all, to the end of the stream); [] for a missing stream.
   */
  readStream(streamId: string, fromVersion?: number, limit?: number): Promise<StoredEvent[]>;
  /** Up to `limit` events in global order, strictly after `afterPosition` (null = from the start). */
  readAll(afterPosition: bigint | null, limit: number): Promise<StoredEvent[]>;
  /**
   * Every event after `afterPosition`: catches up from the log, then follows new appends live,
   * with no gap and no duplicate at the hand-over. Never ends on its own.
   */
  subscribe(afterPosition: bigint | null, options?: SubscribeOptions): AsyncIterable<StoredEvent>;
  /** The stream's current version; 0 when it does not exist. */
  streamVersion(streamId: string): Promise<number>;
  /** The position of the newest event in the store; null when the store is empty. */
  headPosition(): Promise<bigint | null>;
  /** The events of the first append made with this idempotency key, or [] if none. */
  findByIdempotencyKey(idempotencyKey: string): Promise<StoredEvent[]>;
  /** Readiness: resolves when the store answers, rejects otherwise. */
  ping(): Promise<void>;
  /** Finishes in-flight appends, then releases the store. */
  close(): Promise<void>;
}

/** Injection token for the EventStore port. */
export const EVENT_STORE = Symbol('EventStore');

export class VersionConflictError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`Stream ${streamId} is at version ${actual}, expected ${String(expected)}`);
    this.name = 'VersionConflictError';
  }
}

/** An append carried an idempotency key that an earlier append already used. */
export class DuplicateIdempotencyKeyError extends Error {
  constructor(readonly idempotencyKey: string) {
    super(`Idempotency key ${idempotencyKey} was already used`);
    this.name = 'DuplicateIdempotencyKeyError';
  }
}

export function isVersionMatch(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no-stream') return actual === 0;
  return expected === actual;
}
