/**
 * A subscription's stream whose `return()` ends it at once, even while it waits for something to
 * send. An async generator's own `return()` is queued behind the `next()` it is awaiting: a
 * subscription waiting for an event that may never come (a filter nothing matches) would outlive
 * its client's complete message or closed socket, still reading and still counted, until such an
 * event came. Here `return()` first aborts `signal`, on which the body ends its waits and returns;
 * graphql-ws then completes the subscription.
 */
export function interruptible<T>(body: (signal: AbortSignal) => AsyncGenerator<T>): Interruptible<T> {
  const stop = new AbortController();
  const generator = body(stop.signal);
  return {
    next: (...args) => generator.next(...args),
    return: (value) => {
      stop.abort();
      return generator.return(value);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** An async iterator whose `return()` is always there: graphql-ws ends a subscription with it. */
export interface Interruptible<T> extends AsyncIterableIterator<T> {
  return(value?: unknown): Promise<IteratorResult<T>>;
}
