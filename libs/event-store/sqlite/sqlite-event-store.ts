import Database from 'better-sqlite3';
import { wakeOrAbort } from '../../async/index.js';
import {
  DuplicateIdempotencyKeyError,
  isVersionMatch,
  VersionConflictError,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type StoredEvent,
  type SubscribeOptions,
} from '../event-store.js';
import { chainHash, GENESIS_HASH, type HashedContent } from '../hash-chain.js';
import { LogTail, type Follower } from './log-tail.js';
import { createOwnerOnly } from './owner-only-file.js';

/** Bumped with every change to the schema below; a file from a newer release is refused. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
  CREATE TABLE events (
    -- AUTOINCREMENT: a position is never reused, even if the newest rows were ever removed.
    global_position     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id            TEXT    NOT NULL UNIQUE,
    stream_id           TEXT    NOT NULL,
    stream_version      INTEGER NOT NULL,
    type                TEXT    NOT NULL,
    schema_version      INTEGER NOT NULL,
    data                TEXT    NOT NULL,
    recorded_at         TEXT    NOT NULL,
    occurred_at         TEXT    NOT NULL,
    actor               TEXT    NOT NULL,
    correlation_id      TEXT    NOT NULL,
    causation_id        TEXT,
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    hash                TEXT    NOT NULL,
    -- Also the index that gives a stream's version and last hash (newest row first).
    UNIQUE (stream_id, stream_version)
  ) STRICT;
  CREATE INDEX events_idempotency_key ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
`;

/** Events per page while a subscription catches up, and per read of the shared tail. */
const SUBSCRIBE_PAGE_SIZE = 500;
/** How often the live subscriptions' tail looks for events committed by other processes. */
const POLL_INTERVAL_MS = 200;

const everything = () => true;

interface StreamHead {
  version: number;
  hash: string;
}

interface PendingAppend {
  streamId: string;
  events: NewEvent[];
  expected: ExpectedVersion;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** What one append of a batch came to: its result, or the error that only its caller gets. */
type Outcome = { result: AppendResult } | { error: unknown };

/**
 * The embedded event store: one SQLite file in WAL mode with `synchronous=FULL`, so that an
 * append is acknowledged only once it is on disk.
 *
 * Appends are group-committed: the calls that arrive while a flush is scheduled are written
 * together in one transaction (one fsync), each checked on its own, in arrival order.
 *
 * Global positions are the table's AUTOINCREMENT key, assigned inside write transactions
 * that SQLite runs one at a time (BEGIN IMMEDIATE, across processes too). So positions are
 * handed out in commit order, and a reader never sees a position before a smaller one that
 * commits later: the log readers see is strictly increasing with no gaps.
 */
/** An event whose data is not JSON: the ledger never writes one, so the file was changed outside it. */
export class MalformedEventError extends Error {
  constructor(
    readonly file: string,
    readonly position: bigint,
    readonly streamId: string,
    readonly version: number,
  ) {
    super(
      `${file}: the event at position ${position} (stream ${streamId}, version ${version}) holds data ` +
        'that is not JSON: the file was changed outside the ledger',
    );
    this.name = 'MalformedEventError';
  }
}

export class SqliteEventStore implements EventStore {
  private queue: PendingAppend[] = [];
  /** The scheduled flush, which close() waits for; null when the queue is empty. */
  private pendingFlush: Promise<void> | null = null;
  private closing = false;
  private flushes = 0;
  private appends = 0;
  private eventsRead = 0;
  private subscriptionReads = 0;
  /** Reads the new events once per commit for every live subscription. */
  private readonly tail: LogTail;
  /** PRAGMA data_version as last seen: it changes when another connection commits. */
  private dataVersion: number;

  private readonly insertEvent: Database.Statement;
  private readonly selectHead: Database.Statement<[string], StreamHead>;
  private readonly selectHeadPosition: Database.Statement<[], { position: bigint | null }>;
  private readonly selectPositionsHandedOut: Database.Statement<[], { seq: bigint }>;
  private readonly selectKeyUsed: Database.Statement<[string], unknown>;
  private readonly selectStream: EventQuery;
  private readonly selectAll: EventQuery;
  private readonly selectByKey: EventQuery;
  private readonly writeBatch: Database.Transaction<(batch: PendingAppend[]) => Outcome[]>;
  private readonly writeEvents: Database.Transaction<
    (streamId: string, events: NewEvent[], head: StreamHead) => { head: StreamHead; position: bigint }
  >;

