import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { canonicalJson, chainHash, GENESIS_HASH, type StoredEvent } from '../event-store/index.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import {
  BrokenChainError,
  EVENTS_FILE,
  exportBundle,
  MANIFEST_FILE,
  verifyBundle,
  type BundleManifest,
  type BundleReport,
  type ExportTarget,
} from './bundle.js';
import type { Progress } from './integrity.js';
import { bundleEvents, resealBundle, sha256 } from './testing/forged-bundle.js';
import { ledgerFile, seedStreams, tamper, type LedgerFile } from './testing/ledger-file.js';

const STREAMS = ['incident-11111111-1111-4111-a111-111111111111', 'incident-2', 'maintenance-1'];

describe('audit bundles', () => {
  let ledger: LedgerFile;
  let store: SqliteEventStore;
  let bundle: string;

  beforeEach(async () => {
    ledger = ledgerFile('audit-bundle-');
    bundle = join(ledger.dir, 'bundle');
    store = SqliteEventStore.open(ledger.file);
    await seedStreams(store, STREAMS, 8, 2);
  });

  afterEach(async () => {
    await store.close();
    ledger.remove();
  });

  const read = (file: string) => readFileSync(join(bundle, file));
  const lines = () => read(EVENTS_FILE).toString('utf8').split('\n').slice(0, -1);

  /** What the ledger's directory holds besides the store's files: bundles, partial or whole. */
  const bundleFiles = () => readdirSync(ledger.dir).filter((name) => !name.startsWith('events.db'));

  const parsedLines = () => bundleEvents(bundle);

  test('an export of the whole log holds every event, as stored, and verifies', async () => {
    const progress: Progress[] = [];

    const manifest = await exportBundle(store, { all: true }, bundle, (update) => progress.push(update));

    const log = await store.readAll(null, 1000);
    expect(lines()).toHaveLength(24);
    expect(parsedLines()).toEqual(
      log.map((event) => ({ ...event, globalPosition: String(event.globalPosition) })),
    );
    expect(lines()[0]).toBe(canonicalJson(JSON.parse(lines()[0])));
    expect(manifest).toEqual({
      format: 'incident-ledger-audit-bundle',
      formatVersion: 1,
      createdAt: expect.any(String),
      scope: { all: true, throughPosition: String(log[23].globalPosition) },
      eventCount: 24,
      streams: await Promise.all(
        [...STREAMS].sort().map(async (streamId) => {
          const events = await store.readStream(streamId);
          return { streamId, eventCount: 8, firstVersion: 1, lastVersion: 8, headHash: events[7].hash };
        }),
      ),
      eventsSha256: sha256(read(EVENTS_FILE)),
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const { digest, ...rest } = manifest;
    expect(digest).toBe(sha256(canonicalJson(rest)));
    expect(read(MANIFEST_FILE).toString('utf8')).toBe(`${canonicalJson(manifest)}\n`);
    expect(progress.at(-1)).toEqual({ done: 24 });

    const verifyProgress: Progress[] = [];
    const report = await verifyBundle(bundle, (update) => verifyProgress.push(update));
    expect(report).toEqual({ valid: true, checkedEvents: 24, checkedStreams: 3, manifest, problem: null });
    expect(verifyProgress.at(-1)).toEqual({ done: 24, total: 24 });
    // It holds internal notes: for its owner only, like the data dir.
    expect([bundle, join(bundle, EVENTS_FILE), join(bundle, MANIFEST_FILE)].map(modeOf)).toEqual([
      0o700, 0o600, 0o600,
    ]);
  });

  test("an incident's export holds its whole stream only", async () => {
    const incidentId = '11111111-1111-4111-a111-111111111111';

    const manifest = await exportBundle(store, { incidentId }, bundle);

    const stream = await store.readStream(`incident-${incidentId}`);
    expect(parsedLines().map((event) => event.eventId)).toEqual(stream.map((event) => event.eventId));
    expect(manifest).toMatchObject({ scope: { incidentId }, eventCount: 8 });
    expect(manifest.streams).toEqual([
      {
        streamId: `incident-${incidentId}`,
        eventCount: 8,
        firstVersion: 1,
        lastVersion: 8,
        headHash: stream[7].hash,
      },
    ]);
    expect(await verifyBundle(bundle)).toMatchObject({ valid: true, checkedEvents: 8, checkedStreams: 1 });
  });

  test('an export of an incident without events fails and writes nothing', async () => {
    await expect(exportBundle(store, { incidentId: 'missing' }, bundle)).rejects.toThrow(
      'Incident missing has no events',
    );
    expect(existsSync(bundle)).toBe(false);
  });

  test('an empty store exports an empty bundle that verifies', async () => {
    const empty = ledgerFile('audit-bundle-empty-');
    const emptyStore = SqliteEventStore.open(empty.file);
    try {
      const manifest = await exportBundle(emptyStore, { all: true }, bundle);

      expect(manifest).toMatchObject({
        scope: { all: true, throughPosition: null },
        eventCount: 0,
        streams: [],
      });
      expect(await verifyBundle(bundle)).toMatchObject({ valid: true, checkedEvents: 0 });
    } finally {
      await emptyStore.close();
      empty.remove();
    }
  });

  test('an export never writes into an existing directory', async () => {
    await exportBundle(store, { all: true }, bundle);
    const before = read(EVENTS_FILE);
    const empty = join(ledger.dir, 'empty');
    mkdirSync(empty);

    for (const dir of [bundle, empty]) {
      await expect(exportBundle(store, { all: true }, dir)).rejects.toThrow(
        `${dir} already exists: an export writes a new directory, and never into an existing one`,
      );
    }
    expect(read(EVENTS_FILE)).toEqual(before);
    expect(readdirSync(empty)).toEqual([]);
  });

  test('an export aborted midway leaves nothing behind', async () => {
    const aborted = new AbortController();

    const exported = exportBundle(store, { all: true }, bundle, () => aborted.abort(), aborted.signal);

    await expect(exported).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(bundleFiles()).toEqual([]);
  });

  test.each<[string, ExportTarget]>([
    ['the whole log', { all: true }],
    ['an incident', { incidentId: '11111111-1111-4111-a111-111111111111' }],
  ])('an export of %s refuses a broken chain, and leaves nothing behind', async (_, target) => {
    const [streamId] = STREAMS;
    const victim = (await store.readStream(streamId))[4];
    await store.close();
    tamper(ledger.file, (db) =>
      db.prepare("UPDATE events SET data = '{}' WHERE stream_id = ? AND stream_version = 5").run(streamId),
    );
    store = SqliteEventStore.open(ledger.file);

    const exported = exportBundle(store, target, bundle);

    await expect(exported).rejects.toThrow(BrokenChainError);
    await expect(exported).rejects.toThrow(
      `the hash chain of stream ${streamId} breaks at version 5 (position ${victim.globalPosition}): the hash ` +
        'does not match this content chained on the previous hash. A bundle would certify altered history: ' +
        'nothing was exported.',
    );
    expect(bundleFiles()).toEqual([]);
  });

  describe('a one-byte change anywhere fails the bundle', () => {
    /** Offsets to change: the first and last bytes, and `count` random ones (a failure lists those that passed). */
    function offsets(size: number, count: number): number[] {
      return [0, size - 1, ...Array.from({ length: count }, () => randomInt(size))];
    }

    /** Changes one byte at each offset in turn (a low bit, then a case bit) and verifies; the offsets that passed. */
    async function offsetsThatPass(file: string, at: number[]): Promise<number[]> {
      const original = read(file);
      const passed: number[] = [];
      for (const [i, offset] of at.entries()) {
        const changed = Buffer.from(original);
        changed[offset] ^= i % 2 === 0 ? 0x01 : 0x20;
        writeFileSync(join(bundle, file), changed);
        if ((await verifyBundle(bundle)).valid) passed.push(offset);
      }
      writeFileSync(join(bundle, file), original);
      return passed;
    }

    beforeEach(async () => {
      await exportBundle(store, { all: true }, bundle);
    });

    test('in events.jsonl, at random offsets', async () => {
      expect(await offsetsThatPass(EVENTS_FILE, offsets(read(EVENTS_FILE).length, 60))).toEqual([]);
      expect((await verifyBundle(bundle)).valid).toBe(true);
    });

    test('in manifest.json, at every offset', async () => {
      const size = read(MANIFEST_FILE).length;
      expect(await offsetsThatPass(MANIFEST_FILE, [...Array(size).keys()])).toEqual([]);
    });

    test('in a global position, which no event hash covers: events.jsonl no longer has its SHA-256', async () => {
      const original = read(EVENTS_FILE).toString('utf8');
      // The last event's position, one higher: still increasing, still a valid line.
      const last = lines().at(-1)!;
      const position = (JSON.parse(last) as StoredEvent & { globalPosition: string }).globalPosition;
      const changed = last.replace(
        `"globalPosition":"${position}"`,
        `"globalPosition":"${BigInt(position) + 1n}"`,
      );
      writeFileSync(join(bundle, EVENTS_FILE), original.replace(last, changed));

      const report = await verifyBundle(bundle);

      expect(report).toMatchObject({
        valid: false,
        checkedEvents: 24,
        problem: { file: EVENTS_FILE, line: null, message: expect.stringContaining('SHA-256') },
      });
    });

    test('in a hash: the line and the broken link are named', async () => {
      const third = parsedLines()[2];
      const hash = third.hash as string;
      const flipped = `${hash.slice(0, -1)}${hash.endsWith('0') ? '1' : '0'}`;
      writeFileSync(join(bundle, EVENTS_FILE), read(EVENTS_FILE).toString('utf8').replace(hash, flipped));

      const report = await verifyBundle(bundle);

      expect(report.problem).toEqual({
        file: EVENTS_FILE,
        line: 3,
        link: {
          streamId: third.streamId,
          version: third.streamVersion,
          position: BigInt(third.globalPosition as string),
          expectedHash: hash,
          foundHash: flipped,
          problem: 'the hash does not match this content chained on the previous hash',
        },
        message: `stream ${third.streamId as string} version ${third.streamVersion as number}: the hash does not match this content chained on the previous hash`,
      });
    });

    test('in the manifest, even where the JSON would mean the same', async () => {
      const text = read(MANIFEST_FILE).toString('utf8');
      writeFileSync(join(bundle, MANIFEST_FILE), `${text.slice(0, -1)} \n`);

      expect((await verifyBundle(bundle)).problem).toMatchObject({
        file: MANIFEST_FILE,
        message: 'not byte for byte the canonical JSON that an export writes',
      });
    });
  });

  describe('a forger who recomputes every hash', () => {
    beforeEach(async () => {
      await exportBundle(store, { all: true }, bundle);
    });

    test('can make a consistent bundle, which has another digest: the digest recorded at export is the anchor', async () => {
      const { digest } = await verifyBundle(bundle).then((report) => report.manifest!);
      const events = parsedLines();
      // Rewrite an event of incident-2 and re-chain the rest of that stream.
      let previous = GENESIS_HASH;
      for (const event of events.filter((candidate) => candidate.streamId === 'incident-2')) {
        if (event.streamVersion === 5) event.actor = 'mallory';
        event.hash = chainHash(previous, event as unknown as StoredEvent);
        previous = event.hash as string;
      }
      resealBundle(bundle, events);

      const report = await verifyBundle(bundle);

      expect(report.valid).toBe(true);
      expect(report.manifest!.digest).not.toBe(digest);
    });

    test('cannot pass the check against the digest recorded at export, which the original passes', async () => {
      const recorded = (await verifyBundle(bundle)).manifest!.digest;
      expect(await verifyBundle(bundle, undefined, recorded)).toMatchObject({ valid: true, problem: null });
      // The newest events of a stream cut, and the manifest recomputed.
      const events = parsedLines();
      resealBundle(
        bundle,
        events.filter((event) => !(event.streamId === 'incident-2' && (event.streamVersion as number) > 6)),
      );
      const forged = (await verifyBundle(bundle)).manifest!.digest;

      const report = await verifyBundle(bundle, undefined, recorded);

      expect(report).toMatchObject({
        valid: false,
        checkedEvents: 0,
        problem: {
          file: MANIFEST_FILE,
          line: null,
          message:
            `its digest ${forged} is not the digest recorded at export, ${recorded}: ` +
            'this is not the bundle that was exported',
        },
      });
    });

    test("still cannot drop a stream's first events: exports hold whole streams", async () => {
      const events = parsedLines().filter(
        (event) => !(event.streamId === 'incident-2' && event.streamVersion === 1),
      );
      resealBundle(bundle, events);

      expect((await verifyBundle(bundle)).problem).toMatchObject({
        file: EVENTS_FILE,
        link: { streamId: 'incident-2', version: 1 },
        message:
          'stream incident-2 version 1: the stream starts at version 2, not 1: its first events are missing or out of order',
      });
    });

    test('cannot drop an event from the middle of a stream', async () => {
      const events = parsedLines().filter(
        (event) => !(event.streamId === 'incident-2' && event.streamVersion === 4),
      );
      resealBundle(bundle, events);

      expect((await verifyBundle(bundle)).problem).toMatchObject({
        link: { streamId: 'incident-2', version: 4 },
        message: 'stream incident-2 version 4: expected version 4 after version 3, found version 5',
      });
    });

    test('cannot claim other head hashes or streams in the manifest', async () => {
      const events = parsedLines();
      const streams = (JSON.parse(read(MANIFEST_FILE).toString('utf8')) as BundleManifest).streams;

      resealBundle(bundle, events, {
        streams: streams.map((stream) => ({ ...stream, headHash: GENESIS_HASH })),
      });
      expect((await verifyBundle(bundle)).problem).toMatchObject({
        file: MANIFEST_FILE,
        message: expect.stringContaining(`stream ${streams[0].streamId} listed as`),
      });

      resealBundle(bundle, events, { streams: streams.slice(1) });
      expect((await verifyBundle(bundle)).problem).toMatchObject({
        message: `stream ${streams[0].streamId} of events.jsonl is not listed`,
      });

      resealBundle(bundle, events, { streams: [...streams, streams[2]] });
      expect((await verifyBundle(bundle)).problem).toMatchObject({
        message: `stream ${streams[2].streamId} listed twice or without events`,
      });
    });

    test('cannot claim that the log went further than its events', async () => {
      const events = parsedLines();
      const last = BigInt(events.at(-1)!.globalPosition as string);
      resealBundle(bundle, events, { scope: { all: true, throughPosition: String(last + 1n) } });

      expect((await verifyBundle(bundle)).problem).toMatchObject({
        file: EVENTS_FILE,
        line: null,
        message: `the manifest's scope is the log through position ${last + 1n}, but the last event is at position ${last}`,
      });
    });

    test("cannot slip another stream's events into an incident's bundle", async () => {
      const events = parsedLines().filter(
        (event) => event.streamId === STREAMS[0] || event.streamId === 'incident-2',
      );
      resealBundle(bundle, events, { scope: { incidentId: '11111111-1111-4111-a111-111111111111' } });

      expect((await verifyBundle(bundle)).problem).toMatchObject({
        file: EVENTS_FILE,
        line: events.findIndex((event) => event.streamId === 'incident-2') + 1,
        message: `an event of stream incident-2 in a bundle of ${STREAMS[0]}`,
      });
    });

    test('cannot add a field to an event', async () => {
      const events = parsedLines();
      events[5].note = 'added';
      resealBundle(bundle, events);

      expect((await verifyBundle(bundle)).problem).toMatchObject({
        line: 6,
        message: 'not the canonical line of its event',
      });
    });

    test('cannot change the type of a field', async () => {
      const events = parsedLines();
      events[5].streamVersion = String(events[5].streamVersion);
      resealBundle(bundle, events);

      expect((await verifyBundle(bundle)).problem).toMatchObject({
        line: 6,
        message: 'field streamVersion is missing or of the wrong type',
      });
    });
  });

  test.each([MANIFEST_FILE, EVENTS_FILE])('a bundle without %s fails', async (file) => {
    await exportBundle(store, { all: true }, bundle);
    rmSync(join(bundle, file));

    const report: BundleReport = await verifyBundle(bundle);

    expect(report).toMatchObject({
      valid: false,
      problem: { file, line: null, message: expect.stringMatching(/^cannot be read \(ENOENT/) },
    });
  });
});

function modeOf(file: string): number {
  return statSync(file).mode & 0o777;
}
