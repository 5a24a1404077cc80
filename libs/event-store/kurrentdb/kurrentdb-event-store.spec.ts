import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import {
  ANY,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  convertToCommandError,
  jsonEvent,
} from '@kurrent/kurrentdb-client';
import { DuplicateIdempotencyKeyError, type NewEvent, type StoredEvent } from '../event-store.js';
import { GENESIS_HASH, chainHash } from '../hash-chain.js';
import { describeEventStoreContract } from '../testing/event-store.contract.js';
import {
  EMPTY_STREAM_HEAD,
  IDEMPOTENCY_KEY_CLAIMED,
  IDEMPOTENCY_KEY_RECORDED,
  IDEMPOTENCY_KEY_RELEASED,
  IDEMPOTENCY_STREAM_PREFIX,
  KurrentDbEventStore,
  chainEvents,
  commitPositionOf,
  commonIdempotencyKey,
  endsSubscription,
  envelopeToMetadata,
  evaluateIdempotencyIndex,
  idempotencyStreamName,
  nextRecordedAt,
  normaliseConnectionString,
  parseLedgerMetadata,
  recordedToStoredEvent,
  toEventData,
  toStreamState,
  tryRecordedToStoredEvent,
  versionFromRevision,
  versionFromStreamState,
  type RecordedEventLike,
  type UnpositionedEvent,
} from './kurrentdb-event-store.js';

// ---------------------------------------------------------------------------------------------
// Is there a server? Decided before any test is registered (top-level await).
// ---------------------------------------------------------------------------------------------

const PROBE_TIMEOUT_MS = 3_000;
const eventStoreUrl = process.env.EVENTSTORE_URL?.trim() || undefined;
const skipReason = await probeServer(eventStoreUrl);

async function probeServer(url: string | undefined): Promise<string | null> {
  if (!url) {
    return (
      'EVENTSTORE_URL is not set (start one with `docker compose up kurrentdb` and set ' +
      'EVENTSTORE_URL=kurrentdb://localhost:2113?tls=false)'
    );
  }
  let store: KurrentDbEventStore;
  try {
    store = KurrentDbEventStore.connect(url);
  } catch (error) {
    return `EVENTSTORE_URL is not a valid KurrentDB connection string (${messageOf(error)})`;
  }
  try {
    await withTimeout(store.ping(), PROBE_TIMEOUT_MS);
    return null;
  } catch (error) {
    return `no KurrentDB server answered at EVENTSTORE_URL (ping: ${messageOf(error)})`;
  } finally {
    await store.close().catch(() => undefined);
  }
}

if (skipReason === null && eventStoreUrl) {
  const url = eventStoreUrl;
  describeEventStoreContract('KurrentDB', async () => {
    const store = KurrentDbEventStore.connect(url);
    return { store, teardown: () => store.close() };
  });
  describeLiveAdapterBehaviour(url);
} else {
  console.warn(`KurrentDB contract suite skipped: ${skipReason}`);
  const skipped = test.skip;
  skipped(`KurrentDB contract suite (skipped: ${skipReason})`, () => undefined);
}

// ---------------------------------------------------------------------------------------------
// Unit tests: no server needed
// ---------------------------------------------------------------------------------------------

describe('KurrentDB adapter: expected version mapping', () => {
  test("'any' → ANY, 'no-stream' and 0 → NO_STREAM, n → revision n - 1", () => {
    expect(toStreamState('any')).toBe(ANY);
    expect(toStreamState('no-stream')).toBe(NO_STREAM);
    expect(toStreamState(0)).toBe(NO_STREAM);
    expect(toStreamState(1)).toBe(0n);
    expect(toStreamState(42)).toBe(41n);
  });

  test.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('rejects the expected version %p', (bad) => {
    expect(() => toStreamState(bad)).toThrow(RangeError);
  });

  test('revisions and current stream states map back to versions', () => {
    expect(versionFromRevision(0n)).toBe(1);
    expect(versionFromRevision(41n)).toBe(42);
    expect(versionFromStreamState('no_stream')).toBe(0);
    expect(versionFromStreamState(0n)).toBe(1);
    expect(versionFromStreamState(6n)).toBe(7);
    expect(versionFromStreamState(-1n)).toBe(0);
    expect(versionFromStreamState(undefined)).toBe(0);
  });
});

