import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { chainHash, hashedContent, type StoredEvent } from '../event-store/index.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { newEvent } from '../event-store/testing/event-store.contract.js';
import { exportBundle } from './bundle.js';
import { verifyStore, verifyStreamEvents, type Progress, type StoreIntegrityReport } from './integrity.js';
import {
  insertRow,
  ledgerFile,
  readLog,
  seedStreams,
  tamper,
  type LedgerFile,
} from './testing/ledger-file.js';

const STREAMS = ['incident-a', 'incident-b', 'incident-c'];

describe('tamper evidence', () => {
  let ledger: LedgerFile;
  /** The log as written, before any tampering. */
  let original: StoredEvent[];

  beforeEach(async () => {
    ledger = ledgerFile('audit-integrity-');
    const store = SqliteEventStore.open(ledger.file);
    await seedStreams(store, STREAMS, 6);
    await store.close();
    original = await readLog(ledger.file);
  });

  afterEach(() => {
    ledger.remove();
  });

  function eventOf(streamId: string, version: number): StoredEvent {
    return original.find((event) => event.streamId === streamId && event.streamVersion === version)!;
  }

  /** verifyStore over the whole file, and verifyStreamEvents over one of its streams. */
  async function verify(streamId: string) {
    const store = SqliteEventStore.open(ledger.file);
    try {
      return {
        whole: await verifyStore(store),
        stream: verifyStreamEvents(await store.readStream(streamId)),
      };
    } finally {
      await store.close();
    }
  }

  test('an untouched store verifies: every event, every stream, with progress', async () => {
    const store = SqliteEventStore.open(ledger.file);
    const progress: Progress[] = [];

    const report = await verifyStore(store, { onProgress: (update) => progress.push(update) });
    const streams = await Promise.all(
      STREAMS.map(async (id) => verifyStreamEvents(await store.readStream(id))),
    );
    await store.close();

    expect(report).toEqual({
      valid: true,
      checkedEvents: 18,
      checkedStreams: 3,
      broken: [],
      missingPositions: [],
    });
    expect(progress).toEqual([{ done: 18 }]);
    for (const [index, stream] of streams.entries()) {
      expect(stream).toEqual({
        valid: true,
        checkedEvents: 6,
        firstBrokenVersion: null,
        expectedHash: null,
        foundHash: null,
        problem: null,
        headHash: eventOf(STREAMS[index], 6).hash,
      });
    }
  });

  test.each([
    ['data', JSON.stringify({ stream: 1, n: 99 })],
    ['actor', 'mallory'],
    ['occurred_at', '2020-01-01T00:00:00.000Z'],
    ['recorded_at', '2020-01-01T00:00:00.000Z'],
    ['type', 'SomethingElse'],
    ['event_id', randomUUID()],
    ['causation_id', randomUUID()],
    ['idempotency_key', 'replayed-key'],
    ['schema_version', 2],
  ])('an edit of %s is caught at that event, with the hash it should have', async (column, value) => {
    const target = eventOf('incident-b', 3);
    tamper(ledger.file, (db) =>
      db
        .prepare(`UPDATE events SET ${column} = ? WHERE global_position = ?`)
        .run(value, target.globalPosition),
    );
    const edited = (await readLog(ledger.file)).find(
      (event) => event.globalPosition === target.globalPosition,
    )!;

    const { whole, stream } = await verify('incident-b');

    const expectedHash = chainHash(eventOf('incident-b', 2).hash, edited);
    expect(expectedHash).not.toBe(target.hash);
    expect(whole).toMatchObject({ valid: false, checkedStreams: 3 });
    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toEqual({
      streamId: 'incident-b',
      version: 3,
      position: target.globalPosition,
      expectedHash,
      foundHash: target.hash,
      problem: expect.stringContaining('hash does not match'),
    });
    expect(stream).toEqual({
      valid: false,
      checkedEvents: 3,
      firstBrokenVersion: 3,
      expectedHash,
      foundHash: target.hash,
      problem: expect.stringContaining('hash does not match'),
      headHash: null,
    });
  });

  test('an edit whose hash was recomputed is caught at the next event', async () => {
    const target = eventOf('incident-b', 3);
    const forged = { ...target, actor: 'mallory' };
    const forgedHash = chainHash(eventOf('incident-b', 2).hash, forged);
    tamper(ledger.file, (db) =>
      db
        .prepare('UPDATE events SET actor = ?, hash = ? WHERE global_position = ?')
        .run('mallory', forgedHash, target.globalPosition),
    );

    const { whole, stream } = await verify('incident-b');

    const next = eventOf('incident-b', 4);
    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toEqual({
      streamId: 'incident-b',
      version: 4,
      position: next.globalPosition,
      expectedHash: chainHash(forgedHash, next),
      foundHash: next.hash,
      problem: expect.stringContaining('hash does not match'),
    });
    expect(stream).toMatchObject({ valid: false, firstBrokenVersion: 4, foundHash: next.hash });
  });

  test('a deleted event is caught where it is missing', async () => {
    tamper(ledger.file, (db) =>
      db.prepare('DELETE FROM events WHERE global_position = ?').run(eventOf('incident-b', 3).globalPosition),
    );

    const { whole, stream } = await verify('incident-b');

    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toEqual({
      streamId: 'incident-b',
      version: 3,
      position: eventOf('incident-b', 4).globalPosition,
      expectedHash: null,
      foundHash: eventOf('incident-b', 4).hash,
      problem: 'expected version 3 after version 2, found version 4',
    });
    expect(stream).toMatchObject({ valid: false, checkedEvents: 3, firstBrokenVersion: 3 });
  });

  test("a stream's deleted first event is caught", async () => {
    tamper(ledger.file, (db) =>
      db.prepare('DELETE FROM events WHERE global_position = ?').run(eventOf('incident-c', 1).globalPosition),
    );

    const { whole, stream } = await verify('incident-c');

    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toMatchObject({
      streamId: 'incident-c',
      version: 1,
      position: eventOf('incident-c', 2).globalPosition,
      problem: 'the stream starts at version 2, not 1: its first events are missing or out of order',
    });
    expect(stream).toMatchObject({ valid: false, checkedEvents: 1, firstBrokenVersion: 1 });
  });

  test('an inserted event is caught, even with a correct hash of its own', async () => {
    // A forged version 3 whose hash chains correctly onto version 2.
    const forged = { ...hashedContent(eventOf('incident-b', 3)), ...newEvent({ data: { forged: true } }) };
    const forgedHash = chainHash(eventOf('incident-b', 2).hash, forged);
    tamper(ledger.file, (db) => {
      // Make room at version 3, through negative versions since (stream, version) is unique.
      db.exec(`UPDATE events SET stream_version = -stream_version - 1
               WHERE stream_id = 'incident-b' AND stream_version >= 3`);
      db.exec('UPDATE events SET stream_version = -stream_version WHERE stream_version < 0');
      insertRow(db, forged, forgedHash);
    });

    const { whole, stream } = await verify('incident-b');

    // In the log the forged event comes last: the old version 3, now 4, arrives where 3 belongs.
    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toMatchObject({
      streamId: 'incident-b',
      version: 3,
      position: eventOf('incident-b', 3).globalPosition,
      problem: 'expected version 3 after version 2, found version 4',
    });
    // In the stream the forged event verifies; the renumbered one after it does not.
    expect(stream).toMatchObject({ valid: false, checkedEvents: 4, firstBrokenVersion: 4 });
  });

  test('an event with a made-up hash appended to a stream is caught', async () => {
    const last = eventOf('incident-a', 6);
    tamper(ledger.file, (db) =>
      insertRow(db, { ...hashedContent(last), eventId: randomUUID(), streamVersion: 7 }, 'f'.repeat(64)),
    );

    const { whole, stream } = await verify('incident-a');

    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toMatchObject({
      streamId: 'incident-a',
      version: 7,
      expectedHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      foundHash: 'f'.repeat(64),
    });
    expect(stream).toMatchObject({ valid: false, checkedEvents: 7, firstBrokenVersion: 7 });
  });

  test('two events whose versions were swapped are caught', async () => {
    const [second, third] = [eventOf('incident-b', 2), eventOf('incident-b', 3)];
    tamper(ledger.file, (db) => {
      const setVersion = db.prepare('UPDATE events SET stream_version = ? WHERE global_position = ?');
      setVersion.run(-1, second.globalPosition);
      setVersion.run(2, third.globalPosition);
      setVersion.run(3, second.globalPosition);
    });

    const { whole, stream } = await verify('incident-b');

    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toMatchObject({
      streamId: 'incident-b',
      version: 2,
      position: second.globalPosition,
      problem: 'expected version 2 after version 1, found version 3',
    });
    expect(stream).toMatchObject({ valid: false, firstBrokenVersion: 2, foundHash: third.hash });
  });

  test('two events whose global positions were swapped are caught', async () => {
    const [second, third] = [eventOf('incident-b', 2), eventOf('incident-b', 3)];
    tamper(ledger.file, (db) => {
      const setPosition = db.prepare('UPDATE events SET global_position = ? WHERE global_position = ?');
      setPosition.run(-1, second.globalPosition);
      setPosition.run(second.globalPosition, third.globalPosition);
      setPosition.run(third.globalPosition, -1);
    });

    const { whole, stream } = await verify('incident-b');

    expect(whole.broken).toHaveLength(1);
    expect(whole.broken[0]).toMatchObject({
      streamId: 'incident-b',
      version: 2,
      position: second.globalPosition,
      problem: 'expected version 2 after version 1, found version 3',
    });
    expect(stream).toMatchObject({
      valid: false,
      firstBrokenVersion: 3,
      problem: `position ${second.globalPosition} does not come after position ${third.globalPosition}`,
    });
  });

  test('verifyStreamEvents refuses an event of another stream among a stream', () => {
    const mixed = [eventOf('incident-a', 1), eventOf('incident-a', 2), eventOf('incident-b', 3)];

    expect(verifyStreamEvents(mixed)).toMatchObject({
      valid: false,
      checkedEvents: 3,
      firstBrokenVersion: 3,
      problem: 'an event of stream incident-b',
    });
    expect(verifyStreamEvents([])).toMatchObject({ valid: true, checkedEvents: 0 });
  });

  describe('what the chain cannot see without an anchor', () => {
    test.each([
      [
        'the newest event dropped',
        (db: Database.Database, last: StoredEvent) =>
          db.prepare('DELETE FROM events WHERE global_position = ?').run(last.globalPosition),
      ],
      [
        'the newest event rewritten with its hash recomputed',
        (db: Database.Database, last: StoredEvent, previous: StoredEvent) =>
          db
            .prepare('UPDATE events SET actor = ?, hash = ? WHERE global_position = ?')
            .run('mallory', chainHash(previous.hash, { ...last, actor: 'mallory' }), last.globalPosition),
      ],
    ])('%s verifies, but no longer matches the head hash of an earlier export', async (_, attack) => {
      const store = SqliteEventStore.open(ledger.file);
      const manifest = await exportBundle(store, { all: true }, join(ledger.dir, 'bundle'));
      await store.close();
      tamper(ledger.file, (db) => attack(db, eventOf('incident-c', 6), eventOf('incident-c', 5)));

      const { whole, stream } = await verify('incident-c');

      expect(whole.valid).toBe(true);
      // The report's own head hash is that anchor, when kept from an earlier verification.
      expect(stream.headHash).not.toBe(eventOf('incident-c', 6).hash);
      const anchor = manifest.streams.find((stream) => stream.streamId === 'incident-c')!;
      const now = (await readLog(ledger.file)).find(
        (event) => event.streamId === 'incident-c' && event.streamVersion === anchor.lastVersion,
      );
      expect(now?.hash).not.toBe(anchor.headHash);
    });
  });
});

