/**
 * The KurrentDB / EventStoreDB adapter of the EventStore port, on `@kurrent/kurrentdb-client` 1.x.
 *
 * Connection strings. `connect()` accepts `kurrentdb://`, `kurrentdb+discover://`, `kurrent://`,
 * `kdb://` (and their `+discover` forms) as the client does, plus the legacy `esdb://` and
 * `esdb+discover://`. The client still parses `esdb` but prints a deprecation warning on every
 * connect, so those are rewritten to `kurrentdb` first (nothing else changes: host list, credentials and
 * query options such as `?tls=false` pass through). A malformed string fails at once with a message
 * that never repeats the credentials.
 *
 * Versions. Port versions count events from 1 (0 = no stream); KurrentDB revisions count from 0, so
 * version = revision + 1 and an expected version n is the expected revision n - 1 (`toStreamState`).
 *
 * Envelope. The KurrentDB event id is our `eventId` (a UUID, stored lower-case), the event type is
 * our `type`, the data is our `data` (JSON), and the metadata carries the rest of the envelope (see
 * `LedgerEventMetadata`), including `$correlationId` / `$causationId` so KurrentDB's own
 * correlation tooling (`$by_correlation_id`) works. `recordedAt` is this process's clock at append
 * time: the API server's clock, which is the "server clock" of DESIGN.md; it is never earlier than the
 * previous event's `recordedAt` in the same stream, so it does not run backwards when API instances'
 * clocks disagree a little. KurrentDB's own `created` timestamp stays available on the raw record
 * (`RecordedEvent.created`) for anyone who wants the database's clock too.
 *
 * Positions. `globalPosition` is the event's commit position in `$all` (a bigint, never converted to a
 * number). Appends here never use explicit transactions, so every event has its own commit position
 * (equal to its prepare position) and reading `$all` from a position includes the event at it, which
 * `readAll` / `subscribe` skip. Stream reads report the same `$all` position only on EventStoreDB 22.6
 * or later (every KurrentDB release); older servers are refused with a clear error.
 *
 * Hash chain. Each event's `hash` is computed here, before the append, from the previous event of the
 * stream (read backwards, one event). Every append then names the concrete revision that hash was
 * computed from, so two writers can never chain onto the same predecessor: the loser gets a
 * wrong-expected-version. If its caller asked for a concrete version that is a `VersionConflictError`;
 * if it asked for 'any', the adapter re-reads the head and retries (at most `maxAnyAttempts` times, 100
 * by default, with a jittered backoff of at most 100 ms), so 'any' appends stay safe under contention
 * and the chain stays valid; only a writer that loses every round gets a `VersionConflictError`.
 *
 * Idempotency keys. KurrentDB has no secondary index, so each key gets an index stream
 * `ledger-idempotency-<sha256(key) hex>` holding small bookkeeping events:
 *   - `IdempotencyKeyClaimed {idempotencyKey, streamId, baseVersion, eventIds, claimedAt}`, appended
 *     with the index stream's exact expected state (NO_STREAM the first time) before the events are
 *     written; losing that race means somebody else holds the key: `DuplicateIdempotencyKeyError`,
 *     nothing else is written;
 *   - `IdempotencyKeyRecorded {streamId, fromVersion, toVersion, position}` after the events are written;
 *   - `IdempotencyKeyReleased {reason}` when the append provably wrote nothing (version conflict), so
 *     the client can retry with the same key.
 * The key is checked before the expected version, so a retry of a finished request gets
 * `DuplicateIdempotencyKeyError` (and `findByIdempotencyKey` returns the original events) rather than
 * a version conflict. The window, and how it is closed:
 *   - crash after the events are written but before `Recorded`: the claim names the stream, the
 *     version it was taken at and the event ids, so whoever next looks at the key (an append or
 *     `findByIdempotencyKey`) finds the events in the stream, treats the key as used and writes the
 *     missing `Recorded` record. Nothing is lost;
 *   - crash (or an error of unknown outcome, such as a timeout) after the claim and before the events:
 *     the claim has no events. While it is younger than `staleClaimMs` (60 s) the key counts as in use
 *     by a request still in flight: appends get `DuplicateIdempotencyKeyError` and
 *     `findByIdempotencyKey` returns []. Once older, and with the events still absent, the claim is
 *     taken to have failed: it is released and re-claimed in one atomic append, and the key is free.
 *     The claimant itself stops starting append attempts `claimBudgetMs` (20 s) after its claim, each
 *     attempt with a gRPC deadline inside that budget, so a live claimant never overlaps that
 *     takeover. The one remaining (theoretical) hole is an append the server receives but commits
 *     more than ~40 s after its deadline expired; the key would then be used twice. `claimedAt` comes
 *     from the claimant's clock, so clock skew between API instances shifts the 60 s accordingly.
 * Index streams are excluded from `readAll`, `subscribe` and `headPosition`, and application streams
 * may not use that prefix.
 *
 * `readAll`, `subscribe` and `headPosition` read `$all` with the client's `excludeSystemEvents()`
 * filter (server side), and skip index streams and any event that is not in the ledger's envelope
 * (another application sharing the database) on this side. `readStream` refuses foreign events in a
 * ledger stream instead of hiding them.
 *
 * `subscribe` is a catch-up subscription to `$all` (`subscribeToAll`, same filter) from the given
 * position. When it drops with an error (server restart, network, leader change) it resubscribes after
 * the last event it saw, with a jittered backoff capped at `maxResubscribeDelayMs` (5 s), and skips
 * anything at or before that position, so the consumer sees no gap and no duplicate; only an
 * error that would come back every time (`endsSubscription`) ends it with that error. It ends when the signal aborts (also while waiting),
 * when the consumer stops iterating, or when the store closes.
 */
