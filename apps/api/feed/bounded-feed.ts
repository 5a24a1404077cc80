import { GraphQLError } from 'graphql';
import type { StoredEvent } from '../../../libs/event-store/index.js';

/** How many events a subscriber may fall behind before it is cut off. */
export const SUBSCRIBER_BUFFER_LIMIT = 1_000;

/**
 * Reads `source` ahead of a subscriber into a bounded buffer. A subscriber that stops reading
 * (its socket is full) lets the buffer grow; past `limit` its subscription ends with
 * SUBSCRIBER_TOO_SLOW, naming the cursor to resume from. The store's reader and every other
 * subscriber go on unaffected: each subscription reads the log on its own.
 */
export async function* boundedFeed(
  source: (signal: AbortSignal) => AsyncIterable<StoredEvent>,
  limit = SUBSCRIBER_BUFFER_LIMIT,
): AsyncGenerator<StoredEvent> {
  const abort = new AbortController();
  const buffer: StoredEvent[] = [];
  let failure: unknown = null;
  let overflowed = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const reading = (async () => {
    try {
      for await (const event of source(abort.signal)) {
        if (buffer.length >= limit) {
          overflowed = true;
          break;
        }
        buffer.push(event);
        notify();
      }
    } catch (error) {
      if (!abort.signal.aborted) failure = error;
    } finally {
      notify();
    }
  })();
  let delivered: StoredEvent | null = null;
  try {
    for (;;) {
      const next = buffer.shift();
      if (next) {
        delivered = next;
        yield next;
        continue;
      }
      if (failure) throw failure;
      if (overflowed) {
        const resumeFrom = delivered?.globalPosition.toString() ?? null;
        throw new GraphQLError(
          `Subscriber too slow: more than ${limit} events were waiting for it. ` +
            `Resume with the events query or subscription after ${resumeFrom ?? 'the start'}.`,
          { extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: resumeFrom } },
        );
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    abort.abort();
    await reading;
  }
}