describe('verifyStore over a log of several pages', () => {
  let ledger: LedgerFile;
  const streams = Array.from({ length: 25 }, (_, i) => `incident-${i}`);

  beforeEach(async () => {
    ledger = ledgerFile('audit-integrity-pages-');
    const store = SqliteEventStore.open(ledger.file);
    await seedStreams(store, streams, 100, 10);
    await store.close();
  });

  afterEach(() => {
    ledger.remove();
  });

  async function verifyFile(): Promise<{ report: StoreIntegrityReport; progress: Progress[] }> {
    const store = SqliteEventStore.open(ledger.file);
    const progress: Progress[] = [];
    try {
      return {
        report: await verifyStore(store, { onProgress: (update) => progress.push(update) }),
        progress,
      };
    } finally {
      await store.close();
    }
  }

  test('reports progress page by page and checks every event', async () => {
    const { report, progress } = await verifyFile();

    expect(report).toEqual({
      valid: true,
      checkedEvents: 2500,
      checkedStreams: 25,
      broken: [],
      missingPositions: [],
    });
    expect(progress).toEqual([{ done: 1000 }, { done: 2000 }, { done: 2500 }]);
  });

  test('reports every broken stream once, where it first breaks, and checks the rest of the log', async () => {
    const log = await readLog(ledger.file);
    // Two edits in one stream (the second is behind the first break) and one in another.
    const [first, later] = log.filter((event) => event.streamId === 'incident-3').slice(40, 60);
    const other = log.find((event) => event.streamId === 'incident-17' && event.streamVersion === 99)!;
    tamper(ledger.file, (db) => {
      for (const event of [first, later, other]) {
        db.prepare("UPDATE events SET data = '{}' WHERE global_position = ?").run(event.globalPosition);
      }
    });

    const { report, progress } = await verifyFile();

    expect(report).toMatchObject({
      valid: false,
      checkedEvents: 2500,
      checkedStreams: 25,
      missingPositions: [],
    });
    expect(report.broken.map(({ streamId, version }) => ({ streamId, version }))).toEqual([
      { streamId: 'incident-3', version: first.streamVersion },
      { streamId: 'incident-17', version: 99 },
    ]);
    expect(progress).toEqual([{ done: 1000 }, { done: 2000 }, { done: 2500 }]);
  });

  describe('a store whose positions count its events', () => {
    async function verifyCounting(): Promise<StoreIntegrityReport> {
      const store = SqliteEventStore.open(ledger.file);
      try {
        return await verifyStore(store, { positionsHandedOut: await store.positionsHandedOut() });
      } finally {
        await store.close();
      }
    }

    test('verifies whole, appends refused in a group commit leaving no gap', async () => {
      const store = SqliteEventStore.open(ledger.file);
      // Committed together: one append refused (a stale version), one written.
      const appends = await Promise.allSettled([
        store.appendToStream('incident-0', [newEvent()], 3),
        store.appendToStream('incident-1', [newEvent()], 100),
      ]);
      await store.close();
      expect(appends.map(({ status }) => status)).toEqual(['rejected', 'fulfilled']);

      expect(await verifyCounting()).toMatchObject({ valid: true, broken: [], missingPositions: [] });
    });

    test('names the positions of events removed from the log, which no chain shows', async () => {
      const log = await readLog(ledger.file);
      const removed = log
        .filter((event) => event.streamId === 'incident-24' || event.globalPosition > 2480n)
        .map((event) => event.globalPosition);
      tamper(ledger.file, (db) => {
        // A whole stream, and the newest events of the log (a stream's tail).
        db.prepare("DELETE FROM events WHERE stream_id = 'incident-24'").run();
        db.prepare('DELETE FROM events WHERE global_position > 2480').run();
      });

      const report = await verifyCounting();

      expect(report.broken).toEqual([]);
      expect(report.valid).toBe(false);
      // Each run of removed positions, named once.
      const ranges = removed.reduce<Array<{ from: bigint; to: bigint }>>((runs, position) => {
        const last = runs.at(-1);
        if (last !== undefined && last.to + 1n === position) last.to = position;
        else runs.push({ from: position, to: position });
        return runs;
      }, []);
      expect(ranges.length).toBeGreaterThan(2);
      expect(ranges.at(-1)).toEqual({ from: 2481n, to: 2500n });
      expect(report.missingPositions).toEqual(ranges);
      // The chain walk alone, without the positions, finds nothing.
      const store = SqliteEventStore.open(ledger.file);
      expect((await verifyStore(store)).valid).toBe(true);
      await store.close();
    });
  });
});
