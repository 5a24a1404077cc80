import type Database from 'better-sqlite3';
import type { EventStore } from '../event-store/index.js';
import { FeedFollower } from '../feed-follower/feed-follower.js';
import { checkpointedBatch, readCheckpoint } from '../feed-follower/local-db.js';
import { ReadModelWriter } from './projections/read-model-writer.js';
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

/**
 * Keeps the read models up to date: a FeedFollower follows the event store's feed from the
 * stored checkpoint (catch-up, then live) and the runner applies each batch and its new
 * checkpoint in one transaction, so that a crash at any instant neither loses nor applies twice
 * any event.
 *
 * If a batch fails (a bug, the disk, another writer), the runner reports it to `onError`
 * listeners, waits, and follows the log again from the checkpoint in the file.
 */
export class ProjectionRunner {
  private readonly follower: FeedFollower;
  private checkpoint: bigint | null;
  private readonly waiters = new Set<Waiter>();
  private readonly progressListeners = new Set<(progress: ProjectionProgress) => void>();
  private readonly errorListeners = new Set<(error: unknown) => void>();
  private running = false;

  constructor(
    private readonly store: EventStore,
    private readonly db: Database.Database,
    options: ProjectionRunnerOptions = {},
  ) {
    let writer = new ReadModelWriter(db);
    const commit = checkpointedBatch(db, (events) => {
      writer.apply(events);
      writer.flush();
    });
    this.checkpoint = readCheckpoint(db);
    this.follower = new FeedFollower(
      store,
      {
        // The file is the truth: after a failure, another writer may have moved the checkpoint.
        readCheckpoint: () => {
          this.advanceTo(readCheckpoint(db));
          return this.checkpoint;
        },
        handleBatch: (events, from) => {
          try {
            commit(events, from);
          } catch (error) {
            // The transaction rolled the file back, not what the writer folded in memory: the
            // retry must start from the file alone, or it would fold the batch in twice.
            writer = new ReadModelWriter(db);
            throw error;
          }
          const checkpoint = events[events.length - 1].globalPosition;
          this.advanceTo(checkpoint);
          for (const listener of this.progressListeners) listener({ checkpoint, applied: events.length });
        },
      },
      {
        batchSize: options.batchSize ?? 500,
        retryDelayMs: options.retryDelayMs,
        onError: (error) => {
          for (const listener of this.errorListeners) listener(error);
        },
      },
    );
  }

  /** Before start: CheckpointAheadOfLogError when the read models are ahead of the event store. */
  assertWithinLog(): Promise<void> {
    return this.follower.assertWithinLog(
      this.db.name,
      'It holds only derived data: delete it (with its -wal and -shm files), or run rebuild.',
    );
  }

  /** Starts following the log; does nothing if already started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.follower.start();
  }

  /** Stops following the log once the batch in hand is committed. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.follower.stop();
    this.running = false;
  }

  /** The checkpoint in the file, the store's head and the lag between them. */
  status(): Promise<ProjectionStatus> {
    return projectionStatus(this.store, this.db);
  }

  /**
   * Resolves once the read models have applied the event at `position`; rejects with
   * ConsistencyTimeoutError after `timeoutMs`. Unlike a dispatcher's waiters, these wait out
   * their time even while the runner is stopped: a restart within it still answers them.
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

/**
 * The checkpoint in the read-model file (`db`; null when there is none yet: nothing applied), the
 * store's head and the lag between them.
 */
export async function projectionStatus(
  store: EventStore,
  db: Database.Database | null,
): Promise<ProjectionStatus> {
  const checkpoint = db === null ? null : readCheckpoint(db);
  const head = await store.headPosition();
  return { checkpoint, head, lag: head === null ? 0n : head - (checkpoint ?? 0n) };
}
