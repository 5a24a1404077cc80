import type Database from 'better-sqlite3';
import type { EventStore, StoredEvent } from '../event-store/index.js';
import { ReadModelWriter } from './projections/read-model-writer.js';
import { checkpointedBatch, readCheckpoint, type CheckpointedBatch } from '../feed-follower/local-db.js';
import { registerProjector, unregisterProjector } from './read-model-db.js';
import type { ProjectionStatus } from './read-model.types.js';

/** The read models did not reach a position in time (read-your-writes gave up). */
export class ConsistencyTimeoutError extends Error {
  constructor(
    readonly position: bigint,
    readonly checkpoint: bigint | null,
    readonly timeoutMs: number,
  ) {
    super(
      `The read models did not reach position ${position} within ${timeoutMs} ms ` +
        `(they are at ${checkpoint ?? 'the start'})`,
    );
    this.name = 'ConsistencyTimeoutError';
  }
}

/** Reported after every committed batch. */
export interface ProjectionProgress {
  /** Position of the last event applied. */
  checkpoint: bigint;
  /** Events in the batch just committed. */
  applied: number;
}

export interface ProjectionRunnerOptions {
  /** The most events one transaction applies (default 500). */
  batchSize?: number;
  /** Pause before following the log again after a failure (default 1,000 ms). */
  retryDelayMs?: number;
}

interface Waiter {
  position: bigint;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

const IDLE = Symbol('idle');

/**
 * Keeps the read models up to date: follows the event store's feed from the stored checkpoint
 * (catch-up, then live) and applies it in batches, each batch and its new checkpoint in one
 * transaction, so that a crash at any instant neither loses nor applies twice any event.
 *
 * A batch is what is immediately available: events are gathered until the feed has nothing more
 * before the next turn of the event loop, or `batchSize` is reached. If a batch fails (a bug, the
 * disk, another writer), the runner reports it to `onError` listeners, waits, and follows the log
 * again from the checkpoint in the file.
 */
export class ProjectionRunner {
  private readonly writer: ReadModelWriter;
  private readonly commit: CheckpointedBatch;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private checkpoint: bigint | null;
  private readonly waiters = new Set<Waiter>();
  private readonly progressListeners = new Set<(progress: ProjectionProgress) => void>();
  private readonly errorListeners = new Set<(error: unknown) => void>();
  private abort: AbortController | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly db: Database.Database,
    options: ProjectionRunnerOptions = {},
  ) {
    this.writer = new ReadModelWriter(db);
    this.commit = checkpointedBatch(db, (events) => {
      this.writer.apply(events);
      this.writer.flush();
    });
    this.batchSize = options.batchSize ?? 500;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.checkpoint = readCheckpoint(db);
  }

  /** Starts following the log; does nothing if already started. */
  start(): void {
    if (this.running !== null) return;
    registerProjector(this.db);
    const abort = new AbortController();
    this.abort = abort;
    this.running = this.run(abort.signal);
  }

  /** Stops following the log once the batch in hand is committed. */
  async stop(): Promise<void> {
    if (this.running === null) return;
    this.abort!.abort();
    await this.running;
    this.running = null;
    unregisterProjector(this.db);
  }

  /** The checkpoint in the file, the store's head and the lag between them. */
  status(): Promise<ProjectionStatus> {
    return projectionStatus(this.store, this.db);
  }

  /**
   * Resolves once the read models have applied the event at `position`; rejects with
   * ConsistencyTimeoutError after `timeoutMs`.
   */
  waitForPosition(position: bigint, timeoutMs: number): Promise<void> {
    if (this.checkpoint !== null && this.checkpoint >= position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        position,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new ConsistencyTimeoutError(position, this.checkpoint, timeoutMs));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Calls `listener` after every committed batch; returns the function that unsubscribes it. */
  onProgress(listener: (progress: ProjectionProgress) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** Calls `listener` with every failure (the runner retries by itself); returns the unsubscriber. */
  onError(listener: (error: unknown) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.follow(signal);
      } catch (error) {
        for (const listener of this.errorListeners) listener(error);
        await pause(this.retryDelayMs, signal);
      }
    }
  }

  /** Follows the feed until `signal` aborts (returns) or something fails (throws). */
  private async follow(signal: AbortSignal): Promise<void> {
    // The file is the truth: after a failure, another writer may have moved the checkpoint.
    this.advanceTo(readCheckpoint(this.db));
    // Ends the subscription when this call ends, however it ends.
    const done = new AbortController();
    const feed = this.store
      .subscribe(this.checkpoint, { signal: AbortSignal.any([signal, done.signal]) })
      [Symbol.asyncIterator]();
    let next = feed.next();
    try {
      let batch: StoredEvent[] = [];
      for (;;) {
        const result = batch.length === 0 ? await next : await Promise.race([next, nextTurn()]);
        if (result === IDLE) {
          // Nothing more is immediately available.
          this.commitBatch(batch);
          batch = [];
          continue;
        }
        if (result.done) break;
        batch.push(result.value);
        next = feed.next();
        if (batch.length >= this.batchSize) {
          this.commitBatch(batch);
          batch = [];
          // Lets the server's requests run between the batches of a long catch-up.
          await nextTurn();
        }
      }
      // What was gathered is committed, so that stop() loses no work.
      if (batch.length > 0) this.commitBatch(batch);
      // The feed never ends on its own; it does when the store is closed under the runner.
      if (!signal.aborted) throw new Error("The event store's feed ended");
    } finally {
      done.abort();
      // A read still pending when a batch failed ends with the subscription; its outcome is moot.
      next.catch(() => undefined);
    }
  }

  private commitBatch(batch: StoredEvent[]): void {
    this.commit(batch, this.checkpoint);
    const checkpoint = batch[batch.length - 1].globalPosition;
    this.advanceTo(checkpoint);
    for (const listener of this.progressListeners) listener({ checkpoint, applied: batch.length });
  }

  /** Notes the checkpoint in the file and releases the waiters it satisfies. */
  private advanceTo(checkpoint: bigint | null): void {
    this.checkpoint = checkpoint;
    if (checkpoint === null) return;
    for (const waiter of this.waiters) {
      if (waiter.position <= checkpoint) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }
}

/** The checkpoint in the read-model file, the store's head and the lag between them. */
export async function projectionStatus(store: EventStore, db: Database.Database): Promise<ProjectionStatus> {
  const checkpoint = readCheckpoint(db);
  const head = await store.headPosition();
  return { checkpoint, head, lag: head === null ? 0n : head - (checkpoint ?? 0n) };
}

/** Resolves after the current turn of the event loop (the I/O already waiting runs first). */
function nextTurn(): Promise<typeof IDLE> {
  return new Promise((resolve) => setImmediate(() => resolve(IDLE)));
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
