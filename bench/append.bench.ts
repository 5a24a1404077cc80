import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NewEvent } from '../libs/event-store/event-store.js';
import { SqliteEventStore } from '../libs/event-store/sqlite/sqlite-event-store.js';
import { stepProgress } from './bench-tools.js';

const SEQUENTIAL_EVENTS = 2_000;
const CONCURRENT_EVENTS = 20_480; // 320 per writer
const WRITERS = 64;

/**
 * Issue 2: what the event store costs over plain SQLite inserts of the same rows, both with
 * WAL and synchronous=FULL in a temporary directory.
 *  (a) one row per transaction vs one sequential writer;
 *  (b) 64 rows per transaction vs 64 concurrent writers (group commit).
 */
export async function benchAppend(report: (line: string) => void): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-append-'));
  try {
    const rate = async (name: string, events: number, run: (progress: Progress) => Promise<unknown>) => {
      const progress = stepProgress(name);
      const started = performance.now();
      await run((done) => progress.update(done / events));
      const perSecond = events / ((performance.now() - started) / 1000);
      progress.done();
      report(`${name}: ${events} events, ${Math.round(perSecond)} appends/s`);
      return perSecond;
    };
    const sequentialRaw = await rate('raw insert, 1 row per transaction', SEQUENTIAL_EVENTS, (progress) =>
      rawInserts(join(dir, 'raw-sequential.db'), SEQUENTIAL_EVENTS, 1, progress),
    );
    const sequentialStore = await rate('store, 1 sequential writer', SEQUENTIAL_EVENTS, (progress) =>
      storeAppends(join(dir, 'store-sequential.db'), SEQUENTIAL_EVENTS, 1, progress),
    );
    const batchedRaw = await rate(
      `raw insert, ${WRITERS} rows per transaction`,
      CONCURRENT_EVENTS,
      (progress) => rawInserts(join(dir, 'raw-batched.db'), CONCURRENT_EVENTS, WRITERS, progress),
    );
    let averageBatch = 0;
    const concurrentStore = await rate(
      `store, ${WRITERS} concurrent writers`,
      CONCURRENT_EVENTS,
      async (progress) => {
        averageBatch = await storeAppends(
          join(dir, 'store-concurrent.db'),
          CONCURRENT_EVENTS,
          WRITERS,
          progress,
        );
      },
    );

    const row = (label: string, raw: number, ours: number) =>
      `| ${label} | ${Math.round(raw)} | ${Math.round(ours)} | ${Math.round((ours / raw) * 100)}% |`;
    report('');
    report('| workload | raw better-sqlite3 (appends/s) | our store (appends/s) | ours / raw |');
    report('| --- | ---: | ---: | ---: |');
    report(
      row(`1 writer, ${SEQUENTIAL_EVENTS} events (raw: 1 row/transaction)`, sequentialRaw, sequentialStore),
    );
    report(
      row(
        `${WRITERS} writers, ${CONCURRENT_EVENTS} events (raw: ${WRITERS} rows/transaction)`,
        batchedRaw,
        concurrentStore,
      ),
    );
    report('');
    report(
      `Average group commit with ${WRITERS} writers: ${averageBatch.toFixed(1)} appends per transaction.`,
    );
    return {
      sequentialRaw,
      sequentialStore,
      sequentialRatio: sequentialStore / sequentialRaw,
      batchedRaw,
      concurrentStore,
      concurrentRatio: concurrentStore / batchedRaw,
      averageBatch,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Called with the number of events done so far. */
type Progress = (done: number) => void;

/** The same kind of event for both sides: a status update of about 300 bytes of JSON. */
function benchEvent(): NewEvent {
  return {
    eventId: randomUUID(),
    type: 'CustomerUpdatePublished',
    schemaVersion: 1,
    data: {
      status: 'IDENTIFIED',
      message: 'We have identified the cause of the elevated error rates and are rolling out a fix.',
      channels: ['EMAIL', 'WEBSITE', 'IN_APP'],
      visibility: 'PUBLIC',
      nextUpdateInMinutes: 30,
    },
    occurredAt: new Date().toISOString(),
    actor: 'bench',
    correlationId: randomUUID(),
    causationId: null,
    idempotencyKey: null,
    requestFingerprint: null,
  };
}

/** Inserts pre-built rows (JSON and hash included) into the store's schema, `perTransaction` at a time. */
async function rawInserts(
  file: string,
  count: number,
  perTransaction: number,
  progress: Progress,
): Promise<void> {
  // The store creates the schema (and WAL mode, which is kept in the file); then it steps aside.
  await SqliteEventStore.open(file).close();
  const db = new Database(file);
  db.pragma('synchronous = FULL');
  const insert = db.prepare(
    `INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, recorded_at,
       occurred_at, actor, correlation_id, causation_id, idempotency_key, request_fingerprint, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const rows = Array.from({ length: count }, (_, i) => {
    const event = benchEvent();
    const stream = i % perTransaction;
    return [
      event.eventId,
      `bench-${stream}`,
      Math.floor(i / perTransaction) + 1,
      event.type,
      event.schemaVersion,
      JSON.stringify(event.data),
      new Date().toISOString(),
      event.occurredAt,
      event.actor,
      event.correlationId,
      event.causationId,
      event.idempotencyKey,
      event.requestFingerprint,
      randomBytes(32).toString('hex'),
    ];
  });
  const insertMany = db.transaction((batch: unknown[][]) => {
    for (const row of batch) insert.run(row);
  });
  for (let i = 0; i < count; i += perTransaction) {
    insertMany(rows.slice(i, i + perTransaction));
    progress(i + perTransaction);
  }
  db.close();
}

/**
 * `writers` loops, each appending one event at a time to its own stream with the exact
 * expected version. Returns the average number of appends per transaction.
 */
async function storeAppends(
  file: string,
  count: number,
  writers: number,
  progress: Progress,
): Promise<number> {
  const store = SqliteEventStore.open(file);
  const perWriter = count / writers;
  const events = Array.from({ length: count }, benchEvent);
  let done = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let version = 0; version < perWriter; version++) {
        await store.appendToStream(`bench-${writer}`, [events[writer * perWriter + version]], version);
        progress(++done);
      }
    }),
  );
  const { appends, flushes } = store.stats;
  await store.close();
  return appends / flushes;
}
