/** How outbound deliveries (webhooks, customer notifications) are attempted and retried. */
export interface DeliveryPolicy {
  /** Attempts before giving up, the first included. */
  maxAttempts: number;
  /** Backoff: the delay before retry n is random in [0, min(maxDelayMs, baseDelayMs · 2^(n−1))]. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** Attempts in flight at once per lane (a webhook endpoint, a notification channel). */
  concurrency: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  timeoutMs: 5_000,
  concurrency: 4,
};

/**
 * Exponential backoff with full jitter: receivers that failed together do not all get the retry
 * at the same instant. `attempt` is the number of the attempt that just failed (1 for the first).
 */
export function retryDelayMs(policy: DeliveryPolicy, attempt: number, random = Math.random): number {
  return Math.round(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
}