describe('KurrentDB adapter: envelope ↔ KurrentDB event', () => {
  const streamId = 'incident-round-trip';

  function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
    return {
      eventId: randomUUID(),
      type: 'IncidentDeclared',
      schemaVersion: 3,
      data: { title: 'Checkout down', severity: 'SEV1', nested: { list: [1, 'two', null, { three: true }] } },
      occurredAt: '2024-05-01T10:00:00.000Z',
      actor: 'alice',
      correlationId: randomUUID(),
      causationId: randomUUID(),
      idempotencyKey: 'key-1',
      requestFingerprint: 'f'.repeat(64),
      ...overrides,
    };
  }

  /** What reading the appended event back from KurrentDB gives (JSON both ways, as on the wire). */
  function asRecorded(event: UnpositionedEvent, position: bigint): RecordedEventLike {
    const data = toEventData(event);
    expect(data.contentType).toBe('application/json');
    return {
      streamId: event.streamId,
      id: data.id,
      revision: BigInt(event.streamVersion - 1),
      type: data.type,
      data: JSON.parse(JSON.stringify(data.data)),
      metadata: JSON.parse(JSON.stringify(data.metadata)),
      position: { commit: position, prepare: position },
    };
  }

  test('event id, type, data and metadata carry the whole envelope, and it round-trips', () => {
    const events = chainEvents(
      streamId,
      [newEvent(), newEvent({ causationId: null })],
      EMPTY_STREAM_HEAD,
      '2024-05-01T10:00:01.234Z',
    );

    const data = toEventData(events[0]);
    expect(data).toMatchObject({ id: events[0].eventId, type: 'IncidentDeclared', data: events[0].data });
    expect(data.metadata).toEqual({
      ledgerEnvelope: 1,
      schemaVersion: 3,
      occurredAt: '2024-05-01T10:00:00.000Z',
      recordedAt: '2024-05-01T10:00:01.234Z',
      actor: 'alice',
      correlationId: events[0].correlationId,
      causationId: events[0].causationId,
      idempotencyKey: 'key-1',
      requestFingerprint: 'f'.repeat(64),
      streamVersion: 1,
      hash: events[0].hash,
      $correlationId: events[0].correlationId,
      $causationId: events[0].causationId,
    });
    expect(envelopeToMetadata(events[1])).not.toHaveProperty('$causationId');

    const positions = [1_000n, 2n ** 63n + 5n];
    const stored = events.map((event, i) => recordedToStoredEvent(asRecorded(event, positions[i])));

    expect(stored).toEqual(events.map((event, i) => ({ ...event, globalPosition: positions[i] })));
    expect(stored[1].causationId).toBeNull();
    expect(typeof stored[1].globalPosition).toBe('bigint');
    expectChainFromGenesis(stored);
  });

  test('the hash covers the data as stored: non-JSON values are normalised before hashing', () => {
    const [event] = chainEvents(
      streamId,
      [newEvent({ data: { at: new Date('2024-05-01T10:00:00Z'), skipped: undefined, n: 1 } })],
      EMPTY_STREAM_HEAD,
      '2024-05-01T10:00:01.000Z',
    );

    expect(event.data).toEqual({ at: '2024-05-01T10:00:00.000Z', n: 1 });
    expectChainFromGenesis([recordedToStoredEvent(asRecorded(event, 7n))]);
  });

  test('an append continues the chain and the versions from the stream head', () => {
    const [first] = chainEvents(streamId, [newEvent()], EMPTY_STREAM_HEAD, '2024-05-01T10:00:01.000Z');
    const head = { version: 1, hash: first.hash, recordedAt: first.recordedAt };

    const next = chainEvents(streamId, [newEvent(), newEvent()], head, '2024-05-01T10:00:02.000Z');

    expect(next.map((event) => event.streamVersion)).toEqual([2, 3]);
    expect(next[0].hash).toBe(chainHash(first.hash, next[0]));
    expect(next[1].hash).toBe(chainHash(next[0].hash, next[1]));
  });

  test('event ids must be UUIDs (stored lower-case) and data a JSON object', () => {
    const upper = randomUUID().toUpperCase();
    expect(chainEvents(streamId, [newEvent({ eventId: upper })], EMPTY_STREAM_HEAD, 'x')[0].eventId).toBe(
      upper.toLowerCase(),
    );
    expect(() =>
      chainEvents(streamId, [newEvent({ eventId: 'not-a-uuid' })], EMPTY_STREAM_HEAD, 'x'),
    ).toThrow(RangeError);
    const notAnObject = newEvent({ data: [1, 2] as unknown as Record<string, unknown> });
    expect(() => chainEvents(streamId, [notAnObject], EMPTY_STREAM_HEAD, 'x')).toThrow(RangeError);
  });

  test("types starting with $ are refused: KurrentDB's system events, which the feed leaves out", () => {
    expect(() => chainEvents(streamId, [newEvent({ type: '$Declared' })], EMPTY_STREAM_HEAD, 'x')).toThrow(
      /\$Declared: types starting with \$ are KurrentDB's own/,
    );
  });

  test('recordedAt never runs backwards within a stream', () => {
    const now = new Date('2024-05-01T10:00:00.000Z');
    expect(nextRecordedAt(EMPTY_STREAM_HEAD, now)).toBe('2024-05-01T10:00:00.000Z');
    expect(nextRecordedAt({ version: 1, hash: 'h', recordedAt: '2024-05-01T10:00:00.500Z' }, now)).toBe(
      '2024-05-01T10:00:00.500Z',
    );
    expect(nextRecordedAt({ version: 1, hash: 'h', recordedAt: '2024-05-01T09:59:59.000Z' }, now)).toBe(
      '2024-05-01T10:00:00.000Z',
    );
  });

  test('foreign events and idempotency index events are not ledger events', () => {
    const [event] = chainEvents(streamId, [newEvent()], EMPTY_STREAM_HEAD, '2024-05-01T10:00:01.000Z');
    const recorded = asRecorded(event, 10n);

    expect(tryRecordedToStoredEvent({ ...recorded, metadata: undefined })).toBeNull();
    expect(tryRecordedToStoredEvent({ ...recorded, metadata: { $correlationId: 'x' } })).toBeNull();
    expect(tryRecordedToStoredEvent({ ...recorded, data: new Uint8Array([1]) })).toBeNull();
    expect(tryRecordedToStoredEvent({ ...recorded, streamId: `${IDEMPOTENCY_STREAM_PREFIX}abc` })).toBeNull();
    expect(() => recordedToStoredEvent({ ...recorded, metadata: undefined })).toThrow(/not written by the/);
    expect(parseLedgerMetadata({ ...(recorded.metadata as object), hash: 42 })).toBeNull();
  });

  test('a missing $all position is an error that names the server requirement', () => {
    const [event] = chainEvents(streamId, [newEvent()], EMPTY_STREAM_HEAD, '2024-05-01T10:00:01.000Z');
    const recorded = asRecorded(event, 10n);

    expect(commitPositionOf(recorded)).toBe(10n);
    expect(() => commitPositionOf({ ...recorded, position: undefined })).toThrow(/22\.6/);
    const unknown = 18446744073709551615n;
    expect(() => commitPositionOf({ ...recorded, position: { commit: unknown, prepare: unknown } })).toThrow(
      /22\.6/,
    );
  });
});

