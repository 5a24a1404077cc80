import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DECLARE, KEYS, LedgerServer } from './support/ledger-server.js';
import { SERVER_ENTRY } from './support/server-process.js';

const FRONTEND = 'https://status.example.com';
const DEV_FRONTEND = 'http://localhost:5173';
const STRANGER = 'https://evil.example.net';

/** What a browser sends before a cross-origin POST with a bearer key and a JSON body. */
function preflight(server: LedgerServer, origin: string, method = 'POST'): Promise<Response> {
  return fetch(`${server.url}/graphql`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization,content-type,x-consistent-with,x-request-id',
    },
  });
}

/** The request a browser sends after that preflight passed (fetch with `content-type: application/json`). */
function crossOriginPost(
  server: LedgerServer,
  origin: string,
  query: string,
  variables = {},
): Promise<Response> {
  return fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      origin,
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${KEYS.responder}`,
    },
    body: JSON.stringify({ query, variables }),
  });
}

/** The response's Access-Control-* header names. */
const corsHeaders = (response: Response) =>
  [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));

/** A comma-separated header as a lower-case list. */
const list = (value: string | null) => (value ?? '').split(',').map((item) => item.trim().toLowerCase());

describe('CORS with LEDGER_CORS_ORIGINS set to a list of origins', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start({ env: { LEDGER_CORS_ORIGINS: `${FRONTEND},${DEV_FRONTEND}` } });
  });
  afterAll(async () => {
    await server.destroy();
  });

  test.each([FRONTEND, DEV_FRONTEND])(
    'a preflight from %s is answered 204 with what a frontend needs',
    async (origin) => {
      const response = await preflight(server, origin);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(list(response.headers.get('vary'))).toContain('origin');
      expect(list(response.headers.get('access-control-allow-methods'))).toEqual(['get', 'post']);
      expect(list(response.headers.get('access-control-allow-headers'))).toEqual(
        expect.arrayContaining([
          'authorization',
          'content-type',
          'x-consistent-with',
          'x-request-id',
          'apollo-require-preflight',
        ]),
      );
      expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      // Bearer keys, not cookies: a browser is never told to send credentials.
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    },
  );

  test('the POST after the preflight runs (Apollo CSRF prevention passes it) and its answer may be read', async () => {
    const declared = await crossOriginPost(server, FRONTEND, DECLARE, {
      input: { title: 'Status page cannot load', severity: 'SEV3' },
    });
    expect(declared.status).toBe(200);
    expect(declared.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(list(declared.headers.get('access-control-expose-headers'))).toContain('x-request-id');
    const body = (await declared.json()) as any;
    expect(body.errors).toBeUndefined();
    const { id } = body.data.declareIncident.incident;

    const read = await crossOriginPost(
      server,
      DEV_FRONTEND,
      'query($id: ID!) { incident(id: $id) { id title } }',
      {
        id,
      },
    );
    expect(read.headers.get('access-control-allow-origin')).toBe(DEV_FRONTEND);
    expect(((await read.json()) as any).data.incident).toEqual({ id, title: 'Status page cannot load' });
  });

  test('a GET query with apollo-require-preflight is allowed too', async () => {
    const query = encodeURIComponent('{ incidents(first: 1) { totalCount } }');
    const response = await fetch(`${server.url}/graphql?query=${query}`, {
      headers: {
        origin: FRONTEND,
        authorization: `Bearer ${KEYS.responder}`,
        'apollo-require-preflight': 'true',
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(((await response.json()) as any).data.incidents.totalCount).toBeGreaterThanOrEqual(1);
  });

  test('another origin gets no CORS header, on the preflight or on a request', async () => {
    const refused = await preflight(server, STRANGER);
    expect(corsHeaders(refused)).toEqual([]);
    expect(refused.status).not.toBe(204);
    // Near misses are other origins: scheme, port and subdomain count.
    for (const origin of [
      'http://status.example.com',
      'http://localhost:5174',
      'https://x.status.example.com',
      'null',
    ]) {
      expect(corsHeaders(await preflight(server, origin))).toEqual([]);
    }
    const post = await crossOriginPost(server, STRANGER, '{ incidents(first: 1) { totalCount } }');
    expect(corsHeaders(post)).toEqual([]);
  });

  test('a request without Origin (not a browser, or same-origin) is answered as before, without CORS headers', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.responder}` },
      body: JSON.stringify({ query: '{ incidents(first: 1) { totalCount } }' }),
    });
    expect(response.status).toBe(200);
    expect(corsHeaders(response)).toEqual([]);
  });

  test("Apollo's CSRF prevention still refuses what a browser sends cross-origin without a preflight", async () => {
    // A form post (text/plain) and a bare GET, even from an allowed origin: neither ran a preflight.
    const formPost = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { origin: FRONTEND, 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ incidents(first: 1) { totalCount } }' }),
    });
    const simpleGet = await fetch(
      `${server.url}/graphql?query=${encodeURIComponent('{ incidents(first: 1) { totalCount } }')}`,
      { headers: { origin: FRONTEND } },
    );
    for (const response of [formPost, simpleGet]) {
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Cross-Site Request Forgery');
    }
  });
});

describe('CORS with LEDGER_CORS_ORIGINS=*', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start({ env: { LEDGER_CORS_ORIGINS: '*' } });
  });
  afterAll(async () => {
    await server.destroy();
  });

  test('any origin passes the preflight and reads the answer', async () => {
    const response = await preflight(server, STRANGER);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    const post = await crossOriginPost(server, STRANGER, '{ incidents(first: 1) { totalCount } }');
    expect(post.status).toBe(200);
    expect(post.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('CORS without LEDGER_CORS_ORIGINS', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  test('is off: no origin gets a CORS header', async () => {
    expect(corsHeaders(await preflight(server, FRONTEND))).toEqual([]);
    expect(
      corsHeaders(await crossOriginPost(server, FRONTEND, '{ incidents(first: 1) { totalCount } }')),
    ).toEqual([]);
  });
});

test('the built server refuses to start on an origin that is not one, naming the setting', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-cors-'));
  try {
    const run = spawnSync(process.execPath, [SERVER_ENTRY], {
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        LEDGER_DATA_DIR: dataDir,
        LEDGER_CORS_ORIGINS: 'https://status.example.com/app',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'Invalid configuration: LEDGER_CORS_ORIGINS entry 1 "https://status.example.com/app" is not an origin',
    );
    expect(run.stderr).toContain('did you mean "https://status.example.com"?');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
