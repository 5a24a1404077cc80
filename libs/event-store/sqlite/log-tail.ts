import type { StoredEvent } from '../event-store.js';

/** A live subscription, as the tail hands events over to it. */
export interface Follower {
  /** Every event up to this position was queued for it or is one it does not want. */
  position: bigint;
  readonly wanted: (event: StoredEvent) => boolean;
  /** What the tail read for it and it has not taken yet. */
  readonly queue: StoredEvent[];
  /** Let go by the tail (it fell too far behind, or the store closed): it reads on from the log. */
  detached: boolean;
  wake: (() => void) | null;
}

export interface LogTailOptions {
  /** Events read at once from the log. */
  pageSize: number;
  /** Events waiting for one follower, at most; past that it is let go and reads from the log. */
  queueLimit: number;
  /** How often to look for commits of other processes, while anyone follows. */
  pollIntervalMs: number;
}

/**
 * One reader of the log's newest events for every live subscription of a store: after a commit
 * it reads the new events once and hands each to the subscriptions that want it. A subscription
 * that wants none of them is not woken, and adds no read: subscribers cost the writers nothing
 * but that one read per commit, whatever their number.
 *
 * A subscription joins once it has read the log to its end, in the same synchronous step as that
 * read (`join(position)` with the last position it read): the tail is never ahead of it then,
 * and it is handed every event after that position, none twice. One that falls behind by more
 * than `queueLimit` events is let go: it takes what was queued, then reads on from the log at its
 * own pace, and joins again once it catches up. The events wait in the log, not in memory.
 */
export class LogTail {
  private readonly followers = new Set<Follower>();
  /** The last position read (from the head as the first follower joined). */
  private position = 0n;
  private scheduled = false;
  private poll: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    /** The log after a position, up to `limit` events, read synchronously. */
    private readonly read: (after: bigint, limit: number) => StoredEvent[],
    /** Whether another process may have committed since the last call. */
    private readonly changedElsewhere: () => boolean,
    private readonly options: LogTailOptions,
  ) {}

  /** Live subscriptions. */
  get size(): number {
    return this.followers.size;
  }

  /**
   * Follows the log after `position`, which must be the end of the log as the caller has just
   * read it, with no await in between: no commit can have come between that read and this join.
   */
  join(position: bigint, wanted: (event: StoredEvent) => boolean): Follower {
    const follower: Follower = { position, wanted, queue: [], detached: false, wake: null };
    if (this.closed || (this.followers.size > 0 && position < this.position)) {
      // Nothing to follow; or the tail already handed out events after `position` (the caller
      // did not read to the end): let it read them from the log.
      follower.detached = true;
      return follower;
    }
    if (this.followers.size === 0) {
      this.position = position;
      this.poll = setInterval(() => {
        if (this.changedElsewhere()) this.catchUp();
      }, this.options.pollIntervalMs);
    }
    this.followers.add(follower);
    return follower;
  }

  leave(follower: Follower): void {
    if (!this.followers.delete(follower) || this.followers.size > 0) return;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  /** This process committed: the new events are read once, after the committing callers have their answers. */
  committed(): void {
    if (this.scheduled || this.followers.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.catchUp();
    });
  }

  /** The store is closing: every follower is let go (and finds the store closed). */
  close(): void {
    this.closed = true;
    for (const follower of [...this.followers]) this.detach(follower);
  }

  private catchUp(): void {
    while (!this.closed && this.followers.size > 0) {
      let page: StoredEvent[];
      try {
        page = this.read(this.position, this.options.pageSize);
      } catch {
        // A read that fails (a row changed outside the ledger) fails each subscription: let them
        // go, to read on from the log themselves and meet the error where their consumers see it.
        for (const follower of [...this.followers]) this.detach(follower);
        return;
      }
      for (const event of page) {
        this.position = event.globalPosition;
        for (const follower of this.followers) this.handOver(follower, event);
      }
      if (page.length < this.options.pageSize) return;
    }
  }

  private handOver(follower: Follower, event: StoredEvent): void {
    if (event.globalPosition <= follower.position) return;
    let wanted: boolean;
    try {
      wanted = follower.wanted(event);
    } catch {
      // A filter that throws (it must not) fails its own subscription only, as it reads on.
      this.detach(follower);
      return;
    }
    if (wanted) {
      if (follower.queue.length >= this.options.queueLimit) {
        this.detach(follower);
        return;
      }
      follower.queue.push(event);
      follower.wake?.();
    }
    follower.position = event.globalPosition;
  }

  private detach(follower: Follower): void {
    follower.detached = true;
    this.leave(follower);
    follower.wake?.();
  }
}