describe('KurrentDB adapter: which errors end a subscription', () => {
  // As the client hands a server's errors on: a gRPC status code (from @grpc/grpc-js), and the
  // server's exception name in the metadata when it gives one.
  const grpcError = (code: number, details: string, exception?: string) =>
    convertToCommandError(
      Object.assign(new Error(`${code} ${details}`), {
        code,
        details,
        metadata: {
          get: () => [],
          getMap: () => (exception ? { exception, 'stream-name': 'incident-1' } : {}),
        },
      }),
    );

  test('an error that comes back every time ends it: refused, deleted, an invalid position', () => {
    expect(endsSubscription(grpcError(7, 'Access denied', 'access-denied'))).toBe(true);
    expect(endsSubscription(grpcError(16, 'Unauthenticated'))).toBe(true);
    expect(endsSubscription(grpcError(5, 'Stream deleted', 'stream-deleted'))).toBe(true);
    expect(endsSubscription(grpcError(3, 'Invalid position'))).toBe(true);
  });

  test('a dropped connection, a restart or a timeout resubscribes', () => {
    expect(endsSubscription(grpcError(14, 'Connection dropped'))).toBe(false); // UNAVAILABLE
    expect(endsSubscription(grpcError(13, 'Internal'))).toBe(false); // INTERNAL: a restarting node
    expect(endsSubscription(grpcError(4, 'Deadline exceeded'))).toBe(false);
    expect(endsSubscription(grpcError(2, 'client error (Connect)'))).toBe(false);
    expect(endsSubscription(new Error('socket hang up'))).toBe(false);
  });
});

