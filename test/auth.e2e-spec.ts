import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DECLARE, declareIncident, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

describe('API keys and roles', () => {
  let server: LedgerServer;
  let incidentId: string;
  beforeAll(async () => {
    server = await LedgerServer.start();
    incidentId = (await declareIncident(server)).id;
  });
  afterAll(async () => {
    await server.destroy();
  });

  const declare = { input: { title: 'Login fails', severity: 'SEV3' } };

  test('no key or an unknown key is UNAUTHENTICATED, for queries and mutations', async () => {
    for (const key of [null, 'not-a-real-key-000000000']) {
      const write = await server.graphql(DECLARE, declare, key);
      expect(write.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
      const read = await server.graphql(
        `query($id: ID!) { incident(id: $id) { id } }`,
        { id: incidentId },
        key,
      );
      expect(read.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
    }
  });

  test('an auditor reads but may not write; a communicator may update customers but not resolve', async () => {
    const read = await server.graphql(
      `query($id: ID!) { incident(id: $id) { id } }`,
      { id: incidentId },
      KEYS.auditor,
    );
    expect(read.data!.incident.id).toBe(incidentId);
    expect((await server.graphql(DECLARE, declare, KEYS.auditor)).errors![0].extensions!.code).toBe(
      'FORBIDDEN',
    );

    const update = { input: { incidentId, status: 'IDENTIFIED', message: 'Found it', channels: ['EMAIL'] } };
    expect(
      (await server.graphql(mutation('postStatusUpdate', 'PostStatusUpdateInput'), update, KEYS.communicator))
        .errors,
    ).toBeUndefined();
    const resolve = await server.graphql(
      mutation('resolveIncident', 'ResolveIncidentInput'),
      { input: { incidentId, summary: 'x' } },
      KEYS.communicator,
    );
    expect(resolve.errors![0].extensions!.code).toBe('FORBIDDEN');
  });

  test('the actor comes from the key, never from the request', async () => {
    const result = await server.graphql(DECLARE, declare, KEYS.admin);
    expect(result.data!.declareIncident.incident.events[0].actor).toBe('root');
    const spoof = await server.graphql(
      DECLARE,
      { input: { ...declare.input, actor: 'mallory' } },
      KEYS.admin,
    );
    expect(spoof.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });
});