import { createHash } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  ErrorType,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendStreamState,
  type CurrentStreamState,
  type EventData,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import {
  DuplicateIdempotencyKeyError,
  VersionConflictError,
  isVersionMatch,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type StoredEvent,
  type SubscribeOptions,
} from '../event-store.js';
import { GENESIS_HASH, chainHash, type HashedContent } from '../hash-chain.js';

// ---------------------------------------------------------------------------------------------
// Pure mapping functions (exported for unit tests)
// ---------------------------------------------------------------------------------------------

/** Prefix of the per-idempotency-key index streams. */
export const IDEMPOTENCY_STREAM_PREFIX = 'ledger-idempotency-';

/** Event types written to the idempotency index streams. */
export const IDEMPOTENCY_KEY_CLAIMED = 'IdempotencyKeyClaimed';
export const IDEMPOTENCY_KEY_RECORDED = 'IdempotencyKeyRecorded';
export const IDEMPOTENCY_KEY_RELEASED = 'IdempotencyKeyReleased';

/** What KurrentDB reports as the position of an event whose `$all` position it does not know. */
const UNKNOWN_POSITION = 18446744073709551615n;

/** Schemes the client parses; `esdb` is rewritten to `kurrentdb` before it sees it. */
const CONNECTION_STRING = /^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/(\S+)$/i;

/**
 * Validates a connection string and rewrites the legacy `esdb` scheme to `kurrentdb` (the client
 * still accepts `esdb` but warns about it on every connect). Throws a clear error otherwise.
 */
export function normaliseConnectionString(connectionString: string): string {
  const trimmed = connectionString.trim();
  const match = CONNECTION_STRING.exec(trimmed);
  if (!match) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1];
    throw new Error(
      `Invalid KurrentDB connection string: expected kurrentdb://host:port[?tls=false] or ` +
        `kurrentdb+discover://… (esdb:// and esdb+discover:// are accepted too), got ` +
        (scheme ? `a ${scheme}:// URL` : 'a string without a scheme'),
    );
  }
  const [, scheme, discover = '', rest] = match;
  const normalisedScheme = scheme.toLowerCase() === 'esdb' ? 'kurrentdb' : scheme.toLowerCase();
  return `${normalisedScheme}${discover.toLowerCase()}://${rest}`;
}

/** Removes the `user:password@` part of a connection string from a message. */
function redactCredentials(message: string, connectionString: string): string {
  const userInfo = /^[^:]+:\/\/([^@/]+)@/.exec(connectionString)?.[1];
  return userInfo ? message.split(userInfo).join('***') : message;
}

/** Our expected version → the client's expected stream state. */
export function toStreamState(expected: ExpectedVersion): AppendStreamState {
  if (expected === 'any') return ANY;
  if (expected === 'no-stream' || expected === 0) return NO_STREAM;
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new RangeError(`Invalid expected version ${String(expected)}: a version ≥ 0, 'no-stream' or 'any'`);
  }
  return BigInt(expected - 1);
}

/** A stream revision (0-based) → our stream version (1-based). */
export function versionFromRevision(revision: bigint): number {
  return Number(revision) + 1;
}

/** The client's "current stream state" (e.g. of a wrong-expected-version error) → our version. */
export function versionFromStreamState(state: CurrentStreamState | AppendStreamState | undefined): number {
  if (typeof state === 'bigint') return state < 0n ? 0 : versionFromRevision(state);
  return 0;
}

/** The metadata stored with every ledger event: the envelope minus id, type, data and stream. */
export type LedgerEventMetadata = {
  /** Marks the event as written by this ledger; lets readers skip foreign events in `$all`. */
  ledgerEnvelope: 1;
  schemaVersion: number;
  occurredAt: string;
  recordedAt: string;
  actor: string;
  correlationId: string;
  causationId: string | null;
  idempotencyKey: string | null;
  requestFingerprint: string | null;
  streamVersion: number;
  hash: string;
  /** KurrentDB's conventional correlation / causation metadata (used by its system projections). */
  $correlationId: string;
  $causationId?: string;
};

/** A stored event before the store knows its global position. */
export type UnpositionedEvent = Omit<StoredEvent, 'globalPosition'>;

export function envelopeToMetadata(event: UnpositionedEvent): LedgerEventMetadata {
  const metadata: LedgerEventMetadata = {
    ledgerEnvelope: 1,
    schemaVersion: event.schemaVersion,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    actor: event.actor,
    correlationId: event.correlationId,
    causationId: event.causationId,
    idempotencyKey: event.idempotencyKey,
    requestFingerprint: event.requestFingerprint,
    streamVersion: event.streamVersion,
    hash: event.hash,
    $correlationId: event.correlationId,
  };
  if (event.causationId !== null) metadata.$causationId = event.causationId;
  return metadata;
}