describe('KurrentDB adapter: idempotency index', () => {
  test('the index stream is ledger-idempotency-<sha256(key) hex>', () => {
    const key = 'retry-me';
    expect(idempotencyStreamName(key)).toBe(
      `${IDEMPOTENCY_STREAM_PREFIX}${createHash('sha256').update(key).digest('hex')}`,
    );
    expect(idempotencyStreamName(key)).toMatch(/^ledger-idempotency-[0-9a-f]{64}$/);
  });

  test('an append carries one key or none', () => {
    const base = { eventId: randomUUID(), idempotencyKey: null } as NewEvent;
    expect(commonIdempotencyKey([])).toBeNull();
    expect(commonIdempotencyKey([base, base])).toBeNull();
    expect(
      commonIdempotencyKey([
        { ...base, idempotencyKey: 'k' },
        { ...base, idempotencyKey: 'k' },
      ]),
    ).toBe('k');
    expect(() => commonIdempotencyKey([{ ...base, idempotencyKey: 'k' }, base])).toThrow(RangeError);
  });

  const claim = {
    idempotencyKey: 'k',
    streamId: 'incident-1',
    baseVersion: 3,
    eventIds: [randomUUID()],
    claimedAt: '2024-05-01T10:00:00.000Z',
  };
  const claimed = (revision: bigint) => ({ type: IDEMPOTENCY_KEY_CLAIMED, revision, data: claim });
  const released = (revision: bigint) => ({
    type: IDEMPOTENCY_KEY_RELEASED,
    revision,
    data: { reason: 'x' },
  });
  const recorded = (revision: bigint, fromVersion: number) => ({
    type: IDEMPOTENCY_KEY_RECORDED,
    revision,
    data: { streamId: 'incident-1', fromVersion, toVersion: fromVersion },
  });

  test('no index stream: free, to be claimed with NO_STREAM', () => {
    expect(evaluateIdempotencyIndex([])).toEqual({ kind: 'free', revision: null });
  });

  test('a claim without a record is pending; a released claim is free again at its revision', () => {
    expect(evaluateIdempotencyIndex([claimed(0n)])).toEqual({ kind: 'claimed', revision: 0n, claim });
    expect(evaluateIdempotencyIndex([claimed(0n), released(1n)])).toEqual({ kind: 'free', revision: 1n });
    expect(evaluateIdempotencyIndex([claimed(0n), released(1n), claimed(2n)])).toEqual({
      kind: 'claimed',
      revision: 2n,
      claim,
    });
  });

  test('the first record wins for ever, and the state names the last revision', () => {
    expect(evaluateIdempotencyIndex([claimed(0n), recorded(1n, 4), recorded(2n, 9)])).toEqual({
      kind: 'recorded',
      revision: 2n,
      streamId: 'incident-1',
      fromVersion: 4,
      toVersion: 4,
    });
  });

  test('unknown or malformed events do not change the state, only the revision', () => {
    expect(
      evaluateIdempotencyIndex([claimed(0n), { type: 'SomethingElse', revision: 1n, data: {} }]),
    ).toEqual({
      kind: 'claimed',
      revision: 1n,
      claim,
    });
    expect(
      evaluateIdempotencyIndex([{ type: IDEMPOTENCY_KEY_CLAIMED, revision: 0n, data: { bad: 1 } }]),
    ).toEqual({
      kind: 'free',
      revision: 0n,
    });
  });
});

