import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { chainHash, GENESIS_HASH, type EventStore, type StoredEvent } from '../event-store/index.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { newEvent } from '../event-store/testing/event-store.contract.js';
import { exportBundle, type BundleManifest } from './bundle.js';
import { compareWithBundle, RECORDED_BEFORE_SLACK_MS, type FirstEvent } from './bundle-anchor.js';
import { verifyStore, type OnProgress, type Progress } from './integrity.js';
import {
  ledgerFile,
  readLog,
  renumberPositions,
  seedStreams,
  tamper,
  type LedgerFile,
} from './testing/ledger-file.js';

const STREAMS = ['incident-a', 'incident-b', 'incident-c', 'incident-d'];

/** compareWithBundle given the first events of the store's streams as `cli verify` gets them: from verifyStore. */
async function compare(store: EventStore, manifest: BundleManifest, onProgress?: OnProgress) {
  const firstEvents: FirstEvent[] = [];
  await verifyStore(store, { onFirstEvent: (event) => firstEvents.push(event) });
  return compareWithBundle(store, manifest, firstEvents, onProgress);
}

describe("a store compared with an earlier bundle's head hashes", () => {
  let ledger: LedgerFile;
  let store: SqliteEventStore;
  let manifest: BundleManifest;

  beforeEach(async () => {
    ledger = ledgerFile('audit-anchor-');
    store = SqliteEventStore.open(ledger.file);
    await seedStreams(store, STREAMS, 6);
    manifest = await exportBundle(store, { all: true }, join(ledger.dir, 'bundle'));
  });

  afterEach(async () => {
    await store.close();
    ledger.remove();
  });

  /** Changes the store's file as someone with write access would, with the store closed meanwhile. */
  async function tamperStore(change: Parameters<typeof tamper>[1]): Promise<void> {
    await store.close();
    tamper(ledger.file, change);
    store = SqliteEventStore.open(ledger.file);
  }

  const appendTo = (streamId: string, count: number, expectedVersion: number) =>
    store.appendToStream(
      streamId,
      Array.from({ length: count }, () => newEvent()),
      expectedVersion,
    );

  test('events appended since and streams created since are no change; the appended events are counted', async () => {
    await appendTo('incident-b', 2, 6);
    await appendTo('incident-d', 1, 6);
    await seedStreams(store, ['incident-new'], 3);
    const progress: Progress[] = [];

    const comparison = await compare(store, manifest, (update) => progress.push(update));

    expect(comparison).toEqual({
      changes: [],
      unchangedStreams: 4,
      appendedSince: 3,
      otherStreams: 1,
      recordedBefore: [],
    });
    expect(progress).toEqual([{ done: 4, total: 4 }]);
  });

  /** The only event of `streamId`, as the store holds it. */
  const firstEvent = async (streamId: string) => (await store.readStream(streamId))[0];

  test('a stream created since, but its first event dated before the export, is named: inserted since, backdated', async () => {
    await seedStreams(store, ['incident-new', 'incident-backdated'], 1);
    const recordedAt = new Date(Date.parse(manifest.createdAt) - RECORDED_BEFORE_SLACK_MS - 1).toISOString();
    const backdated = await redate('incident-backdated', recordedAt);

    const comparison = await compare(store, manifest);

    expect((await verifyStore(store)).valid).toBe(true);
    expect(comparison).toMatchObject({
      changes: [],
      otherStreams: 2,
      recordedBefore: [{ streamId: 'incident-backdated', recordedAt, position: backdated.globalPosition }],
    });
  });

  test('a stream created since, stamped just before the export (it committed after the export read the head), is not named', async () => {
    await seedStreams(store, ['incident-racing'], 1);
    await redate(
      'incident-racing',
      new Date(Date.parse(manifest.createdAt) - RECORDED_BEFORE_SLACK_MS).toISOString(),
    );

    const comparison = await compare(store, manifest);

    expect(comparison).toMatchObject({ changes: [], otherStreams: 1, recordedBefore: [] });
  });

  /** Dates the only event of `streamId` `recordedAt`, its hash recomputed as a forger would. */
  async function redate(streamId: string, recordedAt: string) {
    const redated = { ...(await firstEvent(streamId)), recordedAt };
    await tamperStore((db) =>
      db
        .prepare('UPDATE events SET recorded_at = ?, hash = ? WHERE stream_id = ?')
        .run(recordedAt, chainHash(GENESIS_HASH, redated), streamId),
    );
    return redated;
  }

  test('a stream created since, but moved to positions the bundle holds, is named, however late its date', async () => {
    await seedStreams(store, ['incident-new', 'incident-moved'], 1);
    const { recordedAt } = await firstEvent('incident-moved');
    // The stream's event first in the log, every position still taken once.
    await tamperStore((db) => renumberPositions(db, "stream_id = 'incident-moved' DESC, global_position"));

    const comparison = await compare(store, manifest);

    expect((await verifyStore(store, { positionsHandedOut: await store.positionsHandedOut() })).valid).toBe(
      true,
    );
    expect(Date.parse(recordedAt)).toBeGreaterThan(Date.parse(manifest.createdAt));
    expect(comparison).toMatchObject({
      changes: [],
      otherStreams: 2,
      recordedBefore: [{ streamId: 'incident-moved', recordedAt, position: 1n }],
    });
  });

  test('a bundle of one incident cannot tell when the other streams were recorded', async () => {
    const incident = await exportBundle(store, { incidentId: 'a' }, join(ledger.dir, 'incident'));
    await seedStreams(store, ['incident-new'], 1);

    const comparison = await compare(store, incident);

    expect(comparison).toMatchObject({ changes: [], otherStreams: 4, recordedBefore: null });
  });

  test('against a bundle of an empty store, streams created since are judged by their date alone', async () => {
    const empty = ledgerFile('audit-anchor-empty-');
    const emptyStore = SqliteEventStore.open(empty.file);
    try {
      const nothing = await exportBundle(emptyStore, { all: true }, join(empty.dir, 'bundle'));
      await seedStreams(emptyStore, ['incident-new'], 1);

      const comparison = await compare(emptyStore, nothing);

      expect(comparison).toMatchObject({ otherStreams: 1, recordedBefore: [] });
    } finally {
      await emptyStore.close();
      empty.remove();
    }
  });

  test('a stream deleted, cut short or with its tail rewritten: the chain still holds, the head hashes do not', async () => {
    await appendTo('incident-d', 2, 6);
    const log = await readLog(ledger.file);
    const eventOf = (streamId: string, version: number): StoredEvent =>
      log.find((event) => event.streamId === streamId && event.streamVersion === version)!;
    // incident-c's newest event rewritten, its hash recomputed.
    const forgedHash = chainHash(eventOf('incident-c', 5).hash, {
      ...eventOf('incident-c', 6),
      actor: 'mallory',
    });
    await tamperStore((db) => {
      db.prepare("DELETE FROM events WHERE stream_id = 'incident-a'").run();
      db.prepare("DELETE FROM events WHERE stream_id = 'incident-b' AND stream_version > 4").run();
      db.prepare(
        "UPDATE events SET actor = 'mallory', hash = ? WHERE stream_id = 'incident-c' AND stream_version = 6",
      ).run(forgedHash);
    });

    const comparison = await compare(store, manifest);

    expect((await verifyStore(store)).valid).toBe(true);
    expect(comparison).toEqual({
      changes: [
        { streamId: 'incident-a', bundleVersion: 6, change: 'missing' },
        { streamId: 'incident-b', bundleVersion: 6, change: 'shortened', foundVersion: 4 },
        {
          streamId: 'incident-c',
          bundleVersion: 6,
          change: 'rewritten',
          expectedHash: eventOf('incident-c', 6).hash,
          foundHash: forgedHash,
        },
      ],
      unchangedStreams: 1,
      appendedSince: 2,
      otherStreams: 0,
      recordedBefore: [],
    });
  });

  test("a stream without its event at the bundle's last version, but with later ones: no hash found there", async () => {
    await appendTo('incident-a', 2, 6);
    await tamperStore((db) => {
      db.prepare("DELETE FROM events WHERE stream_id = 'incident-a' AND stream_version = 6").run();
      // The head event itself, moved to a later version: its hash is the bundle's, its version not.
      db.prepare(
        "UPDATE events SET stream_version = 9 WHERE stream_id = 'incident-b' AND stream_version = 6",
      ).run();
    });

    const comparison = await compare(store, manifest);

    expect(comparison.changes).toEqual(
      manifest.streams.slice(0, 2).map(({ streamId, headHash }) => ({
        streamId,
        bundleVersion: 6,
        change: 'rewritten',
        expectedHash: headHash,
        foundHash: null,
      })),
    );
  });

  test('reports progress every 100 streams, and at the end', async () => {
    const many = Array.from({ length: 250 }, (_, i) => `incident-many-${i}`);
    await seedStreams(store, many, 1);
    const bundle = await exportBundle(store, { all: true }, join(ledger.dir, 'many'));
    const progress: Progress[] = [];

    await compare(store, bundle, (update) => progress.push(update));

    expect(progress).toEqual([
      { done: 100, total: 254 },
      { done: 200, total: 254 },
      { done: 254, total: 254 },
    ]);
  });
});
