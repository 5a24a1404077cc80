/**
 * What the dispatchers (webhook deliveries, customer notifications) tell the operator's log. Both
 * take the same hooks and word a failed attempt the same way, so that one search of the log finds
 * the failures of either.
 */
export interface DeliveryLogHooks {
  /** Told of the dispatcher's own failures (the disk, a bug); it retries. */
  onError: (error: unknown) => void;
  /** Told of each failed attempt that will be retried: fields to search the log by, and a message. */
  onRetry?: (fields: Record<string, string | number>, message: string) => void;
  /** Told of each delivery given up (a notification abandoned), in words for the operator's log. */
  onGiveUp?: (message: string) => void;
}

/** A failed attempt that will be retried. */
export interface RetryScheduled {
  /**
   * What was being delivered, for whom, as log fields: ids, types and positions only. Never the
   * secret, the signature or the payload: the server log is read more widely than the delivery log.
   */
  delivery: Record<string, string | number>;
  /** The same in words; the message begins with it. */
  described: string;
  attempt: number;
  maxAttempts: number;
  error: string;
  /** Epoch milliseconds. */
  nextAttemptAt: number;
}

/**
 * Tells the log of a failed attempt that will be retried, as it fails: an operator watching the
 * log sees a receiver or channel in trouble at once, not only at the give-up, perhaps hours later.
 */
export function tellRetry(hooks: DeliveryLogHooks, retry: RetryScheduled): void {
  if (!hooks.onRetry) return;
  const { attempt, maxAttempts, error } = retry;
  const nextAttemptAt = new Date(retry.nextAttemptAt).toISOString();
  // pino stamps its lines in epoch milliseconds: the wait says at a glance how soon the next is.
  const waitSeconds = Math.max(0, retry.nextAttemptAt - Date.now()) / 1_000;
  hooks.onRetry(
    { ...retry.delivery, attempt, maxAttempts, error, nextAttemptAt },
    `${retry.described}: attempt ${attempt} of ${maxAttempts} failed (${error}); ` +
      `the next is due at ${nextAttemptAt} (in ${waitSeconds.toFixed(1)} s)`,
  );
}
