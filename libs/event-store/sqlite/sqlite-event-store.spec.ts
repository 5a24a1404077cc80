import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { getEventListeners, setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { DuplicateIdempotencyKeyError, VersionConflictError, type StoredEvent } from '../event-store.js';
import { compileForChildProcess, repoRoot } from '../testing/compile-for-child-process.js';
import { describeEventStoreContract, expectValidChain, newEvent } from '../testing/event-store.contract.js';
import { SqliteEventStore } from './sqlite-event-store.js';

describeEventStoreContract('SqliteEventStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'event-store-contract-'));
  const store = SqliteEventStore.open(join(dir, 'events.db'));
  return {
    store,
    teardown: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteEventStore', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-event-store-'));
    file = join(dir, 'nested', 'events.db');
    store = SqliteEventStore.open(file);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('group commit', () => {
    test('64 concurrent appends are written in one transaction with contiguous positions', async () => {
      const flushesBefore = store.stats.flushes;

      const results = await Promise.all(
        Array.from({ length: 64 }, (_, i) => store.appendToStream(`stream-${i}`, [newEvent()], 'no-stream')),
      );

      expect(store.stats.flushes - flushesBefore).toBe(1);
      const positions = results.map((result) => result.position);
      expect(positions).toEqual(positions.map((_, i) => positions[0] + BigInt(i)));
    });

    test('within one batch each caller gets its own error while the others commit', async () => {
      const usedKey = randomUUID();
      const batchKey = randomUUID();
      await store.appendToStream('a', [newEvent()], 'no-stream');
      await store.appendToStream('used', [newEvent({ idempotencyKey: usedKey })], 'no-stream');
      const duplicateId = newEvent();
      const flushesBefore = store.stats.flushes;

      const outcomes = await Promise.allSettled([
        store.appendToStream('a', [newEvent()], 1),
        store.appendToStream('a', [newEvent()], 1), // conflicts with the append just before it
        store.appendToStream('b', [duplicateId], 'no-stream'),
        store.appendToStream('c', [newEvent({ idempotencyKey: usedKey })], 'any'), // key used in the file
        store.appendToStream('d', [newEvent({ idempotencyKey: batchKey })], 'any'),
        store.appendToStream('e', [newEvent({ idempotencyKey: batchKey })], 'any'), // key used in this batch
        store.appendToStream('f', [newEvent(), { ...duplicateId }], 'any'), // eventId taken: insert fails
        store.appendToStream('a', [newEvent()], 2),
      ]);

      expect(store.stats.flushes - flushesBefore).toBe(1);
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'rejected',
        'fulfilled',
      ]);
      expect(reasonOf(outcomes[1])).toBeInstanceOf(VersionConflictError);
      expect(reasonOf(outcomes[1])).toMatchObject({ expected: 1, actual: 2 });
      expect(reasonOf(outcomes[3])).toBeInstanceOf(DuplicateIdempotencyKeyError);
      expect(reasonOf(outcomes[5])).toBeInstanceOf(DuplicateIdempotencyKeyError);
      expect(String(reasonOf(outcomes[6]))).toMatch(/UNIQUE constraint failed: events.event_id/);
      expect(outcomes[7]).toMatchObject({ value: { nextVersion: 3 } });

      for (const streamId of ['c', 'e', 'f']) expect(await store.streamVersion(streamId)).toBe(0);
      expectValidChain(await store.readStream('a'));
      // The failed insert was rolled back to its savepoint without leaving a gap.
      const written = await store.readAll(2n, 100);
      expect(written.map((event) => event.globalPosition)).toEqual([3n, 4n, 5n, 6n]);
    });

    test('when the transaction itself fails, every caller of the batch gets the error', async () => {
      // Another connection holds the write lock for longer than the busy timeout (5 s).
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');

      const outcomes = await Promise.allSettled([
        store.appendToStream('a', [newEvent()], 'any'),
        store.appendToStream('b', [newEvent()], 'any'),
      ]);
      other.exec('ROLLBACK');
      other.close();

      expect(outcomes.map((outcome) => String(reasonOf(outcome)))).toEqual([
        'SqliteError: database is locked',
        'SqliteError: database is locked',
      ]);
      expect(await store.headPosition()).toBeNull();
      await expect(store.appendToStream('a', [newEvent()], 'no-stream')).resolves.toEqual({
        nextVersion: 1,
        position: 1n,
      });
    }, 15_000);
  });

  describe('appending', () => {
    test('an empty append writes nothing and reports the current version and head position', async () => {
      await store.appendToStream('a', [newEvent(), newEvent()], 'no-stream');
      await store.appendToStream('b', [newEvent()], 'no-stream');

      await expect(store.appendToStream('a', [], 2)).resolves.toEqual({ nextVersion: 2, position: 3n });
      await expect(store.appendToStream('new', [], 'no-stream')).resolves.toEqual({
        nextVersion: 0,
        position: 3n,
      });
      await expect(store.appendToStream('a', [], 1)).rejects.toBeInstanceOf(VersionConflictError);
      expect(await store.headPosition()).toBe(3n);
    });

    test('invalid appends are refused before anything is written', async () => {
      const invalid: [string, unknown[], unknown][] = [
        ['', [newEvent()], 'any'],
        ['a', [{ ...newEvent(), eventId: '' }], 'any'],
        ['a', [{ ...newEvent(), type: undefined }], 'any'],
        ['a', [{ ...newEvent(), data: null }], 'any'],
        ['a', [newEvent(), newEvent({ idempotencyKey: 'k' })], 'any'],
        ['a', [newEvent()], -1],
        ['a', [newEvent()], 'latest'],
      ];
      for (const [streamId, events, expected] of invalid) {
        // @ts-expect-error -- what a JavaScript caller or a bug could pass
        await expect(store.appendToStream(streamId, events, expected)).rejects.toBeInstanceOf(TypeError);
      }
      expect(await store.headPosition()).toBeNull();
    });

    test('undefined optional fields are stored as null and the chain still verifies', async () => {
      const { causationId: _, ...withoutCausation } = newEvent();
      const event = { ...withoutCausation, data: { at: new Date(0), skipped: undefined } };

      // @ts-expect-error -- a JavaScript caller may leave causationId out and put a Date in data
      await store.appendToStream('a', [event], 'no-stream');

      const [stored] = await store.readStream('a');
      expect(stored.causationId).toBeNull();
      expect(stored.data).toEqual({ at: '1970-01-01T00:00:00.000Z' });
      expectValidChain([stored]);
    });
  });

  describe('the file', () => {
    test('events survive close and reopen, and the schema version is recorded', async () => {
      await store.appendToStream('a', [newEvent(), newEvent()], 'no-stream');
      await store.close();

      store = SqliteEventStore.open(file);

      const stored = await store.readStream('a');
      expect(stored).toHaveLength(2);
      expectValidChain(stored);
      await store.appendToStream('a', [newEvent()], 2);
      expectValidChain(await store.readStream('a'));
      const raw = new Database(file, { readonly: true });
      expect(raw.pragma('user_version', { simple: true })).toBe(1);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      raw.close();
      // Internal notes are in it: readable by its owner only, its log too.
      for (const name of [file, `${file}-wal`]) expect(statSync(name).mode & 0o777).toBe(0o600);
    });

    test('an event whose data is not JSON (changed outside the ledger) is named by the reads that meet it', async () => {
      await store.appendToStream('a', [newEvent(), newEvent()], 'no-stream');
      await store.appendToStream('b', [newEvent()], 'no-stream');
      const raw = new Database(file);
      raw.prepare(`UPDATE events SET data = '{"summary": "cut' WHERE global_position IN (2, 3)`).run();
      raw.close();
      const named = (position: number, stream: string, version: number) => ({
        name: 'MalformedEventError',
        message:
          `${file}: the event at position ${position} (stream ${stream}, version ${version}) holds data that ` +
          'is not JSON: the file was changed outside the ledger',
      });

      await expect(store.readAll(null, 10)).rejects.toMatchObject(named(2, 'a', 2));
      await expect(store.readStream('a')).rejects.toMatchObject(named(2, 'a', 2));
      // Each read names the first such event among its own.
      await expect(store.readStream('b')).rejects.toMatchObject(named(3, 'b', 1));
      await expect(store.readAll(2n, 10)).rejects.toMatchObject(named(3, 'b', 1));
    });

    test('ping reads the file: a damaged one fails it', async () => {
      for (let n = 0; n < 50; n++) await store.appendToStream(`s${n}`, [newEvent()], 'no-stream');
      await store.close();
      const bytes = readFileSync(file);
      // Every page but the first (the header SQLite reads on opening) overwritten.
      bytes.fill(0xff, 4096);
      writeFileSync(file, bytes);
      store = SqliteEventStore.open(file);

      await expect(store.ping()).rejects.toMatchObject({
        code: expect.stringMatching(/^SQLITE_(CORRUPT|NOTADB)/),
      });
    });

    test('a file with a newer schema version is refused', async () => {
      await store.close();
      const raw = new Database(file);
      raw.pragma('user_version = 99');
      raw.close();

      expect(() => SqliteEventStore.open(file)).toThrow(/schema version 99/);
      store = SqliteEventStore.open(join(dir, 'other.db'));
    });

    test('close finishes queued appends; later appends are refused', async () => {
      const queued = store.appendToStream('a', [newEvent()], 'no-stream');

      await store.close();

      await expect(queued).resolves.toEqual({ nextVersion: 1, position: 1n });
      await expect(store.appendToStream('a', [newEvent()], 1)).rejects.toThrow('SqliteEventStore is closed');
      await expect(store.ping()).rejects.toThrow();
      store = SqliteEventStore.open(file);
      expect(await store.streamVersion('a')).toBe(1);
    });

    test('acknowledged appends survive a SIGKILL of the writing process', async () => {
      compileForChildProcess(['libs/event-store/sqlite/sqlite-event-store.ts'], join(dir, 'build'));
      const modulePath = join(dir, 'build/libs/event-store/sqlite/sqlite-event-store.js');
      const child = spawn(
        process.execPath,
        [join(repoRoot, 'libs/event-store/sqlite/testing/append-forever.mjs'), modulePath, file, '8'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let output = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        if (output.split('\n').length > 400) child.kill('SIGKILL');
      });
      const [, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('close', (code, killedBy) => resolve([code, killedBy])),
      );
      expect(signal).toBe('SIGKILL');
      // SIGKILL proves "acknowledged means committed" and that the file is sound after an abrupt
      // end; surviving a power cut on top of that is synchronous=FULL's job.
      const acks = output
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => line.split(' '));
      expect(acks.length).toBeGreaterThanOrEqual(400);

      const stored = await store.readAll(null, 1_000_000);
      const byPosition = new Map(stored.map((event) => [event.globalPosition, event]));
      for (const [streamId, version, position, eventId] of acks) {
        expect(byPosition.get(BigInt(position))).toMatchObject({
          streamId,
          streamVersion: Number(version),
          eventId,
        });
      }
      expect(stored.map((event) => event.globalPosition)).toEqual(stored.map((_, i) => BigInt(i + 1)));
      for (let i = 0; i < 8; i++) {
        const stream = await store.readStream(`crash-${i}`);
        expect(stream.map((event) => event.data.version)).toEqual(stream.map((_, version) => version));
        expectValidChain(stream);
      }
    }, 30_000);
  });

  describe('subscriptions', () => {
    test('a subscription leaves no timer or listener behind once aborted', async () => {
      await pause(20); // lets timers of the set-up settle
      const timersBefore = activeTimers();
      const abort = new AbortController();
      const received: StoredEvent[] = [];
      const consumer = (async () => {
        for await (const event of store.subscribe(null, { signal: abort.signal })) received.push(event);
      })();
      await store.appendToStream('a', [newEvent()], 'no-stream');
      // Once the event arrived, give the subscription time to start waiting for the next one.
      while (received.length === 0) await pause(5);
      await pause(20);
      expect(activeTimers()).toBe(timersBefore + 1); // the poll, while it waits

      abort.abort();
      await consumer;

      expect(activeTimers()).toBe(timersBefore);
      expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    });

    test('a live subscription sees events another connection to the file commits', async () => {
      const other = SqliteEventStore.open(file);
      const subscription = store.subscribe(null);
      const next = subscription.next();

      const event = newEvent();
      await other.appendToStream('from-elsewhere', [event], 'no-stream');

      await expect(next).resolves.toMatchObject({ done: false, value: { eventId: event.eventId } });
      await subscription.return();
      await other.close();
    });

    test('live subscriptions share one read of the log per commit, however many there are', async () => {
      // A hundred that want nothing of what is written (events(types: ["IncidentClosed"]), say) and
      // one that wants it all.
      const abort = new AbortController();
      // One signal for all 101: not a leak, which Node would warn of past 10 listeners.
      setMaxListeners(0, abort.signal);
      const idle = Array.from({ length: 100 }, () =>
        store.subscribe(null, { signal: abort.signal, filter: () => false }).next(),
      );
      const received: StoredEvent[] = [];
      const follower = (async () => {
        for await (const event of store.subscribe(null, { signal: abort.signal })) received.push(event);
      })();
      while (store.stats.liveSubscriptions < 101) await new Promise((resolve) => setImmediate(resolve));
      const before = store.stats;

      for (let n = 0; n < 20; n++) await store.appendToStream(`s-${n}`, [newEvent()], 'no-stream');
      while (received.length < 20) await pause(5);

      const commits = store.stats.flushes - before.flushes;
      expect(commits).toBe(20);
      expect(store.stats.subscriptionReads - before.subscriptionReads).toBeLessThanOrEqual(commits);
      abort.abort();
      await Promise.all([...idle, follower]);
      expect(store.stats.liveSubscriptions).toBe(0);
    });

    test('a live subscription that falls a page behind reads on from the log: nothing missed, nothing twice', async () => {
      const subscription = store.subscribe(null);
      const first = subscription.next();
      await store.appendToStream('first', [newEvent()], 'no-stream');
      await first;
      expect(store.stats.liveSubscriptions).toBe(1);

      // It takes nothing while 1,200 events are written in 60 commits: the tail lets it go.
      for (let n = 0; n < 60; n++) {
        await store.appendToStream(
          `burst-${n}`,
          Array.from({ length: 20 }, () => newEvent()),
          'no-stream',
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(store.stats.liveSubscriptions).toBe(0);

      const positions: bigint[] = [];
      while (positions.length < 1_200) positions.push((await subscription.next()).value!.globalPosition);
      expect(positions).toEqual(Array.from({ length: 1_200 }, (_, n) => BigInt(n + 2)));
      // Caught up again, it follows the tail again.
      const next = subscription.next();
      await store.appendToStream('after', [newEvent()], 'no-stream');
      expect((await next).value!.globalPosition).toBe(1_202n);
      expect(store.stats.liveSubscriptions).toBe(1);
      await subscription.return();
    });

    test('closing the store ends its subscriptions', async () => {
      const next = store.subscribe(null).next();

      await store.close();

      await expect(next).resolves.toEqual({ done: true, value: undefined });
    });
  });
});

function reasonOf(outcome: PromiseSettledResult<unknown>): unknown {
  return outcome.status === 'rejected' ? outcome.reason : undefined;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}
