import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postJson } from './http-post.js';
import { WebhookReceiver } from './testing/webhook-receiver.js';

/**
 * What a signal keeps of the signals derived from it (AbortSignal.any): Node 20 never prunes this
 * set while the signal lives, so deriving from the pump's shutdown signal leaks on every attempt.
 */
function derivedFrom(signal: AbortSignal): number {
  const dependants = Object.getOwnPropertySymbols(signal).find(
    (symbol) => symbol.description === 'kDependantSignals',
  );
  return dependants ? (signal as unknown as Record<symbol, Set<unknown>>)[dependants].size : 0;
}

describe('postJson', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start(() => 200);
  });
  afterAll(async () => {
    await receiver.stop();
  });

  it('leaves nothing attached to the long-lived shutdown signal it is given', async () => {
    const shutdown = new AbortController();
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await postJson(
        receiver.url,
        '{}',
        {},
        { timeoutMs: 1_000, maxResponseBytes: 1_024, signal: shutdown.signal },
      );
      expect(outcome.error).toBeNull();
    }
    expect(derivedFrom(shutdown.signal)).toBe(0);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('gives up when the shutdown signal aborts, and at the deadline', async () => {
    receiver.answer = () => null;
    const shutdown = new AbortController();
    const stopped = postJson(
      receiver.url,
      '{}',
      {},
      { timeoutMs: 60_000, maxResponseBytes: 1_024, signal: shutdown.signal },
    );
    shutdown.abort();
    expect((await stopped).error).not.toBeNull();
    const late = await postJson(receiver.url, '{}', {}, { timeoutMs: 50, maxResponseBytes: 1_024 });
    expect(late).toMatchObject({ statusCode: null, error: 'no answer within 50 ms' });
  });
});
