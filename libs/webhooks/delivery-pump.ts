import { setMaxListeners } from 'node:events';
import { pause } from '../feed-follower/feed-follower.js';

/** How long a delivery whose attempt threw waits before it may go again. */
const FAILURE_PAUSE_MS = 1_000;

/** An outbox the pump drains: deliveries grouped in lanes (a webhook endpoint, a notification channel). */
export interface Outbox<T extends { id: string }> {
  /** The lanes that may have work. */
  lanes(): string[];
  /**
   * Up to `limit` deliveries of `lane` whose next attempt is due at `now` and that may go now:
   * each the oldest open one of its ordered stream (a delivery waits for the previous one of the
   * same lane and stream to succeed or give up).
   */
  due(lane: string, now: number, limit: number): T[];
  /** The earliest instant after `now` at which an open delivery becomes due; null if none. */
  nextDueAfter(now: number): number | null;
  /**
   * Makes one attempt and records its outcome. The attempt should be counted durably before it
   * goes, so that one the process dies during still counts (its number, the backoff, the give-up)
   * after the restart. When `signal` aborts (shutdown) it should end the attempt promptly and
   * record it as cut off: the next attempt is made after the restart (at least once).
   */
  attempt(delivery: T, signal: AbortSignal): Promise<void>;
}

/**
 * Drains an outbox: every due delivery is attempted, at most `concurrency` at once per lane, so
 * that a slow or failing lane only ever holds its own slots and never delays the others. Looks
 * for work when told (wake), when an attempt ends, and when the next retry falls due.
 */
export class DeliveryPump<T extends { id: string }> {
  /** Ids of the deliveries in flight, by lane. */
  private readonly inFlight = new Map<string, Set<string>>();
  private readonly attempts = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private started = false;

  constructor(
    private readonly outbox: Outbox<T>,
    private readonly concurrency: number,
    private readonly onError: (error: unknown) => void,
  ) {
    // Every attempt in flight listens for the stop, `concurrency` per lane, and lanes are many:
    // Node's warning of a listener leak past 10 would be a false alarm in the server's log.
    setMaxListeners(0, this.abort.signal);
  }

  start(): void {
    this.started = true;
    this.wake();
  }

  /** Starts the attempts that are due; call it after queuing new deliveries. */
  wake(): void {
    if (!this.started || this.abort.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    try {
      for (const lane of this.outbox.lanes()) {
        const busy = this.inFlight.get(lane) ?? new Set<string>();
        const free = this.concurrency - busy.size;
        if (free <= 0) continue;
        // The in-flight deliveries are still the oldest of their streams: ask for enough to skip them.
        const ready = this.outbox
          .due(lane, now, free + busy.size)
          .filter((delivery) => !busy.has(delivery.id));
        for (const delivery of ready.slice(0, free)) this.launch(lane, busy, delivery);
      }
      const next = this.outbox.nextDueAfter(now);
      if (next !== null) this.timer = setTimeout(() => this.wake(), next - now);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Aborts the attempts in flight and waits for them to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.attempts);
  }

  private launch(lane: string, busy: Set<string>, delivery: T): void {
    busy.add(delivery.id);
    this.inFlight.set(lane, busy);
    const attempt = this.outbox
      .attempt(delivery, this.abort.signal)
      .catch((error: unknown) => {
        this.onError(error);
        // The outcome may not be recorded (the disk, a bug): hold the delivery back a while
        // rather than attempting it again at once, over and over.
        return pause(FAILURE_PAUSE_MS, this.abort.signal);
      })
      .finally(() => {
        busy.delete(delivery.id);
        if (busy.size === 0) this.inFlight.delete(lane);
        this.attempts.delete(attempt);
        this.wake();
      });
    this.attempts.add(attempt);
  }
}