describe('KurrentDB adapter: connect()', () => {
  test.each([
    ['an empty string', ''],
    ['a string without a scheme', 'localhost:2113'],
    ['an http URL', 'http://localhost:2113'],
    ['a scheme without a host', 'kurrentdb://'],
    ['a port that is not a number', 'kurrentdb://localhost:abc'],
  ])('rejects %s with a clear error', (_label, connectionString) => {
    expect(() => KurrentDbEventStore.connect(connectionString)).toThrow(
      /Invalid KurrentDB connection string/,
    );
  });

  test('never repeats the credentials of a malformed string', () => {
    let message = '';
    try {
      KurrentDbEventStore.connect('kurrentdb://admin:s3cr3t-pw@localhost:notaport?tls=false');
    } catch (error) {
      message = messageOf(error);
    }
    expect(message).toMatch(/Invalid KurrentDB connection string/);
    expect(message).not.toContain('s3cr3t-pw');
  });

  test('esdb schemes are rewritten to kurrentdb; the rest passes through', () => {
    expect(normaliseConnectionString('esdb://localhost:2113?tls=false')).toBe(
      'kurrentdb://localhost:2113?tls=false',
    );
    expect(normaliseConnectionString(' esdb+discover://a:2113,b:2113 ')).toBe(
      'kurrentdb+discover://a:2113,b:2113',
    );
    expect(normaliseConnectionString('kurrentdb+discover://u:p@h:2113?tls=false')).toBe(
      'kurrentdb+discover://u:p@h:2113?tls=false',
    );
  });

  test.each([
    'kurrentdb://localhost:2113?tls=false',
    'kurrentdb+discover://localhost:2113?tls=false',
    'esdb://localhost:2113?tls=false',
    'esdb+discover://localhost:2113?tls=false',
  ])('accepts %s (connecting is lazy: no server needed)', async (connectionString) => {
    const store = KurrentDbEventStore.connect(connectionString);
    await store.close();
  });

  test('ping() rejects when no server answers, and a closed store refuses work', async () => {
    const store = KurrentDbEventStore.connect('kurrentdb://127.0.0.1:1?tls=false');
    await expect(withTimeout(store.ping(), 15_000)).rejects.toThrow();
    await store.close();
    await expect(store.readStream('incident-x')).rejects.toThrow(/closed/);
    await expect(store.appendToStream('incident-x', [], 'any')).rejects.toThrow(/closed/);
  });

  test('reserved stream ids are refused before anything is sent', async () => {
    const store = KurrentDbEventStore.connect('kurrentdb://127.0.0.1:1?tls=false');
    try {
      await expect(store.appendToStream('$system', [], 'any')).rejects.toThrow(RangeError);
      await expect(store.appendToStream(`${IDEMPOTENCY_STREAM_PREFIX}x`, [], 'any')).rejects.toThrow(
        RangeError,
      );
      await expect(store.appendToStream('incident-x', [], -3)).rejects.toThrow(RangeError);
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// KurrentDB-specific behaviour against a live server (with the contract suite)
// ---------------------------------------------------------------------------------------------

function describeLiveAdapterBehaviour(url: string): void {
  describe('KurrentDB adapter against a live server', () => {
    const newEvent = (overrides: Partial<NewEvent> = {}): NewEvent => ({
      eventId: randomUUID(),
      type: 'AdapterTested',
      schemaVersion: 1,
      data: { n: 1 },
      occurredAt: new Date(Date.now() - 1_000).toISOString(),
      actor: 'kurrentdb-spec',
      correlationId: randomUUID(),
      causationId: null,
      idempotencyKey: null,
      requestFingerprint: null,
      ...overrides,
    });

    async function withStore(run: (store: KurrentDbEventStore, client: KurrentDBClient) => Promise<void>) {
      const store = KurrentDbEventStore.connect(url);
      const client = KurrentDBClient.connectionString(normaliseConnectionString(url));
      try {
        await run(store, client);
      } finally {
        await store.close();
        await client.dispose();
      }
    }

    async function indexEvents(client: KurrentDBClient, key: string): Promise<string[]> {
      const types: string[] = [];
      for await (const resolved of client.readStream(idempotencyStreamName(key), {
        fromRevision: START,
        direction: FORWARDS,
      })) {
        if (resolved.event) types.push(resolved.event.type);
      }
      return types;
    }

    function claimEvent(
      key: string,
      streamId: string,
      baseVersion: number,
      eventIds: string[],
      claimedAt: Date,
    ) {
      return jsonEvent({
        type: IDEMPOTENCY_KEY_CLAIMED,
        data: { idempotencyKey: key, streamId, baseVersion, eventIds, claimedAt: claimedAt.toISOString() },
      });
    }

    test('a keyed append writes Claimed then Recorded, and index streams stay out of the feed', async () => {
      await withStore(async (store, client) => {
        const start = await store.headPosition();
        const key = randomUUID();
        const streamId = `adapter-${randomUUID()}`;
        await store.appendToStream(streamId, [newEvent({ idempotencyKey: key })], 'no-stream');

        expect(await indexEvents(client, key)).toEqual([IDEMPOTENCY_KEY_CLAIMED, IDEMPOTENCY_KEY_RECORDED]);
        const feed = await store.readAll(start, 10_000);
        expect(feed.some((event) => event.streamId.startsWith(IDEMPOTENCY_STREAM_PREFIX))).toBe(false);
        expect(feed.filter((event) => event.streamId === streamId)).toHaveLength(1);
        // The head is a ledger event, never an index-stream event written after it.
        const head = await store.headPosition();
        expect(head).not.toBeNull();
        expect(head!).toBeGreaterThanOrEqual(feed[feed.length - 1].globalPosition);
        expect((await store.readAll(start, 100_000)).map((event) => event.globalPosition)).toContain(head);
      });
    });

    test('a version conflict leaves the key unused, so the same key can be retried', async () => {
      await withStore(async (store, client) => {
        const key = randomUUID();
        const streamId = `adapter-${randomUUID()}`;
        await store.appendToStream(streamId, [newEvent()], 'no-stream');
        await store.appendToStream(streamId, [newEvent()], 1);
        // A stale expected version is caught before the key is claimed: the index is not touched.
        await expect(
          store.appendToStream(streamId, [newEvent({ idempotencyKey: key })], 1),
        ).rejects.toMatchObject({
          name: 'VersionConflictError',
          actual: 2,
        });
        expect(await store.findByIdempotencyKey(key)).toEqual([]);

        await store.appendToStream(streamId, [newEvent({ idempotencyKey: key })], 2);
        expect((await store.findByIdempotencyKey(key)).map((event) => event.streamVersion)).toEqual([3]);
        expect(await indexEvents(client, key)).toEqual([IDEMPOTENCY_KEY_CLAIMED, IDEMPOTENCY_KEY_RECORDED]);
      });
    });

    test('a claim whose events were written but not recorded (crash) is repaired on lookup', async () => {
      await withStore(async (store, client) => {
        const key = randomUUID();
        const streamId = `adapter-${randomUUID()}`;
        const event = newEvent({ idempotencyKey: key });
        await client.appendToStream(
          idempotencyStreamName(key),
          [claimEvent(key, streamId, 0, [event.eventId], new Date())],
          { streamState: NO_STREAM },
        );
        // The events land, the process dies before IdempotencyKeyRecorded.
        const [unpositioned] = chainEvents(streamId, [event], EMPTY_STREAM_HEAD, new Date().toISOString());
        await client.appendToStream(streamId, [toEventData(unpositioned)], { streamState: NO_STREAM });

        const found = await store.findByIdempotencyKey(key);

        expect(found.map((stored: StoredEvent) => stored.eventId)).toEqual([event.eventId]);
        expect(await indexEvents(client, key)).toEqual([IDEMPOTENCY_KEY_CLAIMED, IDEMPOTENCY_KEY_RECORDED]);
        await expect(
          store.appendToStream(streamId, [newEvent({ idempotencyKey: key })], 'any'),
        ).rejects.toBeInstanceOf(DuplicateIdempotencyKeyError);
      });
    });

    test('a fresh claim without events is in flight; a stale one is taken over', async () => {
      await withStore(async (store, client) => {
        const streamId = `adapter-${randomUUID()}`;
        const fresh = randomUUID();
        await client.appendToStream(
          idempotencyStreamName(fresh),
          [claimEvent(fresh, streamId, 0, [randomUUID()], new Date())],
          { streamState: NO_STREAM },
        );
        await expect(
          store.appendToStream(streamId, [newEvent({ idempotencyKey: fresh })], 'any'),
        ).rejects.toBeInstanceOf(DuplicateIdempotencyKeyError);
        expect(await store.findByIdempotencyKey(fresh)).toEqual([]);

        const stale = randomUUID();
        await client.appendToStream(
          idempotencyStreamName(stale),
          [claimEvent(stale, streamId, 0, [randomUUID()], new Date(Date.now() - 10 * 60_000))],
          { streamState: NO_STREAM },
        );
        const event = newEvent({ idempotencyKey: stale });
        await store.appendToStream(streamId, [event], 'any');
        expect((await store.findByIdempotencyKey(stale)).map((stored) => stored.eventId)).toEqual([
          event.eventId,
        ]);
        expect(await indexEvents(client, stale)).toEqual([
          IDEMPOTENCY_KEY_CLAIMED,
          IDEMPOTENCY_KEY_RELEASED,
          IDEMPOTENCY_KEY_CLAIMED,
          IDEMPOTENCY_KEY_RECORDED,
        ]);
      });
    });

    test('an esdb:// URL works the same', async () => {
      const esdbUrl = normaliseConnectionString(url).replace(/^kurrentdb(\+discover)?:/, 'esdb$1:');
      const store = KurrentDbEventStore.connect(esdbUrl);
      try {
        await store.ping();
        const streamId = `adapter-${randomUUID()}`;
        await expect(store.appendToStream(streamId, [newEvent()], 'no-stream')).resolves.toMatchObject({
          nextVersion: 1,
        });
      } finally {
        await store.close();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function expectChainFromGenesis(events: StoredEvent[]): void {
  let previous = GENESIS_HASH;
  for (const event of events) {
    expect(event.hash).toBe(chainHash(previous, event));
    previous = event.hash;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