/** The KurrentDB event to append for one envelope. */
export function toEventData(event: UnpositionedEvent): EventData {
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: envelopeToMetadata(event),
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function nullableString(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : undefined;
}

/** The ledger metadata of a recorded event, or null when the event is not in the ledger's envelope. */
export function parseLedgerMetadata(metadata: unknown): LedgerEventMetadata | null {
  if (!isPlainObject(metadata) || metadata.ledgerEnvelope !== 1) return null;
  const m = metadata;
  const causationId = nullableString(m.causationId);
  const idempotencyKey = nullableString(m.idempotencyKey);
  const requestFingerprint = nullableString(m.requestFingerprint);
  if (
    typeof m.schemaVersion !== 'number' ||
    typeof m.occurredAt !== 'string' ||
    typeof m.recordedAt !== 'string' ||
    typeof m.actor !== 'string' ||
    typeof m.correlationId !== 'string' ||
    typeof m.streamVersion !== 'number' ||
    typeof m.hash !== 'string' ||
    causationId === undefined ||
    idempotencyKey === undefined ||
    requestFingerprint === undefined
  ) {
    return null;
  }
  const parsed: LedgerEventMetadata = {
    ledgerEnvelope: 1,
    schemaVersion: m.schemaVersion,
    occurredAt: m.occurredAt,
    recordedAt: m.recordedAt,
    actor: m.actor,
    correlationId: m.correlationId,
    causationId,
    idempotencyKey,
    requestFingerprint,
    streamVersion: m.streamVersion,
    hash: m.hash,
    $correlationId: typeof m.$correlationId === 'string' ? m.$correlationId : m.correlationId,
  };
  if (typeof m.$causationId === 'string') parsed.$causationId = m.$causationId;
  return parsed;
}

/** The fields of a recorded KurrentDB event this adapter reads (a subset of the client's type). */
export interface RecordedEventLike {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  position?: { commit: bigint; prepare: bigint };
}

/** The `$all` commit position of a recorded event; throws when the server did not report it. */
export function commitPositionOf(recorded: RecordedEventLike): bigint {
  const commit = recorded.position?.commit;
  if (commit === undefined || commit === UNKNOWN_POSITION || commit < 0n) {
    throw new Error(
      `KurrentDB did not report the $all position of event ${recorded.id} in ${recorded.streamId}; ` +
        'the ledger needs KurrentDB or EventStoreDB 22.6 or later, and no explicit transactions',
    );
  }
  return commit;
}

/**
 * A recorded event → our envelope, or null when it is not a ledger event (foreign metadata or data, or
 * an idempotency index stream). The stream version comes from the KurrentDB revision (the store's
 * truth); the stored `streamVersion` is covered by the hash, so a moved event fails the integrity check.
 */
export function tryRecordedToStoredEvent(
  recorded: RecordedEventLike,
  globalPosition?: bigint,
): StoredEvent | null {
  if (recorded.streamId.startsWith(IDEMPOTENCY_STREAM_PREFIX)) return null;
  const metadata = parseLedgerMetadata(recorded.metadata);
  if (!metadata || !isPlainObject(recorded.data)) return null;
  return {
    eventId: recorded.id,
    type: recorded.type,
    schemaVersion: metadata.schemaVersion,
    data: recorded.data,
    occurredAt: metadata.occurredAt,
    actor: metadata.actor,
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    idempotencyKey: metadata.idempotencyKey,
    requestFingerprint: metadata.requestFingerprint,
    streamId: recorded.streamId,
    streamVersion: versionFromRevision(recorded.revision),
    globalPosition: globalPosition ?? commitPositionOf(recorded),
    recordedAt: metadata.recordedAt,
    hash: metadata.hash,
  };
}

/** Like `tryRecordedToStoredEvent`, but a foreign event is an error (for reads of ledger streams). */
export function recordedToStoredEvent(recorded: RecordedEventLike, globalPosition?: bigint): StoredEvent {
  const stored = tryRecordedToStoredEvent(recorded, globalPosition);
  if (!stored) {
    throw new Error(
      `Event ${recorded.id} (revision ${recorded.revision}) of stream ${recorded.streamId} ` +
        'was not written by the incident ledger (no ledger envelope in its metadata)',
    );
  }
  return stored;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The state of a stream's end that the next append chains onto. */
export interface StreamHead {
  version: number;
  hash: string;
  recordedAt: string | null;
}

export const EMPTY_STREAM_HEAD: StreamHead = { version: 0, hash: GENESIS_HASH, recordedAt: null };

/**
 * The envelopes of an append: versions after `head.version`, one `recordedAt`, and the hash chain
 * continued from `head.hash`. Data goes through a JSON round trip first, so the hash covers exactly
 * what KurrentDB will store and give back.
 */
export function chainEvents(
  streamId: string,
  events: readonly NewEvent[],
  head: StreamHead,
  recordedAt: string,
): UnpositionedEvent[] {
  let previousHash = head.hash;
  return events.map((event, index) => {
    if (!UUID.test(event.eventId)) {
      throw new RangeError(`Event id ${event.eventId} is not a UUID; KurrentDB event ids must be UUIDs`);
    }
    // The feed leaves out KurrentDB's system events by their type: such an event would be stored
    // and never read.
    if (event.type.startsWith('$')) {
      throw new RangeError(`Event type ${event.type}: types starting with $ are KurrentDB's own`);
    }
    const data: unknown = JSON.parse(JSON.stringify(event.data ?? null));
    if (!isPlainObject(data))
      throw new RangeError(`The data of event ${event.eventId} must be a JSON object`);
    const content: HashedContent = {
      eventId: event.eventId.toLowerCase(),
      type: event.type,
      schemaVersion: event.schemaVersion,
      data,
      occurredAt: event.occurredAt,
      actor: event.actor,
      correlationId: event.correlationId,
      causationId: event.causationId ?? null,
      idempotencyKey: event.idempotencyKey ?? null,
      requestFingerprint: event.requestFingerprint ?? null,
      streamId,
      streamVersion: head.version + index + 1,
      recordedAt,
    };
    const hash = chainHash(previousHash, content);
    previousHash = hash;
    return { ...content, hash };
  });
}

/** `now`, unless the stream's last event was recorded later (clock skew between API instances). */
export function nextRecordedAt(head: StreamHead, now: Date = new Date()): string {
  const iso = now.toISOString();
  return head.recordedAt !== null && head.recordedAt > iso ? head.recordedAt : iso;
}

/** The one idempotency key of an append (null when it has none); mixing keys is an error. */
export function commonIdempotencyKey(events: readonly NewEvent[]): string | null {
  const keys = new Set(events.map((event) => event.idempotencyKey ?? null));
  if (keys.size > 1) {
    throw new RangeError('All events of one append must carry the same idempotency key (or none)');
  }
  return events[0]?.idempotencyKey ?? null;
}

/** `ledger-idempotency-<sha256(key) hex>`. */
export function idempotencyStreamName(idempotencyKey: string): string {
  return IDEMPOTENCY_STREAM_PREFIX + createHash('sha256').update(idempotencyKey, 'utf8').digest('hex');
}

export interface IdempotencyClaim {
  idempotencyKey: string;
  streamId: string;
  /** The stream's version when the claim was taken; the events follow it (later if 'any' retried). */
  baseVersion: number;
  eventIds: string[];
  /** The claimant's clock (ISO-8601). */
  claimedAt: string;
}

export interface IdempotencyRecord {
  streamId: string;
  fromVersion: number;
  toVersion: number;
}

/** What an idempotency index stream says about its key. `revision` = the index stream's last revision. */
export type IdempotencyIndexState =
  | { kind: 'free'; revision: bigint | null }
  | ({ kind: 'recorded'; revision: bigint } & IdempotencyRecord)
  | { kind: 'claimed'; revision: bigint; claim: IdempotencyClaim };

function parseClaim(data: unknown): IdempotencyClaim | null {
  if (!isPlainObject(data)) return null;
  const { idempotencyKey, streamId, baseVersion, eventIds, claimedAt } = data;
  if (
    typeof idempotencyKey !== 'string' ||
    typeof streamId !== 'string' ||
    typeof baseVersion !== 'number' ||
    !Array.isArray(eventIds) ||
    eventIds.length === 0 ||
    !eventIds.every((id) => typeof id === 'string') ||
    typeof claimedAt !== 'string'
  ) {
    return null;
  }
  return { idempotencyKey, streamId, baseVersion, eventIds: eventIds as string[], claimedAt };
}

function parseRecord(data: unknown): IdempotencyRecord | null {
  if (!isPlainObject(data)) return null;
  const { streamId, fromVersion, toVersion } = data;
  if (typeof streamId !== 'string' || typeof fromVersion !== 'number' || typeof toVersion !== 'number')
    return null;
  return { streamId, fromVersion, toVersion };
}

/**
 * Folds an index stream (in order): the first `Recorded` wins for ever; otherwise the last
 * `Claimed` / `Released` decides; an empty or missing stream is free.
 */
export function evaluateIdempotencyIndex(
  events: ReadonlyArray<{ type: string; revision: bigint; data: unknown }>,
): IdempotencyIndexState {
  let state: IdempotencyIndexState = { kind: 'free', revision: null };
  for (const event of events) {
    if (event.type === IDEMPOTENCY_KEY_RECORDED) {
      const record = parseRecord(event.data);
      if (record) return { kind: 'recorded', revision: events[events.length - 1].revision, ...record };
    } else if (event.type === IDEMPOTENCY_KEY_CLAIMED) {
      const claim = parseClaim(event.data);
      if (claim) state = { kind: 'claimed', revision: event.revision, claim };
    } else if (event.type === IDEMPOTENCY_KEY_RELEASED) {
      state = { kind: 'free', revision: event.revision };
    }
  }
  // Later unknown events still move the revision the next write must expect.
  const last = events[events.length - 1];
  if (last) state = { ...state, revision: last.revision } as IdempotencyIndexState;
  return state;
}

// ---------------------------------------------------------------------------------------------
// Client error helpers
// ---------------------------------------------------------------------------------------------

function errorType(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { type?: unknown }).type : undefined;
}

interface WrongExpectedVersionLike {
  actualState?: CurrentStreamState;
}

function isWrongExpectedVersion(error: unknown): error is WrongExpectedVersionLike {
  return errorType(error) === ErrorType.WRONG_EXPECTED_VERSION;
}

/** gRPC's INVALID_ARGUMENT status, which the client passes on as an unknown error. */
const GRPC_INVALID_ARGUMENT = 3;

/**
 * Whether a subscription's error will come back however often it resubscribes (refused, deleted,
 * or a position the server calls invalid): it ends the subscription, as the SQLite store's errors
 * do, rather than retrying for ever without a word.
 */
export function endsSubscription(error: unknown): boolean {
  const type = errorType(error);
  return (
    type === ErrorType.ACCESS_DENIED ||
    type === ErrorType.STREAM_DELETED ||
    type === ErrorType.STREAM_TOMBSTONED ||
    type === ErrorType.INVALID_ARGUMENT ||
    (type === ErrorType.UNKNOWN && (error as { code?: unknown }).code === GRPC_INVALID_ARGUMENT)
  );
}

function isStreamNotFound(error: unknown): boolean {
  return (
    errorType(error) === ErrorType.STREAM_NOT_FOUND ||
    (error instanceof Error && error.name === 'StreamNotFoundError')
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function jitter(ms: number): number {
  return Math.round(ms / 2 + Math.random() * (ms / 2));
}

// ---------------------------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------------------------

export interface KurrentDbEventStoreOptions {
  /** Attempts of an append with expected version 'any' that keeps losing the race (default 100). */
  maxAnyAttempts?: number;
  /** Age after which a claim without events is taken to have failed (default 60 s). */
  staleClaimMs?: number;
  /** How long after its claim a claimant may still start an append attempt (default 20 s). */
  claimBudgetMs?: number;
  /** Longest pause between resubscriptions after a dropped subscription (default 5 s). */
  maxResubscribeDelayMs?: number;
}

type ClaimInspection = ({ kind: 'recorded' } & IdempotencyRecord) | { kind: 'in-flight' } | { kind: 'stale' };

const READ_ALL_PAGE = 4096;
const HEAD_SCAN_PAGE = 64;
const DEFAULT_DEADLINE_MS = 10_000;

export class KurrentDbEventStore implements EventStore {
  private readonly maxAnyAttempts: number;
  private readonly staleClaimMs: number;
  private readonly claimBudgetMs: number;
  private readonly maxResubscribeDelayMs: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();
  private closePromise: Promise<void> | null = null;

  constructor(
    private readonly client: KurrentDBClient,
    /** The connection string without its credentials: what messages may name. */
    readonly server: string,
    options: KurrentDbEventStoreOptions = {},
  ) {
    this.maxAnyAttempts = options.maxAnyAttempts ?? 100;
    this.staleClaimMs = options.staleClaimMs ?? 60_000;
    this.claimBudgetMs = options.claimBudgetMs ?? 20_000;
    this.maxResubscribeDelayMs = options.maxResubscribeDelayMs ?? 5_000;
  }

  /**
   * A store on the server of `connectionString` (see the file comment for the accepted schemes).
   * Connecting is lazy: a wrong host shows up at the first call (use `ping()` for readiness).
   */
  static connect(connectionString: string, options?: KurrentDbEventStoreOptions): KurrentDbEventStore {
    const normalised = normaliseConnectionString(connectionString);
    let client: KurrentDBClient;
    try {
      client = KurrentDBClient.connectionString(normalised);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // The client's error is not attached as `cause`: its message may quote the credentials.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`Invalid KurrentDB connection string: ${redactCredentials(message, normalised)}`);
    }
    return new KurrentDbEventStore(client, redactCredentials(normalised, normalised), options);
  }

  // ---- appends ---------------------------------------------------------------------------

  appendToStream(streamId: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const append = this.append(streamId, events, expected);
    this.inFlight.add(append);
    void append.then(
      () => this.inFlight.delete(append),
      () => this.inFlight.delete(append),
    );
    return append;
  }

  private async append(
    streamId: string,
    events: NewEvent[],
    expected: ExpectedVersion,
  ): Promise<AppendResult> {
    this.assertOpen();
    assertLedgerStreamId(streamId);
    toStreamState(expected); // validates the expected version
    const idempotencyKey = commonIdempotencyKey(events);
    // Validates ids and data before anything is claimed or written (the head does not matter here).
    chainEvents(streamId, events, EMPTY_STREAM_HEAD, new Date().toISOString());

    if (events.length === 0) {
      const head = await this.readHead(streamId);
      if (!isVersionMatch(expected, head.version)) {
        throw new VersionConflictError(streamId, expected, head.version);
      }
      return {
        nextVersion: head.version,
        position: head.version === 0 ? 0n : await this.positionOf(streamId, head.version),
      };
    }
    if (idempotencyKey === null) {
      const { fromVersion: _fromVersion, ...result } = await this.appendChained(streamId, events, expected);
      return result;
    }

    const indexStream = idempotencyStreamName(idempotencyKey);
    const { claim, claimRevision, head } = await this.claimKey(
      indexStream,
      idempotencyKey,
      streamId,
      events,
      expected,
    );
    let appended: AppendResult & { fromVersion: number };
    try {
      appended = await this.appendChained(
        streamId,
        events,
        expected,
        head,
        Date.parse(claim.claimedAt) + this.claimBudgetMs,
      );
    } catch (error) {
      // Release only when the append provably wrote nothing; otherwise (timeouts, lost connections)
      // the claim stays and the next look at the key finds the events or, later, a stale claim.
      if (error instanceof VersionConflictError || error instanceof RangeError) {
        await this.appendIndex(
          indexStream,
          [releasedEvent(idempotencyKey, error.message)],
          claimRevision,
        ).catch(() => undefined);
      }
      throw error;
    }
    const { fromVersion, ...result } = appended;
    // Best effort: if this fails, the claim still leads the next reader to the events.
    await this.appendIndex(
      indexStream,
      [
        recordedEvent(
          idempotencyKey,
          { streamId, fromVersion, toVersion: result.nextVersion },
          result.position,
        ),
      ],
      claimRevision,
    ).catch(() => undefined);
    return result;
  }

  /**
   * Appends with the hash chain continued from the stream's current last event, naming that exact
   * revision as the expected state. With 'any', a lost race re-reads the head and tries again.
   */
  private async appendChained(
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedVersion,
    firstHead?: StreamHead,
    startAttemptsBefore?: number,
  ): Promise<AppendResult & { fromVersion: number }> {
    const maxAttempts = expected === 'any' ? this.maxAnyAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      const head = attempt === 1 && firstHead ? firstHead : await this.readHead(streamId);
      if (!isVersionMatch(expected, head.version)) {
        throw new VersionConflictError(streamId, expected, head.version);
      }
      let deadline: number | undefined;
      if (startAttemptsBefore !== undefined) {
        const remaining = startAttemptsBefore - Date.now();
        if (remaining <= 0) throw new VersionConflictError(streamId, expected, head.version);
        deadline = Math.min(DEFAULT_DEADLINE_MS, remaining);
      }
      const chained = chainEvents(streamId, events, head, nextRecordedAt(head));
      let actual: number;
      try {
        const result = await this.client.appendToStream(streamId, chained.map(toEventData), {
          streamState: toStreamState(head.version),
          ...(deadline !== undefined ? { deadline } : {}),
        });
        if (result.success !== false) {
          const nextVersion = versionFromRevision(result.nextExpectedRevision);
          const position = result.position?.commit ?? (await this.positionOf(streamId, nextVersion));
          return { nextVersion, position, fromVersion: head.version + 1 };
        }
        // Only with throwOnAppendFailure=false in the connection string.
        actual = (await this.readHead(streamId)).version;
      } catch (error) {
        if (!isWrongExpectedVersion(error)) throw error;
        actual = versionFromStreamState(error.actualState);
      }
      if (expected !== 'any' || attempt >= maxAttempts) {
        throw new VersionConflictError(streamId, expected, actual);
      }
      // Full jitter spreads the losers of a race out, so the next round has fewer collisions.
      await sleep(Math.random() * Math.min(100, 2 * 2 ** attempt));
    }
  }

  // ---- idempotency -----------------------------------------------------------------------

  private async claimKey(
    indexStream: string,
    idempotencyKey: string,
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedVersion,
  ): Promise<{ claim: IdempotencyClaim; claimRevision: bigint; head: StreamHead }> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const state = await this.readIdempotencyIndex(indexStream);
      let stale = false;
      if (state.kind === 'recorded') throw new DuplicateIdempotencyKeyError(idempotencyKey);
      if (state.kind === 'claimed') {
        const inspection = await this.inspectClaim(indexStream, state);
        if (inspection.kind !== 'stale') throw new DuplicateIdempotencyKeyError(idempotencyKey);
        stale = true;
      }
      // Check the version before claiming, so a plain conflict leaves the index untouched.
      const head = await this.readHead(streamId);
      if (!isVersionMatch(expected, head.version)) {
        throw new VersionConflictError(streamId, expected, head.version);
      }
      const claim: IdempotencyClaim = {
        idempotencyKey,
        streamId,
        baseVersion: head.version,
        eventIds: events.map((event) => event.eventId.toLowerCase()),
        claimedAt: new Date().toISOString(),
      };
      const toWrite = [
        ...(stale ? [releasedEvent(idempotencyKey, 'claim without events went stale')] : []),
        jsonEvent({ type: IDEMPOTENCY_KEY_CLAIMED, data: { ...claim } }),
      ];
      try {
        const claimRevision = await this.appendIndex(indexStream, toWrite, state.revision ?? NO_STREAM);
        return { claim, claimRevision, head };
      } catch (error) {
        if (!isWrongExpectedVersion(error)) throw error;
        // Somebody else wrote to the index meanwhile: look again.
      }
    }
    throw new DuplicateIdempotencyKeyError(idempotencyKey);
  }

  /** Whether a claim without a record led to events (then repairs the record), is in flight, or is stale. */
  private async inspectClaim(
    indexStream: string,
    state: Extract<IdempotencyIndexState, { kind: 'claimed' }>,
  ): Promise<ClaimInspection> {
    const { claim } = state;
    const found = await this.findClaimedEvents(claim);
    if (found) {
      const position = await this.positionOf(found.streamId, found.toVersion).catch(() => null);
      await this.appendIndex(
        indexStream,
        [recordedEvent(claim.idempotencyKey, found, position)],
        state.revision,
      ).catch(() => undefined);
      return { kind: 'recorded', ...found };
    }
    const claimedAt = Date.parse(claim.claimedAt);
    return Number.isNaN(claimedAt) || Date.now() - claimedAt > this.staleClaimMs
      ? { kind: 'stale' }
      : { kind: 'in-flight' };
  }

  private async findClaimedEvents(claim: IdempotencyClaim): Promise<IdempotencyRecord | null> {
    const firstId = claim.eventIds[0].toLowerCase();
    try {
      for await (const resolved of this.client.readStream(claim.streamId, {
        fromRevision: BigInt(Math.max(0, claim.baseVersion)),
        direction: FORWARDS,
        requiresLeader: true,
      })) {
        if (resolved.event?.id.toLowerCase() === firstId) {
          const fromVersion = versionFromRevision(resolved.event.revision);
          return {
            streamId: claim.streamId,
            fromVersion,
            toVersion: fromVersion + claim.eventIds.length - 1,
          };
        }
      }
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    return null;
  }

  private async readIdempotencyIndex(indexStream: string): Promise<IdempotencyIndexState> {
    const events: Array<{ type: string; revision: bigint; data: unknown }> = [];
    try {
      for await (const resolved of this.client.readStream(indexStream, {
        fromRevision: START,
        direction: FORWARDS,
        requiresLeader: true,
      })) {
        if (resolved.event) {
          events.push({
            type: resolved.event.type,
            revision: resolved.event.revision,
            data: resolved.event.data,
          });
        }
      }
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    return evaluateIdempotencyIndex(events);
  }

  /** Appends to an index stream at an exact expected state; returns the new last revision. */
  private async appendIndex(
    indexStream: string,
    events: EventData[],
    streamState: AppendStreamState,
  ): Promise<bigint> {
    const result = await this.client.appendToStream(indexStream, events, { streamState });
    if (result.success === false) {
      throw Object.assign(new Error(`Wrong expected version on ${indexStream}`), {
        type: ErrorType.WRONG_EXPECTED_VERSION,
      });
    }
    return result.nextExpectedRevision;
  }

  async findByIdempotencyKey(idempotencyKey: string): Promise<StoredEvent[]> {
    this.assertOpen();
    const indexStream = idempotencyStreamName(idempotencyKey);
    const state = await this.readIdempotencyIndex(indexStream);
    let record: IdempotencyRecord | null = null;
    if (state.kind === 'recorded') record = state;
    if (state.kind === 'claimed') {
      const inspection = await this.inspectClaim(indexStream, state);
      if (inspection.kind === 'recorded') record = inspection;
    }
    if (!record) return [];
    const events = await this.readStreamRange(record.streamId, record.fromVersion, record.toVersion);
    return events;
  }

  // ---- reads -----------------------------------------------------------------------------

  async readStream(streamId: string, fromVersion = 1, limit?: number): Promise<StoredEvent[]> {
    this.assertOpen();
    if (limit === undefined) return this.readStreamRange(streamId, fromVersion);
    if (!(limit > 0)) return [];
    const from = Math.max(1, Math.floor(fromVersion));
    return this.readStreamRange(streamId, from, from + Math.floor(limit) - 1);
  }

  private async readStreamRange(
    streamId: string,
    fromVersion: number,
    toVersion?: number,
  ): Promise<StoredEvent[]> {
    const from = Math.max(1, Math.floor(fromVersion));
    if (toVersion !== undefined && toVersion < from) return [];
    const events: StoredEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        fromRevision: BigInt(from - 1),
        direction: FORWARDS,
        ...(toVersion !== undefined ? { maxCount: toVersion - from + 1 } : {}),
      })) {
        if (resolved.event) events.push(recordedToStoredEvent(resolved.event));
      }
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw error;
    }
    return events;
  }

  async streamVersion(streamId: string): Promise<number> {
    this.assertOpen();
    const last = await this.readLastRecorded(streamId);
    return last ? versionFromRevision(last.revision) : 0;
  }

  async readAll(afterPosition: bigint | null, limit: number): Promise<StoredEvent[]> {
    this.assertOpen();
    const out: StoredEvent[] = [];
    if (!(limit > 0)) return out;
    let cursor = afterPosition;
    for (;;) {
      // +1: a read from a position includes the event at it, which is skipped.
      const pageSize = Math.min(limit - out.length, READ_ALL_PAGE) + 1;
      let count = 0;
      for await (const resolved of this.client.readAll({
        fromPosition: toReadPosition(cursor),
        direction: FORWARDS,
        maxCount: pageSize,
        filter: excludeSystemEvents(),
      })) {
        count++;
        const position = allPositionOf(resolved);
        if (!resolved.event || position === null || (cursor !== null && position <= cursor)) continue;
        cursor = position;
        const stored = tryRecordedToStoredEvent(resolved.event, position);
        if (stored) {
          out.push(stored);
          if (out.length >= limit) return out;
        }
      }
      // A filtered read returns fewer than asked only at the end of $all.
      if (count < pageSize) return out;
    }
  }

  async headPosition(): Promise<bigint | null> {
    this.assertOpen();
    let before: bigint | null = null;
    for (;;) {
      let count = 0;
      let progressed = false;
      for await (const resolved of this.client.readAll({
        fromPosition: before === null ? END : { commit: before, prepare: before },
        direction: BACKWARDS,
        maxCount: HEAD_SCAN_PAGE,
        filter: excludeSystemEvents(),
      })) {
        count++;
        const position = allPositionOf(resolved);
        if (!resolved.event || position === null || (before !== null && position >= before)) continue;
        progressed = true;
        before = position;
        if (tryRecordedToStoredEvent(resolved.event, position)) return position;
      }
      if (count < HEAD_SCAN_PAGE || !progressed) return null;
    }
  }

  subscribe(afterPosition: bigint | null, options: SubscribeOptions = {}): AsyncIterable<StoredEvent> {
    return this.subscription(afterPosition, options.signal, options.filter);
  }

  private async *subscription(
    afterPosition: bigint | null,
    signal?: AbortSignal,
    wanted: (event: StoredEvent) => boolean = () => true,
  ): AsyncGenerator<StoredEvent> {
    this.assertOpen();
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    let last = afterPosition;
    let failures = 0;
    while (!stop.aborted) {
      const subscription = this.client.subscribeToAll({
        fromPosition: toReadPosition(last),
        filter: excludeSystemEvents(),
      });
      const end = () => {
        void subscription.unsubscribe().catch(() => undefined);
        subscription.destroy();
      };
      stop.addEventListener('abort', end, { once: true });
      try {
        for await (const resolved of subscription) {
          const position = allPositionOf(resolved);
          if (!resolved.event || position === null || (last !== null && position <= last)) continue;
          // Every event up to here has been seen (yielded or skipped): resuming after it leaves no gap.
          last = position;
          const stored = tryRecordedToStoredEvent(resolved.event, position);
          if (!stored) continue;
          failures = 0;
          if (!wanted(stored)) continue;
          yield stored;
          if (stop.aborted) return;
        }
        if (stop.aborted) return;
        // The server ended the subscription without an error: resubscribe.
      } catch (error) {
        if (stop.aborted) return;
        if (endsSubscription(error)) throw error;
        // Dropped (server restart, network, leader change): resubscribe after `last`.
      } finally {
        stop.removeEventListener('abort', end);
        end();
      }
      failures++;
      await sleep(jitter(Math.min(this.maxResubscribeDelayMs, 100 * 2 ** Math.min(failures, 10))), stop);
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async ping(): Promise<void> {
    this.assertOpen();
    // One event from the end of $all, unfiltered: O(1) whatever the log holds.
    for await (const _event of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 1,
    })) {
      break;
    }
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      this.closing.abort();
      await this.client.dispose();
    })();
    return this.closePromise;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closePromise) throw new Error('The KurrentDB event store is closed');
  }

  private async readLastRecorded(streamId: string): Promise<RecordedEventLike | null> {
    try {
      for await (const resolved of this.client.readStream(streamId, {
        fromRevision: END,
        direction: BACKWARDS,
        maxCount: 1,
        // What an append chains onto and what idempotency decides on are read from the leader, which
        // takes the writes: a follower may lag (nodePreference=follower) and answer a stale head.
        requiresLeader: true,
      })) {
        if (resolved.event) return resolved.event;
      }
    } catch (error) {
      if (isStreamNotFound(error)) return null;
      throw error;
    }
    return null;
  }

  private async readHead(streamId: string): Promise<StreamHead> {
    const last = await this.readLastRecorded(streamId);
    if (!last) return EMPTY_STREAM_HEAD;
    const metadata = parseLedgerMetadata(last.metadata);
    if (!metadata) {
      throw new Error(
        `Stream ${streamId} ends with an event the incident ledger did not write (${last.id}); ` +
          'refusing to continue its hash chain',
      );
    }
    return {
      version: versionFromRevision(last.revision),
      hash: metadata.hash,
      recordedAt: metadata.recordedAt,
    };
  }

  /** The `$all` position of the event at `version` of a stream. */
  private async positionOf(streamId: string, version: number): Promise<bigint> {
    for await (const resolved of this.client.readStream(streamId, {
      fromRevision: BigInt(version - 1),
      direction: FORWARDS,
      maxCount: 1,
    })) {
      if (resolved.event) return commitPositionOf(resolved.event);
    }
    throw new Error(`Stream ${streamId} has no event at version ${version}`);
  }
}

