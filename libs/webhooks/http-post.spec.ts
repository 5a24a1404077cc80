import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postJson, type PostOutcome } from './http-post.js';
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

/** A local server answering as `listener` does, for answers WebhookReceiver cannot give (bodies). */
async function withServer<T>(listener: RequestListener, use: (url: string) => Promise<T>): Promise<T> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const OPTIONS = { timeoutMs: 1_000, maxResponseBytes: 1_024 };

/** A POST's outcome, and the connections it opened: Node publishes each client socket it creates. */
async function postCountingConnections(url: string): Promise<{ outcome: PostOutcome; connections: number }> {
  let connections = 0;
  const counted = () => connections++;
  subscribe('net.client.socket', counted);
  try {
    const outcome = await postJson(url, '{}', {}, { ...OPTIONS, timeoutMs: 60_000 });
    return { outcome, connections };
  } finally {
    unsubscribe('net.client.socket', counted);
  }
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

  it('posts the body as JSON, and a 2xx is a success', async () => {
    receiver.answer = () => 204;
    const outcome = await postJson(receiver.url, '{"a":1}', { 'X-Ledger-Attempt': '1' }, OPTIONS);
    expect(outcome).toMatchObject({ statusCode: 204, error: null });
    expect(receiver.requests.at(-1)).toMatchObject({
      body: '{"a":1}',
      headers: { 'content-type': 'application/json', 'x-ledger-attempt': '1', 'content-length': '7' },
    });
  });

  it('reaches a receiver by its host name', async () => {
    receiver.answer = () => 200;
    const outcome = await postJson(receiver.url.replace('127.0.0.1', 'localhost'), '{}', {}, OPTIONS);
    expect(outcome).toMatchObject({ statusCode: 200, error: null });
  });

  it('does not follow a redirect, nor take a non-2xx for a success', async () => {
    const before = receiver.requests.length;
    await withServer(
      (_, response) => response.writeHead(302, { location: receiver.url }).end(),
      async (url) => {
        expect(await postJson(url, '{}', {}, OPTIONS)).toMatchObject({
          statusCode: 302,
          error: 'HTTP 302 (redirects are not followed)',
        });
      },
    );
    expect(receiver.requests).toHaveLength(before);
    receiver.answer = () => 503;
    expect(await postJson(receiver.url, '{}', {}, OPTIONS)).toMatchObject({
      statusCode: 503,
      error: 'HTTP 503',
    });
  });

  it('reads at most maxResponseBytes of the answer', async () => {
    await withServer(
      (_, response) => response.end('x'.repeat(2_000)),
      async (url) => {
        expect(await postJson(url, '{}', {}, OPTIONS)).toMatchObject({
          statusCode: 200,
          error: 'response larger than 1024 bytes',
        });
        expect(await postJson(url, '{}', {}, { ...OPTIONS, maxResponseBytes: 2_000 })).toMatchObject({
          statusCode: 200,
          error: null,
        });
      },
    );
  });

  it('gives up at the deadline while the body is still coming', async () => {
    await withServer(
      (_, response) => {
        response.writeHead(200);
        response.write('{');
      },
      async (url) => {
        expect(await postJson(url, '{}', {}, { ...OPTIONS, timeoutMs: 100 })).toMatchObject({
          statusCode: 200,
          error: 'no answer within 100 ms',
        });
      },
    );
  });

  it('names a network error by its code', async () => {
    // A port just closed: nothing listens there.
    const closed = await withServer(
      () => undefined,
      async (url) => url,
    );
    expect(await postJson(closed, '{}', {}, OPTIONS)).toMatchObject({
      statusCode: null,
      error: 'ECONNREFUSED',
    });
  });

  it('refuses a URL whose host is a link-local, metadata or unspecified address, opening no connection', async () => {
    const refusals = [
      [
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'refused: 169.254.169.254 is a link-local address (cloud metadata); webhooks may not target it',
      ],
      [
        'http://[::ffff:169.254.169.254]/',
        'refused: ::ffff:a9fe:a9fe is a link-local address (cloud metadata); webhooks may not target it',
      ],
      [
        'https://[fd00:ec2::254]/',
        "refused: fd00:ec2::254 is AWS's IPv6 cloud metadata address; webhooks may not target it",
      ],
      // 0.0.0.0 reaches this host's listeners: the receiver would get it were it not refused.
      [
        receiver.url.replace('127.0.0.1', '0.0.0.0'),
        'refused: 0.0.0.0 is the unspecified address; webhooks may not target it',
      ],
    ];
    const before = receiver.requests.length;
    for (const [url, error] of refusals) {
      expect(await postCountingConnections(url)).toMatchObject({
        outcome: { statusCode: null, error },
        connections: 0,
      });
    }
    expect(receiver.requests).toHaveLength(before);
  });

  it("refuses the Fetch standard's bad ports, opening no connection", async () => {
    expect(await postCountingConnections('http://127.0.0.1:25/')).toMatchObject({
      outcome: { statusCode: null, error: 'bad port' },
      connections: 0,
    });
  });

  it('sends no credentials written in the URL', async () => {
    const before = receiver.requests.length;
    const outcome = await postJson(receiver.url.replace('//', '//user:password@'), '{}', {}, OPTIONS);
    expect(outcome).toMatchObject({ statusCode: null, error: expect.stringContaining('credentials') });
    expect(receiver.requests).toHaveLength(before);
  });
});
