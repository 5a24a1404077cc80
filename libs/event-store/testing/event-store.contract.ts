import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  DuplicateIdempotencyKeyError,
  VersionConflictError,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../event-store.js';
import { chainHash, GENESIS_HASH } from '../hash-chain.js';

/**
 * The behaviour every EventStore adapter must have. The store may be shared and already hold
 * events (the KurrentDB adapter runs this against a live server), so every test writes to
 * streams of its own and looks at the global log only from `headPosition()` on, filtered
 * to those streams.
 */
export function describeEventStoreContract(
  name: string,
  setup: () => Promise<{ store: EventStore; teardown: () => Promise<void> }>,
): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    let teardown: () => Promise<void>;

    beforeAll(async () => {
      ({ store, teardown } = await setup());
    });

    afterAll(async () => {
      await teardown();
    });

    describe('appending and reading a stream', () => {
      test('events get versions 1..n in order and the whole envelope round-trips', async () => {
        const streamId = newStreamId();
        const first = newEvent({
          schemaVersion: 2,
          occurredAt: '2024-02-29T23:59:59.999Z',
          causationId: randomUUID(),
          idempotencyKey: randomUUID(),
          requestFingerprint: 'f'.repeat(64),
          data: { nested: { list: [1, 'two', null, { three: true }], n: -1.5 }, empty: {} },
        });
        const events = sameKey(first, [newEvent(), newEvent()]);
        const before = Date.now();

        const result = await store.appendToStream(streamId, events, 'no-stream');

        const stored = await store.readStream(streamId);
        expect(stored.map((event) => event.streamVersion)).toEqual([1, 2, 3]);
        expect(stored.map(envelopeOf)).toEqual(events);
        for (const event of stored) {
          expect(event.streamId).toBe(streamId);
          expect(typeof event.globalPosition).toBe('bigint');
          expect(event.recordedAt).toBe(new Date(event.recordedAt).toISOString());
          expect(Date.parse(event.recordedAt)).toBeGreaterThanOrEqual(before - 1000);
          expect(Date.parse(event.recordedAt)).toBeLessThanOrEqual(Date.now() + 1000);
        }
        expectIncreasing(stored.map((event) => event.globalPosition));
        expect(result).toEqual({ nextVersion: 3, position: stored[2].globalPosition });
        expectValidChain(stored);
      });

      test('a later append continues the versions and the hash chain', async () => {
        const streamId = newStreamId();
        await store.appendToStream(streamId, [newEvent(), newEvent()], 'no-stream');

        const result = await store.appendToStream(streamId, [newEvent(), newEvent()], 2);

        const stored = await store.readStream(streamId);
        expect(result.nextVersion).toBe(4);
        expect(stored.map((event) => event.streamVersion)).toEqual([1, 2, 3, 4]);
        expectValidChain(stored);
        expect(await store.streamVersion(streamId)).toBe(4);
      });

      test('readStream starts at fromVersion', async () => {
        const streamId = newStreamId();
        const events = [newEvent(), newEvent(), newEvent()];
        await store.appendToStream(streamId, events, 'no-stream');

        const fromTwo = await store.readStream(streamId, 2);

        expect(fromTwo.map((event) => event.eventId)).toEqual([events[1].eventId, events[2].eventId]);
        expect(fromTwo.map((event) => event.streamVersion)).toEqual([2, 3]);
      });

      test('readStream reads at most `limit` events: a long stream can be read page by page', async () => {
        const streamId = newStreamId();
        const events = Array.from({ length: 7 }, () => newEvent());
        await store.appendToStream(streamId, events, 'no-stream');

        const pages: number[][] = [];
        for (let from = 1; ;) {
          const page = await store.readStream(streamId, from, 3);
          pages.push(page.map((event) => event.streamVersion));
          if (page.length < 3) break;
          from = page.at(-1)!.streamVersion + 1;
        }

        expect(pages).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
        expect(await store.readStream(streamId, 8, 3)).toEqual([]);
        expect(await store.readStream(newStreamId(), 1, 3)).toEqual([]);
      });

      test('a missing stream reads as [] at version 0', async () => {
        const streamId = newStreamId();
        expect(await store.readStream(streamId)).toEqual([]);
        expect(await store.streamVersion(streamId)).toBe(0);
      });
    });

    describe('the global log', () => {
      test('readAll returns events in global order, strictly after the position, up to the limit', async () => {
        const start = await store.headPosition();
        const [a, b] = [newStreamId(), newStreamId()];
        const appended: NewEvent[] = [];
        for (const streamId of [a, b, a, b]) {
          const events = [newEvent(), newEvent()];
          await store.appendToStream(streamId, events, 'any');
          appended.push(...events);
        }

        const ours = (await store.readAll(start, 10_000)).filter((event) => [a, b].includes(event.streamId));
        expect(ours.map((event) => event.eventId)).toEqual(appended.map((event) => event.eventId));
        expectIncreasing(ours.map((event) => event.globalPosition));
        expect(await store.headPosition()).toBeGreaterThanOrEqual(ours[ours.length - 1].globalPosition);

        const afterFirst = await store.readAll(ours[0].globalPosition, 10_000);
        expect(afterFirst.every((event) => event.globalPosition > ours[0].globalPosition)).toBe(true);
        expect(afterFirst.find((event) => event.streamId === a || event.streamId === b)?.eventId).toBe(
          ours[1].eventId,
        );

        const page = await store.readAll(start, 2);
        expect(page).toHaveLength(2);
        expect(page.every((event) => start === null || event.globalPosition > start)).toBe(true);
      });
    });

    describe('expected version', () => {
      test('an exact match appends; a wrong number fails with the actual version', async () => {
        const streamId = newStreamId();
        await store.appendToStream(streamId, [newEvent(), newEvent()], 'no-stream');

        await expect(store.appendToStream(streamId, [newEvent()], 2)).resolves.toMatchObject({
          nextVersion: 3,
        });
        const conflict = await rejectionOf(store.appendToStream(streamId, [newEvent()], 1));

        expect(conflict).toBeInstanceOf(VersionConflictError);
        expect(conflict).toMatchObject({ streamId, expected: 1, actual: 3 });
        expect(await store.streamVersion(streamId)).toBe(3);
      });

      test("'no-stream' and 0 fail on an existing stream and append to a new one", async () => {
        for (const noStream of ['no-stream', 0] as const) {
          const streamId = newStreamId();
          await expect(store.appendToStream(streamId, [newEvent()], noStream)).resolves.toMatchObject({
            nextVersion: 1,
          });

          const conflict = await rejectionOf(store.appendToStream(streamId, [newEvent()], noStream));

          expect(conflict).toBeInstanceOf(VersionConflictError);
          expect(conflict).toMatchObject({ streamId, actual: 1 });
          expect(await store.streamVersion(streamId)).toBe(1);
        }
      });

      test("a number ahead of the stream fails, 'any' appends to new and existing streams", async () => {
        const streamId = newStreamId();
        expect(await rejectionOf(store.appendToStream(streamId, [newEvent()], 1))).toBeInstanceOf(
          VersionConflictError,
        );
        await expect(store.appendToStream(streamId, [newEvent()], 'any')).resolves.toMatchObject({
          nextVersion: 1,
        });
        await expect(store.appendToStream(streamId, [newEvent()], 'any')).resolves.toMatchObject({
          nextVersion: 2,
        });
      });

      test.each([2, 10])(
        '%i concurrent appends with the same expected version: exactly one wins',
        async (n) => {
          const streamId = newStreamId();
          await store.appendToStream(streamId, [newEvent()], 'no-stream');
          const attempts = Array.from({ length: n }, () => [newEvent(), newEvent()]);

          const outcomes = await Promise.allSettled(
            attempts.map((events) => store.appendToStream(streamId, events, 1)),
          );

          const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
          expect(winners).toHaveLength(1);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(VersionConflictError);
          }
          const stored = await store.readStream(streamId);
          expect(stored.slice(1).map((event) => event.eventId)).toEqual(
            attempts[winners[0]].map((e) => e.eventId),
          );
          expectValidChain(stored);
        },
      );

      test("many concurrent appends with 'any' to one stream get contiguous versions", async () => {
        const streamId = newStreamId();
        const attempts = Array.from({ length: 50 }, () => [newEvent()]);

        const results = await Promise.all(
          attempts.map((events) => store.appendToStream(streamId, events, 'any')),
        );

        expect(results.map((result) => result.nextVersion).sort((x, y) => x - y)).toEqual(range(1, 50));
        const stored = await store.readStream(streamId);
        expect(stored.map((event) => event.streamVersion)).toEqual(range(1, 50));
        expectIncreasing(stored.map((event) => event.globalPosition));
        expectValidChain(stored);
        for (const [i, result] of results.entries()) {
          expect(stored[result.nextVersion - 1].eventId).toBe(attempts[i][0].eventId);
          expect(stored[result.nextVersion - 1].globalPosition).toBe(result.position);
        }
      });
    });

    describe('idempotency keys', () => {
      test('findByIdempotencyKey returns the events of the append that used the key', async () => {
        const streamId = newStreamId();
        const key = randomUUID();
        const events = sameKey(newEvent({ idempotencyKey: key }), [newEvent()]);
        await store.appendToStream(streamId, [newEvent()], 'no-stream');
        await store.appendToStream(streamId, events, 1);
        await store.appendToStream(streamId, [newEvent()], 3);

        const found = await store.findByIdempotencyKey(key);

        expect(found.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
        expect(found.map((event) => event.streamVersion)).toEqual([2, 3]);
        expect(await store.findByIdempotencyKey(randomUUID())).toEqual([]);
      });

      test('a second append with the same key fails and writes nothing', async () => {
        const [streamId, otherStreamId] = [newStreamId(), newStreamId()];
        const key = randomUUID();
        const original = [newEvent({ idempotencyKey: key })];
        await store.appendToStream(streamId, original, 'no-stream');

        const sameStream = await rejectionOf(
          store.appendToStream(streamId, [newEvent({ idempotencyKey: key })], 1),
        );
        const otherStream = await rejectionOf(
          store.appendToStream(otherStreamId, [newEvent({ idempotencyKey: key })], 'any'),
        );

        expect(sameStream).toBeInstanceOf(DuplicateIdempotencyKeyError);
        expect(otherStream).toBeInstanceOf(DuplicateIdempotencyKeyError);
        expect(otherStream).toMatchObject({ idempotencyKey: key });
        expect(await store.streamVersion(streamId)).toBe(1);
        expect(await store.readStream(otherStreamId)).toEqual([]);
        expect((await store.findByIdempotencyKey(key)).map((event) => event.eventId)).toEqual([
          original[0].eventId,
        ]);
      });
    });

    describe('subscriptions', () => {
      test('catch-up then live: every event exactly once, in order, while writers keep appending', async () => {
        const start = await store.headPosition();
        const streams = [newStreamId(), newStreamId(), newStreamId()];
        const expected: string[] = [];
        const append = async (streamId: string, count: number) => {
          const events = Array.from({ length: count }, () => newEvent());
          await store.appendToStream(streamId, events, 'any');
          return events.map((event) => event.eventId);
        };
        // Written before the subscription starts: it has to catch up over several pages.
        for (const streamId of streams) expected.push(...(await append(streamId, 300)));
        const abort = new AbortController();
        const received = collect(
          store.subscribe(start, { signal: abort.signal }),
          streams,
          expected.length + 120,
        );
        // Written while it catches up and after it went live.
        const writers = streams.map(async (streamId) => {
          const written: string[] = [];
          for (let i = 0; i < 20; i++) {
            written.push(...(await append(streamId, 2)));
            await pause(i % 5);
          }
          return written;
        });
        for (const written of await Promise.all(writers)) expected.push(...written);

        const events = await withTimeout(received, 15_000, abort);

        expect(events.map((event) => event.eventId).sort()).toEqual([...expected].sort());
        expectIncreasing(events.map((event) => event.globalPosition));
        const log = (await store.readAll(start, 100_000)).filter((event) => streams.includes(event.streamId));
        expect(events.map((event) => event.eventId)).toEqual(log.map((event) => event.eventId));
      });

      test('a filtered subscription yields only the events its filter accepts, catching up and live', async () => {
        const start = await store.headPosition();
        const [wanted, other] = [newStreamId(), newStreamId()];
        const expected: string[] = [];
        for (let n = 0; n < 3; n++) {
          const event = newEvent();
          await store.appendToStream(wanted, [event], 'any');
          await store.appendToStream(other, [newEvent()], 'any');
          expected.push(event.eventId);
        }
        const abort = new AbortController();
        const received = collect(
          store.subscribe(start, { signal: abort.signal, filter: (event) => event.streamId === wanted }),
          [wanted, other],
          6,
        );
        for (let n = 0; n < 3; n++) {
          const event = newEvent();
          await store.appendToStream(other, [newEvent()], 'any');
          await store.appendToStream(wanted, [event], 'any');
          expected.push(event.eventId);
        }

        const events = await withTimeout(received, 15_000, abort);

        expect(events.map((event) => event.eventId)).toEqual(expected);
        abort.abort();
      });

      test('a subscription ends when its signal aborts, even while waiting for events', async () => {
        const streamId = newStreamId();
        const abort = new AbortController();
        const received: StoredEvent[] = [];
        const consumer = (async () => {
          for await (const event of store.subscribe(await store.headPosition(), { signal: abort.signal })) {
            if (event.streamId === streamId) received.push(event);
          }
        })();
        await store.appendToStream(streamId, [newEvent()], 'no-stream');
        while (received.length === 0) await pause(10);

        abort.abort();

        await withTimeout(consumer, 2_000);
        expect(received).toHaveLength(1);
      });

      test('a subscription with an aborted signal yields nothing', async () => {
        const abort = new AbortController();
        abort.abort();
        const iterator = store.subscribe(null, { signal: abort.signal })[Symbol.asyncIterator]();
        await expect(withTimeout(iterator.next(), 2_000)).resolves.toMatchObject({ done: true });
      });
    });

    describe('content', () => {
      test('a ~1 MB event round-trips', async () => {
        const streamId = newStreamId();
        const big = newEvent({
          data: {
            text: 'incident log line\n'.repeat(50_000),
            numbers: Array.from({ length: 10_000 }, (_, i) => i * 1.5),
          },
        });

        await store.appendToStream(streamId, [big], 'no-stream');

        const [stored] = await store.readStream(streamId);
        expect(envelopeOf(stored)).toEqual(big);
        expectValidChain([stored]);
      });

      test('unicode round-trips byte for byte in data and in envelope fields', async () => {
        const streamId = newStreamId();
        const text = 'family 👨‍👩‍👧‍👦, fire 🔥, 事故対応 障害, שלום עליכם, مرحبا, e\u0301 vs é, nul\u0000inside';
        const event = newEvent({
          type: 'IncidentDeclared',
          actor: `actor ${text}`,
          correlationId: `correlation ${text}`,
          data: { [text]: text, list: [text, { deeper: text }] },
        });

        await store.appendToStream(streamId, [event], 'no-stream');

        const [stored] = await store.readStream(streamId);
        expect(envelopeOf(stored)).toEqual(event);
        expect(Buffer.from(stored.actor)).toEqual(Buffer.from(event.actor));
        expect(Buffer.from(stored.data[text] as string)).toEqual(Buffer.from(text));
        expect(Object.keys(stored.data)).toEqual(Object.keys(event.data));
        expectValidChain([stored]);
      });
    });
  });
}