function toReadPosition(position: bigint | null): ReadPosition {
  // Ledger events are never in explicit transactions, so their prepare position equals the commit one.
  return position === null ? START : { commit: position, prepare: position };
}

function allPositionOf(resolved: AllStreamResolvedEvent): bigint | null {
  return resolved.event?.position?.commit ?? resolved.commitPosition ?? null;
}

function assertLedgerStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0)
    throw new RangeError('A stream id must not be empty');
  if (streamId.startsWith('$'))
    throw new RangeError(`Stream ${streamId}: ids starting with $ are KurrentDB's`);
  if (streamId.startsWith(IDEMPOTENCY_STREAM_PREFIX)) {
    throw new RangeError(
      `Stream ${streamId}: the prefix ${IDEMPOTENCY_STREAM_PREFIX} is reserved for the ledger`,
    );
  }
}

function recordedEvent(
  idempotencyKey: string,
  record: IdempotencyRecord,
  position: bigint | null,
): EventData {
  return jsonEvent({
    type: IDEMPOTENCY_KEY_RECORDED,
    data: { idempotencyKey, ...record, position: position === null ? null : position.toString() },
  });
}

function releasedEvent(idempotencyKey: string, reason: string): EventData {
  return jsonEvent({
    type: IDEMPOTENCY_KEY_RELEASED,
    data: { idempotencyKey, reason, releasedAt: new Date().toISOString() },
  });
}
