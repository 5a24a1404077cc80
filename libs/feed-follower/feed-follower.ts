import type { EventStore, StoredEvent } from '../event-store/index.js';

/** What a FeedFollower drives: a checkpoint and the work that moves it. */
export interface FeedConsumer {
  /** The checkpoint as stored (null = before the first event); read at start and after every failure. */
  readCheckpoint(): bigint | null;
  /**
   * Handles a batch and stores its last position as the new checkpoint, atomically with the work
   * it records, so that a crash at any instant loses nothing. Must fail when the stored checkpoint
   * is no longer `from` (another writer moved it).
   */
  handleBatch(events: StoredEvent[], from: bigint | null): void | Promise<void>;
}

export interface FeedFollowerOptions {
  /** The most events one batch holds (default 200). */
  batchSize?: number;
  /** Pause before following the feed again after a failure (default 1,000 ms). */
  retryDelayMs?: number;
  onError?: (error: unknown) => void;
}

/** A consumer's file has handled the log further than the event store goes (see assertWithinLog). */
export class CheckpointAheadOfLogError extends Error {
  constructor(file: string, checkpoint: bigint, head: bigint | null, advice: string) {
    super(
      `${file} has handled the event log up to position ${checkpoint}, but the event store ` +
        `${head === null ? 'is empty' : `ends at ${head}`}. Either the log lost its newest events (removed: ` +
        '`cli verify` names their positions, and this file shows they existed: keep a copy of it), or the ' +
        `file is not of this store's history (restored out of order, or another store's). ${advice}`,
    );
    this.name = 'CheckpointAheadOfLogError';
  }
}

/**
 * Follows the event store's feed for a consumer (the read models' projection runner, the webhook
 * and notification dispatchers): catch-up from the consumer's stored checkpoint, then live, in
 * batches of what is immediately available. After a failure it waits and resumes from the stored
 * checkpoint, which is the truth.
 */
export class FeedFollower {
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private handled: bigint | null;
  private readonly reached = new Set<{ position: bigint; settle: (reached: boolean) => void }>();
  private stopping: AbortController | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly consumer: FeedConsumer,
    private readonly options: FeedFollowerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.handled = consumer.readCheckpoint();
  }

  /**
   * Before start: CheckpointAheadOfLogError when the consumer's checkpoint is past the store's head.
   * Its `file` is then not of this store's history (restored out of order, or another store's), and
   * following on would skip every event appended at a position it takes for handled.
   */
  async assertWithinLog(file: string, advice: string): Promise<void> {
    const checkpoint = this.consumer.readCheckpoint();
    if (checkpoint === null) return;
    const head = await this.store.headPosition();
    if (head === null || checkpoint > head)
      throw new CheckpointAheadOfLogError(file, checkpoint, head, advice);
  }

  start(): void {
    if (this.loop) return;
    this.stopping = new AbortController();
    this.loop = this.followUntil(this.stopping.signal);
  }

  /** Returns once the batch in hand is handled; whoever waits for a later position is answered false. */
  async stop(): Promise<void> {
    this.stopping?.abort();
    await this.loop;
    this.loop = null;
    for (const entry of this.reached) entry.settle(false);
  }

  /**
   * Resolves true once the event at `position` is handled; false after `timeoutMs`, or as soon as
   * the follower is stopped (it will not get there, and shutdown must not wait out the timeout).
   */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    if (this.handled !== null && this.handled >= position) return Promise.resolve(true);
    if (!this.loop) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (reached: boolean) => {
        clearTimeout(timer);
        this.reached.delete(entry);
        resolve(reached);
      };
      const entry = { position, settle };
      const timer = setTimeout(() => settle(false), timeoutMs);
      this.reached.add(entry);
    });
  }

  private async followUntil(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.followOnce(signal);
      } catch (error) {
        this.options.onError?.(error);
        await pause(this.retryDelayMs, signal);
      }
    }
  }

  private async followOnce(signal: AbortSignal): Promise<void> {
    this.markHandled(this.consumer.readCheckpoint());
    const subscription = new AbortController();
    try {
      const feed = this.store.subscribe(this.handled, {
        signal: AbortSignal.any([signal, subscription.signal]),
      });
      for await (const batch of inBatches(feed, this.batchSize)) {
        await this.consumer.handleBatch(batch, this.handled);
        this.markHandled(batch[batch.length - 1].globalPosition);
      }
    } finally {
      subscription.abort();
    }
    if (!signal.aborted) throw new Error("The event store's feed ended");
  }

  private markHandled(position: bigint | null): void {
    this.handled = position;
    if (position === null) return;
    for (const entry of this.reached) if (entry.position <= position) entry.settle(true);
  }
}

/**
 * Groups an endless feed into batches: each holds what has arrived by the next turn of the event
 * loop, up to `maxSize`, so that a catch-up commits in large transactions and a live follower
 * handles every event as soon as it arrives. After a full batch it lets a turn of the event loop
 * pass, so that a long catch-up does not hold up the server's requests. The caller ends the
 * source (by its abort signal).
 */
export async function* inBatches<T>(source: AsyncIterable<T>, maxSize: number): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  // The next read starts before a batch goes out: one that fails meanwhile must wait, handled, for
  // the loop's await (unhandled, it would end the process instead of reaching the caller's retry).
  const read = () => {
    const next = iterator.next();
    next.catch(() => undefined);
    return next;
  };
  let pending = read();
  for (;;) {
    const first = await pending;
    if (first.done) return;
    const batch = [first.value];
    pending = read();
    let ended = false;
    while (batch.length < maxSize) {
      const next = await Promise.race([pending, turnEnd()]);
      if (next === TURN_END) break;
      if (next.done) {
        ended = true;
        break;
      }
      batch.push(next.value);
      pending = read();
    }
    yield batch;
    if (ended) return;
    if (batch.length === maxSize) await turnEnd();
  }
}

const TURN_END = Symbol('turn end');

function turnEnd(): Promise<typeof TURN_END> {
  return new Promise((resolve) => setImmediate(resolve, TURN_END));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    }
  });
}
