import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DECLARE, declareIncident, LedgerServer, mutation } from './support/ledger-server.js';

const POST = mutation('postStatusUpdate', 'PostStatusUpdateInput');
const update = (incidentId: string, n: number, extra: Record<string, unknown> = {}) => ({
  input: { incidentId, status: 'INVESTIGATING', message: `Update ${n}`, channels: ['WEBSITE'], ...extra },
});

describe('concurrent commands and retries', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  const versions = async (id: string) =>
    (
      await server.graphql(`query($id: ID!) { incident(id: $id) { version events { version data } } }`, {
        id,
      })
    ).data!.incident;

  test('50 concurrent updates without expectedVersion all land, with contiguous versions', async () => {
    const { id } = await declareIncident(server);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, n) => server.graphql(POST, update(id, n))),
    );
    expect(results.filter((result) => result.errors)).toEqual([]);
    const incident = await versions(id);
    expect(incident.version).toBe(51);
    expect(incident.events.map((event: any) => event.version)).toEqual(
      Array.from({ length: 51 }, (_, n) => n + 1),
    );
    const messages = incident.events.slice(1).map((event: any) => event.data.message);
    expect(new Set(messages).size).toBe(50);
    expect(new Set(results.map((result) => result.data!.postStatusUpdate.version)).size).toBe(50);
  });

  test('10 concurrent updates with the same expectedVersion: exactly one wins, the rest get VERSION_CONFLICT', async () => {
    const { id } = await declareIncident(server);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) => server.graphql(POST, update(id, n, { expectedVersion: 1 }))),
    );
    const winners = results.filter((result) => !result.errors);
    const conflicts = results.filter((result) => result.errors?.[0].extensions?.code === 'VERSION_CONFLICT');
    expect(winners).toHaveLength(1);
    expect(conflicts).toHaveLength(9);
    expect(conflicts[0].errors![0].extensions).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    expect((await versions(id)).version).toBe(2);
  });

  test('an idempotency key replays the first result and writes nothing; reused for another request it is BAD_USER_INPUT', async () => {
    const { id } = await declareIncident(server);
    const input = update(id, 1, { idempotencyKey: `retry-${id}` });
    const first = await server.graphql(POST, input);
    const again = await Promise.all([server.graphql(POST, input), server.graphql(POST, input)]);
    for (const result of again) {
      expect(result.errors).toBeUndefined();
      expect(result.data!.postStatusUpdate.version).toBe(first.data!.postStatusUpdate.version);
      expect(result.data!.postStatusUpdate.position).toBe(first.data!.postStatusUpdate.position);
    }
    expect((await versions(id)).version).toBe(2);
    // The first result whole, incident included: not the incident as later requests made it.
    await server.graphql(POST, update(id, 9, { status: 'MONITORING' }));
    const later = await server.graphql(POST, input);
    expect(later.errors).toBeUndefined();
    expect(later.data!.postStatusUpdate).toEqual(first.data!.postStatusUpdate);

    const reused = await server.graphql(POST, update(id, 2, { idempotencyKey: `retry-${id}` }));
    expect(reused.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect((await versions(id)).version).toBe(4);

    // An empty key is refused rather than stored (it was read as no key, then every later "" hung).
    for (let attempt = 0; attempt < 2; attempt++) {
      const empty = await server.graphql(POST, update(id, 3, { idempotencyKey: '' }));
      expect(empty.errors![0]).toMatchObject({
        message: expect.stringContaining('idempotencyKey must not be empty'),
        extensions: { code: 'BAD_USER_INPUT' },
      });
    }
    expect((await versions(id)).version).toBe(4);
  });

  test('a declaration retried with its idempotency key declares one incident', async () => {
    const input = {
      input: { title: 'DNS resolution fails', severity: 'SEV1', idempotencyKey: 'declare-dns-1' },
    };
    const results = await Promise.all([
      server.graphql(DECLARE, input),
      server.graphql(DECLARE, input),
      server.graphql(DECLARE, input),
    ]);
    expect(results.filter((result) => result.errors)).toEqual([]);
    const ids = new Set(results.map((result) => result.data!.declareIncident.incident.id));
    expect(ids.size).toBe(1);
  });
});
