import { describe, expect, it } from '@jest/globals';
import { DEFAULT_DELIVERY_POLICY, retryDelayMs } from './delivery-policy.js';

describe('retry backoff', () => {
  const policy = { ...DEFAULT_DELIVERY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles the ceiling with every failed attempt, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('draws the delay anywhere from zero to the ceiling (full jitter)', () => {
    expect(retryDelayMs(policy, 3, () => 0)).toBe(0);
    expect(retryDelayMs(policy, 3, () => 0.5)).toBe(200);
  });
});