  /** Opens (creating the directory, file and schema if missing) the store at `filePath`. */
  static open(filePath: string): SqliteEventStore {
    createOwnerOnly(filePath);
    const db = new Database(filePath);
    try {
      db.pragma('journal_mode = WAL');
      // In WAL mode, FULL syncs the log at every commit: an acknowledged append survives a
      // power cut (NORMAL would only survive a crash of the process).
      db.pragma('synchronous = FULL');
      // Other processes (the CLI, a second API instance) may hold the write lock briefly.
      db.pragma('busy_timeout = 5000');
      migrate(db);
      return new SqliteEventStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(private readonly db: Database.Database) {
    this.insertEvent = db
      .prepare(
        `INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, recorded_at,
           occurred_at, actor, correlation_id, causation_id, idempotency_key, request_fingerprint, hash)
         VALUES (@eventId, @streamId, @streamVersion, @type, @schemaVersion, @data, @recordedAt,
           @occurredAt, @actor, @correlationId, @causationId, @idempotencyKey, @requestFingerprint, @hash)`,
      )
      .safeIntegers(true);
    this.selectHead = db.prepare(
      'SELECT stream_version AS version, hash FROM events WHERE stream_id = ? ORDER BY stream_version DESC LIMIT 1',
    );
    this.selectHeadPosition = db
      .prepare<[], { position: bigint | null }>('SELECT MAX(global_position) AS position FROM events')
      .safeIntegers(true);
    this.selectPositionsHandedOut = db
      .prepare<[], { seq: bigint }>("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
      .safeIntegers(true);
    this.selectKeyUsed = db.prepare('SELECT 1 FROM events WHERE idempotency_key = ? LIMIT 1');
    this.selectStream = eventQuery(
      db,
      'stream_id = ? AND stream_version >= ? ORDER BY stream_version LIMIT ?',
    );
    this.selectAll = eventQuery(db, 'global_position > ? ORDER BY global_position LIMIT ?');
    this.selectByKey = eventQuery(db, 'idempotency_key = ? ORDER BY global_position');
    this.writeBatch = db.transaction((batch: PendingAppend[]) => this.appendBatch(batch));
    // Run inside writeBatch, this is a savepoint: if one append's insert fails (say, a
    // duplicate eventId), only its rows are rolled back and only its caller gets the error.
    this.writeEvents = db.transaction((streamId: string, events: NewEvent[], head: StreamHead) =>
      this.insertEvents(streamId, events, head),
    );
    this.dataVersion = this.readDataVersion();
    this.tail = new LogTail(
      (after, limit) => this.readForSubscriptions(after, limit),
      () => this.committedElsewhere(),
      { pageSize: SUBSCRIBE_PAGE_SIZE, queueLimit: SUBSCRIBE_PAGE_SIZE, pollIntervalMs: POLL_INTERVAL_MS },
    );
  }

  /**
   * For tests and benchmarks: committed flushes and the appends they carried (average batch =
   * appends / flushes); the events the reads returned (what they held in memory at once is at most
   * their limit); the reads of the log made for subscriptions (their catch-up pages and the shared
   * tail's reads), and the subscriptions live on the tail.
   */
  get stats(): {
    readonly flushes: number;
    readonly appends: number;
    readonly eventsRead: number;
    readonly subscriptionReads: number;
    readonly liveSubscriptions: number;
  } {
    return {
      flushes: this.flushes,
      appends: this.appends,
      eventsRead: this.eventsRead,
      subscriptionReads: this.subscriptionReads,
      liveSubscriptions: this.tail.size,
    };
  }

  /**
   * Queues the append for the next group commit. An empty `events` array writes nothing: it
   * checks `expected` and resolves with the stream's current version and the store's head
   * position (0n for an empty store).
   */
  appendToStream(streamId: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    if (this.closing) return Promise.reject(new Error('SqliteEventStore is closed; cannot append'));
    try {
      validateAppend(streamId, events, expected);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ streamId, events, expected, resolve, reject });
      // setImmediate runs after the I/O already waiting, so requests that arrive meanwhile
      // join this batch; while a flush runs (synchronously) the next batch queues up.
      this.pendingFlush ??= new Promise((flushed) =>
        setImmediate(() => {
          this.flush();
          flushed();
        }),
      );
    });
  }

  async readStream(streamId: string, fromVersion = 1, limit?: number): Promise<StoredEvent[]> {
    if (limit !== undefined && !(limit > 0)) return [];
    // LIMIT -1: no limit.
    return this.counted(this.selectStream(streamId, fromVersion, limit ?? -1));
  }

  async readAll(afterPosition: bigint | null, limit: number): Promise<StoredEvent[]> {
    return this.counted(this.selectAll(afterPosition ?? 0n, limit));
  }