function newStreamId(): string {
  return `contract-${randomUUID()}`;
}

/** A valid event to append; `overrides` set the fields a test cares about. */
export function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    eventId: randomUUID(),
    type: 'ContractTested',
    schemaVersion: 1,
    data: { note: 'hello', count: 1 },
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    actor: 'contract-suite',
    correlationId: randomUUID(),
    causationId: null,
    idempotencyKey: null,
    requestFingerprint: null,
    ...overrides,
  };
}

/** The events of one append: `rest` get the idempotency key and request fingerprint of `first`. */
function sameKey(first: NewEvent, rest: NewEvent[]): NewEvent[] {
  return [
    first,
    ...rest.map((event) => ({
      ...event,
      idempotencyKey: first.idempotencyKey,
      requestFingerprint: first.requestFingerprint,
    })),
  ];
}

/** The fields the caller gave, to compare with what it appended. */
function envelopeOf(event: StoredEvent): NewEvent {
  const { eventId, type, schemaVersion, data, occurredAt, actor, correlationId, causationId } = event;
  const { idempotencyKey, requestFingerprint } = event;
  return {
    eventId,
    type,
    schemaVersion,
    data,
    occurredAt,
    actor,
    correlationId,
    causationId,
    idempotencyKey,
    requestFingerprint,
  };
}

/** `events` is a whole stream from version 1: each hash chains onto the previous one. */
export function expectValidChain(events: StoredEvent[]): void {
  let previous = GENESIS_HASH;
  for (const event of events) {
    expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(event.hash).toBe(chainHash(previous, event));
    previous = event.hash;
  }
}

function expectIncreasing(positions: bigint[]): void {
  for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the promise to reject, but it resolved');
}

/** Reads the subscription until `count` events of `streams` arrived, then stops it (return()). */
async function collect(
  subscription: AsyncIterable<StoredEvent>,
  streams: string[],
  count: number,
): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of subscription) {
    if (streams.includes(event.streamId)) events.push(event);
    if (events.length === count) break;
  }
  return events;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fails (and aborts `abort`, to stop a subscription) if `promise` takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, abort?: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort?.abort();
      reject(new Error(`Timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
