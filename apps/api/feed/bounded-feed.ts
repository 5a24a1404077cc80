import { GraphQLError } from 'graphql';
import type { StoredEvent } from '../../../libs/event-store/index.js';
import { wakeOrAbort } from '../../../libs/async/index.js';
import { interruptible, type Interruptible } from '../graphql/interruptible.js';

/** How many events are read ahead of a subscriber, at most: its share of the server's memory. */
export const READ_AHEAD = 1_000;
/** How long a subscriber may take nothing while events wait for it before it is cut off. */
export const STALL_TIMEOUT_MS = 30_000;

export interface BoundedFeedOptions {
  readAhead?: number;
  stallTimeoutMs?: number;
  /** What the subscription resumes from: a position (events) or a stream version (incidentEvents). */
  resumeBy?: 'position' | 'version';
}

/**
 * Reads `source` ahead of a subscriber, up to `readAhead` events; then the reading waits for the
 * subscriber to take one, so that a subscriber catching up, or slower than the writers, goes at
 * its own pace: the events wait in the log, not in memory. (graphql-ws sends the next event once
 * the socket took the previous one.) A subscriber that takes nothing for `stallTimeoutMs` while
 * events wait gets those already read, then SUBSCRIBER_TOO_SLOW with the cursor to resume from,
 * and its reading stops. The store's writers and every other subscriber go on unaffected. Its
 * `return()` (the client completed it, or closed the socket) ends it at once, even while it waits
 * for an event: see `interruptible`.
 */
export function boundedFeed(
  source: (signal: AbortSignal) => AsyncIterable<StoredEvent>,
  options: BoundedFeedOptions = {},
): Interruptible<StoredEvent> {
  return interruptible((stop) => feed(source, options, stop));
}

async function* feed(
  source: (signal: AbortSignal) => AsyncIterable<StoredEvent>,
  { readAhead = READ_AHEAD, stallTimeoutMs = STALL_TIMEOUT_MS, resumeBy = 'position' }: BoundedFeedOptions,
  stop: AbortSignal,
): AsyncGenerator<StoredEvent> {
  const abort = new AbortController();
  const buffer: StoredEvent[] = [];
  let failure: unknown = null;
  let stalled = false;
  let ended = false;
  let wakeSubscriber: (() => void) | null = null;
  let wakeReader: (() => void) | null = null;
  const notifySubscriber = () => {
    wakeSubscriber?.();
    wakeSubscriber = null;
  };
  const notifyReader = () => {
    wakeReader?.();
    wakeReader = null;
  };
  /** Resolves true when the subscriber takes an event (or leaves), false after the stall timeout. */
  const room = () =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), stallTimeoutMs);
      wakeReader = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  const reading = (async () => {
    try {
      for await (const event of source(abort.signal)) {
        // A source need not heed the signal.
        if (abort.signal.aborted) break;
        buffer.push(event);
        notifySubscriber();
        if (buffer.length >= readAhead && !(await room())) {
          stalled = true;
          break;
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) failure = error;
    } finally {
      ended = true;
      notifySubscriber();
    }
  })();
  let delivered: StoredEvent | null = null;
  try {
    while (!stop.aborted) {
      const next = buffer.shift();
      if (next) {
        notifyReader();
        delivered = next;
        yield next;
        continue;
      }
      if (failure) throw failure;
      if (stalled) {
        const [resumeAfter, how] =
          resumeBy === 'position'
            ? [delivered?.globalPosition.toString() ?? null, 'the events query or subscription after']
            : [String(delivered?.streamVersion ?? 0), 'incidentEvents with afterVersion'];
        throw new GraphQLError(
          `Subscriber too slow: it took no event for ${stallTimeoutMs / 1000} s while ${readAhead} were ` +
            `waiting for it. Resume with ${how} ${resumeAfter ?? 'omitted'}.`,
          { extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter } },
        );
      }
      // The source ended (the store closed): so does the subscription.
      if (ended) return;
      await wakeOrAbort(stop, (wake) => (wakeSubscriber = wake));
    }
  } finally {
    abort.abort();
    notifyReader();
    await reading;
  }
}