  /**
   * Pages through the log on its own until caught up, then joins the shared tail (see LogTail),
   * which hands it the events of every later commit of this store (or, polled, of other
   * processes) that `filter` accepts. Ends when the signal aborts, the consumer stops iterating,
   * or the store is closed.
   */
  async *subscribe(
    afterPosition: bigint | null,
    options: SubscribeOptions = {},
  ): AsyncGenerator<StoredEvent, void, undefined> {
    const { signal, filter: wanted = everything } = options;
    let position = afterPosition ?? 0n;
    while (this.db.open && !signal?.aborted) {
      const page = this.readForSubscriptions(position, SUBSCRIBE_PAGE_SIZE);
      // A short page is the end of the log: join the tail at once, before anything can commit.
      const follower =
        page.length < SUBSCRIBE_PAGE_SIZE
          ? this.tail.join(page.at(-1)?.globalPosition ?? position, wanted)
          : null;
      try {
        for (const event of page) {
          if (signal?.aborted) return;
          position = event.globalPosition;
          if (wanted(event)) yield event;
        }
        if (follower) position = yield* this.follow(follower, signal);
      } finally {
        if (follower) this.tail.leave(follower);
      }
    }
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.readHead(streamId).version;
  }

  async headPosition(): Promise<bigint | null> {
    return this.selectHeadPosition.get()?.position ?? null;
  }

  /**
   * The last position handed out (null: none yet). As positions count the events, with no gap
   * (see above), a position up to it without its event is an event removed from the file.
   */
  async positionsHandedOut(): Promise<bigint | null> {
    return this.selectPositionsHandedOut.get()?.seq ?? null;
  }

  /** Keys are unique per append (a reuse is refused), so these are all that append's events. */
  async findByIdempotencyKey(idempotencyKey: string): Promise<StoredEvent[]> {
    return this.selectByKey(idempotencyKey);
  }

  /** Reads the log's head: a probe that touches the file, so that a damaged one fails it. */
  async ping(): Promise<void> {
    this.selectHeadPosition.get();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.pendingFlush;
    if (!this.db.open) return;
    this.tail.close();
    this.db.close();
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.pendingFlush = null;
    let outcomes: Outcome[];
    try {
      // IMMEDIATE takes the write lock up front, so the version and key checks and the
      // inserts see the same database even with writers in other processes.
      outcomes = this.writeBatch.immediate(batch);
    } catch (error) {
      // The transaction rolled back as a whole: nobody's events were written.
      for (const append of batch) append.reject(error);
      return;
    }
    this.flushes += 1;
    this.appends += batch.length;
    this.tail.committed();
    outcomes.forEach((outcome, i) => {
      if ('result' in outcome) batch[i].resolve(outcome.result);
      else batch[i].reject(outcome.error);
    });
  }

  /** Runs inside the batch transaction; later appends see the effects of earlier ones. */
  private appendBatch(batch: PendingAppend[]): Outcome[] {
    const heads = new Map<string, StreamHead>();
    const keysUsed = new Set<string>();
    return batch.map(({ streamId, events, expected }) => {
      const head = heads.get(streamId) ?? this.readHead(streamId);
      if (!isVersionMatch(expected, head.version)) {
        return { error: new VersionConflictError(streamId, expected, head.version) };
      }
      if (events.length === 0) {
        return {
          result: { nextVersion: head.version, position: this.selectHeadPosition.get()?.position ?? 0n },
        };
      }
      // validateAppend made sure every event of an append carries the same key.
      const key = events[0].idempotencyKey ?? null;
      if (key !== null && (keysUsed.has(key) || this.selectKeyUsed.get(key) !== undefined)) {
        return { error: new DuplicateIdempotencyKeyError(key) };
      }
      try {
        const written = this.writeEvents(streamId, events, head);
        heads.set(streamId, written.head);
        if (key !== null) keysUsed.add(key);
        return { result: { nextVersion: written.head.version, position: written.position } };
      } catch (error) {
        // Some errors (I/O, disk full) make SQLite roll back the whole transaction; then no
        // later statement may run outside it: fail the batch.
        if (!this.db.inTransaction) throw error;
        return { error };
      }
    });
  }

  private insertEvents(
    streamId: string,
    events: NewEvent[],
    head: StreamHead,
  ): { head: StreamHead; position: bigint } {
    const recordedAt = new Date().toISOString();
    let { version, hash } = head;
    let position = 0n;
    for (const event of events) {
      version += 1;
      const data = JSON.stringify(event.data);
      const content: HashedContent = {
        eventId: event.eventId,
        type: event.type,
        schemaVersion: event.schemaVersion,
        // Hash what readers will get back (JSON drops undefined, turns Dates into strings…),
        // so that the chain verifies from the stored events.
        data: JSON.parse(data) as Record<string, unknown>,
        occurredAt: event.occurredAt,
        actor: event.actor,
        correlationId: event.correlationId,
        causationId: event.causationId ?? null,
        idempotencyKey: event.idempotencyKey ?? null,
        requestFingerprint: event.requestFingerprint ?? null,
        streamId,
        streamVersion: version,
        recordedAt,
      };
      hash = chainHash(hash, content);
      position = this.insertEvent.run({ ...content, data, hash }).lastInsertRowid as bigint;
    }
    return { head: { version, hash }, position };
  }

