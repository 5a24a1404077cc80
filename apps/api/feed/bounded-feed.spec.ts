import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SqliteEventStore } from '../../../libs/event-store/sqlite/sqlite-event-store.js';
import { newEvent } from '../../../libs/event-store/testing/event-store.contract.js';
import { boundedFeed } from './bounded-feed.js';
import { streamFromVersion } from './stream-from-version.js';

describe('boundedFeed', () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bounded-feed-'));
    store = SqliteEventStore.open(path.join(dir, 'events.db'));
    for (let n = 0; n < 50; n++) {
      await store.appendToStream(
        `incident-${n}`,
        [newEvent({ type: 'IncidentDeclared', data: { n } })],
        'no-stream',
      );
    }
    // One stream of 15 events, read as incidentEvents reads its history.
    for (let version = 0; version < 15; version++) {
      await store.appendToStream('incident-long', [newEvent({ type: 'InternalNoteAdded' })], version);
    }
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a subscriber that keeps up gets everything', async () => {
    const feed = boundedFeed((signal) => store.subscribe(null, { signal }), { readAhead: 10 });
    const seen: number[] = [];
    for await (const event of feed) {
      seen.push(Number(event.globalPosition));
      if (seen.length === 50) break;
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));
  });

  test('a subscriber catching up on far more than the read-ahead, slowly, gets everything at its own pace', async () => {
    const feed = boundedFeed((signal) => store.subscribe(null, { signal }), {
      readAhead: 10,
      stallTimeoutMs: 1_000,
    });
    const seen: number[] = [];
    for await (const event of feed) {
      seen.push(Number(event.globalPosition));
      if (seen.length === 50) break;
      // Slower than the reading: the reading waits for it instead of cutting it off.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));
  });

  test('a subscriber that takes nothing for the stall timeout gets what was read, then SUBSCRIBER_TOO_SLOW and where to resume', async () => {
    const feed = boundedFeed((signal) => store.subscribe(null, { signal }), {
      readAhead: 10,
      stallTimeoutMs: 100,
    });
    const first = await feed.next();
    expect(first.value?.globalPosition).toBe(1n);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the subscriber stalls past the timeout
    const delivered: bigint[] = [];
    await expect(
      (async () => {
        for await (const event of feed) delivered.push(event.globalPosition);
      })(),
    ).rejects.toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: String(1 + 10) } });
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, n) => BigInt(n + 2)));
  });

  /** A source like incidentEvents' history: an array, which does not heed the abort signal. */
  const oneStream = async function* () {
    yield* await store.readStream('incident-long');
  };

  test("incidentEvents' cut names the stream version to resume from, the cursor that subscription takes", async () => {
    const feed = boundedFeed(oneStream, { readAhead: 10, stallTimeoutMs: 100, resumeBy: 'version' });
    expect((await feed.next()).value?.streamVersion).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const delivered: number[] = [];
    await expect(
      (async () => {
        for await (const event of feed) delivered.push(event.streamVersion);
      })(),
    ).rejects.toMatchObject({
      message: expect.stringContaining('Resume with incidentEvents with afterVersion 11.'),
      extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: '11' },
    });
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, n) => n + 2));
  });

  test('a subscriber that leaves during a catch-up is let go at once, though its source ignores the signal', async () => {
    // Were the reading to wait for room again, return() would wait the stall timeout out: longer
    // than the test's own timeout.
    const feed = boundedFeed(oneStream, { readAhead: 10, stallTimeoutMs: 20_000 });
    await feed.next();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the reading fills the read-ahead
    await feed.return(undefined);
  });

  test('a subscriber that leaves while it waits for an event is let go at once, its reading stopped', async () => {
    // graphql-ws awaits next() for ever on a live subscription: its return() on the client's
    // complete, or on a closed socket, comes while that next() waits. An async generator's own
    // return() would wait for the next event, which a filter may make never come.
    const head = await store.headPosition();
    let reading = false;
    const feed = boundedFeed(async function* (signal) {
      reading = true;
      try {
        yield* store.subscribe(head, { signal });
      } finally {
        reading = false;
      }
    });
    const waiting = feed.next();
    while (!reading) await new Promise((resolve) => setImmediate(resolve));

    await expect(feed.return(undefined)).resolves.toEqual({ done: true, value: undefined });

    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    expect(reading).toBe(false);
  });

  test('incidentEvents reads the history page by page: a subscriber taking nothing has no more read than its read-ahead and a page', async () => {
    const before = store.stats.eventsRead;
    const feed = boundedFeed((signal) => streamFromVersion(store, 'incident-long', 0, signal, 3), {
      readAhead: 5,
      stallTimeoutMs: 20_000,
    });
    const versions = [(await feed.next()).value!.streamVersion];
    // The reading fills the read-ahead, then waits for room (SQLite reads are synchronous).
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));

    expect(store.stats.eventsRead - before).toBeLessThanOrEqual(1 + 5 + 3);

    while (versions.length < 15) versions.push((await feed.next()).value!.streamVersion);
    // After the history, the new events, with nothing missed or repeated at the hand-over.
    await store.appendToStream('incident-long', [newEvent({ type: 'InternalNoteAdded' })], 15);
    versions.push((await feed.next()).value!.streamVersion);
    expect(versions).toEqual(Array.from({ length: 16 }, (_, n) => n + 1));
    await feed.return(undefined);
  });
});
