import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GraphQLError } from 'graphql';
import { ProjectionRunner, type OverdueUpdate } from '../../../libs/read-models/index.js';
import { wakeOrAbort } from '../../../libs/async/index.js';
import { interruptible, type Interruptible } from '../graphql/interruptible.js';
import { ConsistentReads } from '../read-models/consistent-reads.js';

/** How many announcements a subscriber may fall behind before it is cut off. */
export const OVERDUE_BUFFER_LIMIT = 1_000;

/** setTimeout's longest delay is about 24.8 days; a due time further off is re-examined then. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

/**
 * Announces each incident's customer update the moment it becomes overdue. One timer is set for
 * the earliest due time the read models hold, and re-armed whenever the projection commits a batch
 * (an update moves a due time, a new incident brings one); an incident is announced once per due
 * time, including one that arrives already overdue (declared after the fact).
 */
@Injectable()
export class OverdueUpdatesWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  /** The overdue incidents at the last check, with their due time. */
  private overdue = new Map<string, string>();
  private readonly listeners = new Set<(update: OverdueUpdate) => void>();
  private timer: NodeJS.Timeout | null = null;
  private stopFollowing: (() => void) | null = null;

  constructor(
    private readonly reads: ConsistentReads,
    private readonly runner: ProjectionRunner,
  ) {}

  onApplicationBootstrap(): void {
    // What was overdue before the server started is the overdueUpdates query's to tell.
    this.check(false);
    this.stopFollowing = this.runner.onProgress(() => this.check(true));
  }

  onApplicationShutdown(): void {
    this.stopFollowing?.();
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /**
   * The announcements from now on; ends with SUBSCRIBER_TOO_SLOW when the subscriber falls too far
   * behind, and at once when it leaves (see `interruptible`), though none may come for days.
   */
  follow(limit = OVERDUE_BUFFER_LIMIT): Interruptible<OverdueUpdate> {
    return interruptible((stop) => this.announcements(limit, stop));
  }

  private async *announcements(limit: number, stop: AbortSignal): AsyncGenerator<OverdueUpdate> {
    const queue: OverdueUpdate[] = [];
    let overflowed = false;
    let wake: (() => void) | null = null;
    const listener = (update: OverdueUpdate) => {
      if (queue.length >= limit) overflowed = true;
      else queue.push(update);
      wake?.();
      wake = null;
    };
    this.listeners.add(listener);
    try {
      while (!stop.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (overflowed) {
          throw new GraphQLError(
            `Subscriber too slow: more than ${limit} announcements were waiting for it. ` +
              'The overdueUpdates query tells what is overdue now.',
            { extensions: { code: 'SUBSCRIBER_TOO_SLOW' } },
          );
        }
        await wakeOrAbort(stop, (resolve) => (wake = resolve));
      }
    } finally {
      this.listeners.delete(listener);
    }
  }

  private check(announce: boolean): void {
    const queries = this.reads.latestAccountability;
    const now = new Date().toISOString();
    const overdue = queries.overdueUpdates(now);
    if (announce) {
      for (const update of overdue) {
        if (this.overdue.get(update.incidentId) === update.nextUpdateDueAt) continue;
        for (const listener of this.listeners) listener(update);
      }
    }
    this.overdue = new Map(overdue.map((update) => [update.incidentId, update.nextUpdateDueAt]));
    this.arm(queries.nextUpdateDueAfter(now));
  }

  private arm(due: number | null): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (due === null) return;
    // Overdue means strictly later than the due time: wake a millisecond after it.
    const wait = Math.min(Math.max(due - Date.now() + 1, 0), LONGEST_WAIT_MS);
    this.timer = setTimeout(() => this.check(true), wait);
    // A pending due time must not keep a stopping process alive.
    this.timer.unref();
  }
}