  private counted(events: StoredEvent[]): StoredEvent[] {
    this.eventsRead += events.length;
    return events;
  }

  private readHead(streamId: string): StreamHead {
    return this.selectHead.get(streamId) ?? { version: 0, hash: GENESIS_HASH };
  }

  /**
   * What the tail hands `follower`, until it is let go; then the position to read on from. Ends
   * early when the signal aborts or the store closes.
   */
  private async *follow(
    follower: Follower,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<StoredEvent, bigint> {
    for (;;) {
      if (signal?.aborted) return follower.position;
      const event = follower.queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (follower.detached) return follower.position;
      await wakeOrAbort(signal, (wake) => (follower.wake = wake));
      follower.wake = null;
    }
  }

  private readForSubscriptions(after: bigint, limit: number): StoredEvent[] {
    this.subscriptionReads += 1;
    return this.counted(this.selectAll(after, limit));
  }

  private readDataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Whether another connection to the file committed since the last call (cheap: no read of the log). */
  private committedElsewhere(): boolean {
    const seen = this.dataVersion;
    this.dataVersion = this.readDataVersion();
    return this.dataVersion !== seen;
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${db.name} has schema version ${version}; this release reads up to ${SCHEMA_VERSION}`);
  }
  if (version === 0) {
    db.transaction(() => {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
}

/** Cheap checks that fail the caller before anything is queued. */
function validateAppend(streamId: string, events: NewEvent[], expected: ExpectedVersion): void {
  if (typeof streamId !== 'string' || streamId === '')
    throw new TypeError('streamId must be a non-empty string');
  if (!Array.isArray(events)) throw new TypeError('events must be an array');
  if (!(expected === 'any' || expected === 'no-stream' || (Number.isInteger(expected) && expected >= 0))) {
    throw new TypeError(`Invalid expected version: ${String(expected)}`);
  }
  for (const event of events) {
    if (typeof event?.eventId !== 'string' || event.eventId === '') {
      throw new TypeError('Every event needs an eventId');
    }
    if (typeof event.type !== 'string' || event.type === '') throw new TypeError('Every event needs a type');
    if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) {
      throw new TypeError(`Event ${event.eventId}: data must be an object`);
    }
    if ((event.idempotencyKey ?? null) !== (events[0].idempotencyKey ?? null)) {
      throw new TypeError('All events of an append must carry the same idempotencyKey');
    }
  }
}

/**
 * Each event read as one JSON text, built by SQLite: the position as text (a bigint), `data`
 * embedded as it is. Parsing one text per event is faster than better-sqlite3 building an object
 * of 15 columns and parsing its data apart (bench: "read models", the rebuild's reading).
 */
function selectEventsAsJson(db: Database.Database, where: string) {
  return db
    .prepare(
      `SELECT json_object(
         'eventId', event_id, 'type', type, 'schemaVersion', schema_version, 'data', json(data),
         'occurredAt', occurred_at, 'actor', actor, 'correlationId', correlation_id,
         'causationId', causation_id, 'idempotencyKey', idempotency_key,
         'requestFingerprint', request_fingerprint, 'streamId', stream_id, 'streamVersion', stream_version,
         'globalPosition', CAST(global_position AS TEXT), 'recordedAt', recorded_at, 'hash', hash)
       FROM events WHERE ${where}`,
    )
    .pluck();
}

/** Events read by a query's parameters. */
type EventQuery = (...params: unknown[]) => StoredEvent[];

/**
 * The events `where` selects. SQLite refuses a whole read over one row whose data is not JSON (the
 * ledger never writes one: the file was changed outside it): the error then names the first such
 * row among those the read selects.
 */
function eventQuery(db: Database.Database, where: string): EventQuery {
  const select = selectEventsAsJson(db, where);
  const malformed = db.prepare(
    `SELECT global_position AS position, stream_id AS streamId, stream_version AS version
     FROM (SELECT global_position, stream_id, stream_version, data FROM events WHERE ${where})
     WHERE NOT json_valid(data) LIMIT 1`,
  );
  return (...params) => {
    try {
      return select.all(...params).map(parseEvent);
    } catch (error) {
      if ((error as Error).message !== 'malformed JSON') throw error;
      const row = malformed.get(...params) as
        { position: bigint; streamId: string; version: number } | undefined;
      if (row === undefined) throw error;
      throw new MalformedEventError(db.name, row.position, row.streamId, row.version);
    }
  };
}

function parseEvent(json: unknown): StoredEvent {
  const event = JSON.parse(json as string) as StoredEvent;
  event.globalPosition = BigInt(event.globalPosition as unknown as string);
  return event;
}
