import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DECLARE, declareIncident, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

/** Bad input is answered with a clear code, never a 500, and leaves the stream as it was. */
describe('bad input changes nothing', () => {
  let server: LedgerServer;
  let incidentId: string;
  let startedAt: string;
  beforeAll(async () => {
    server = await LedgerServer.start();
    const { id, payload } = await declareIncident(server, {
      occurredAt: new Date(Date.now() - 10 * 60_000).toISOString(),
    });
    incidentId = id;
    startedAt = payload.incident.startedAt;
  });
  afterAll(async () => {
    await server.destroy();
  });

  const streamVersion = async () =>
    (await server.graphql(`query($id: ID!) { incident(id: $id) { version } }`, { id: incidentId })).data!
      .incident.version;

  const cases: Array<[string, () => [string, Record<string, unknown>], string]> = [
    ['an empty title', () => [DECLARE, { input: { title: '  ', severity: 'SEV1' } }], 'RULE_VIOLATION'],
    ['an unknown severity', () => [DECLARE, { input: { title: 'x', severity: 'SEV9' } }], 'BAD_USER_INPUT'],
    [
      'a title over 200 characters',
      () => [DECLARE, { input: { title: 'x'.repeat(201), severity: 'SEV1' } }],
      'BAD_USER_INPUT',
    ],
    [
      'an unknown field',
      () => [DECLARE, { input: { title: 'x', severity: 'SEV1', colour: 'red' } }],
      'BAD_USER_INPUT',
    ],
    [
      'a wrong type',
      () => [DECLARE, { input: { title: 42, severity: 'SEV1', services: 'checkout' } }],
      'BAD_USER_INPUT',
    ],
    [
      'an impossible date',
      () => [DECLARE, { input: { title: 'x', severity: 'SEV1', occurredAt: '2026-02-30T10:00:00Z' } }],
      'BAD_USER_INPUT',
    ],
    [
      'a malformed id',
      () => [mutation('acknowledgeIncident', 'IncidentActionInput'), { input: { incidentId: 'not-a-uuid' } }],
      'BAD_USER_INPUT',
    ],
    [
      'an ETA before the start',
      () => [
        mutation('setResolutionEstimate', 'SetResolutionEstimateInput'),
        {
          input: {
            incidentId,
            estimatedResolutionAt: new Date(Date.parse(startedAt) - 60_000).toISOString(),
            reason: 'guess',
          },
        },
      ],
      'RULE_VIOLATION',
    ],
    [
      'a 100 kB message',
      () => [
        mutation('postStatusUpdate', 'PostStatusUpdateInput'),
        { input: { incidentId, status: 'IDENTIFIED', message: 'x'.repeat(100_000), channels: ['EMAIL'] } },
      ],
      'BAD_USER_INPUT',
    ],
    [
      'a customer update without channels',
      () => [
        mutation('postStatusUpdate', 'PostStatusUpdateInput'),
        { input: { incidentId, status: 'IDENTIFIED', message: 'Hi', channels: [] } },
      ],
      'RULE_VIOLATION',
    ],
    [
      'an occurredAt in the future, beyond a fast clock',
      () => [
        mutation('acknowledgeIncident', 'IncidentActionInput'),
        { input: { incidentId, occurredAt: new Date(Date.now() + 2 * 60_000).toISOString() } },
      ],
      'RULE_VIOLATION',
    ],
    [
      'an occurredAt before the incident started',
      () => [
        mutation('acknowledgeIncident', 'IncidentActionInput'),
        { input: { incidentId, occurredAt: new Date(Date.parse(startedAt) - 60_000).toISOString() } },
      ],
      'RULE_VIOLATION',
    ],
    [
      'a resolve without summary',
      () => [mutation('resolveIncident', 'ResolveIncidentInput'), { input: { incidentId, summary: '' } }],
      'RULE_VIOLATION',
    ],
  ];

  test.each(cases)('%s', async (_name, build, code) => {
    const before = await streamVersion();
    const [query, variables] = build();
    const result = await server.graphql(query, variables);
    expect(result.status).toBeLessThan(500);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions!.code).toBe(code);
    expect(result.errors![0].message.length).toBeGreaterThan(0);
    expect(JSON.stringify(result.errors)).not.toMatch(/stacktrace|at .*\.(js|ts):\d+/);
    if (code === 'RULE_VIOLATION') expect(result.errors![0].extensions!.rule).toMatch(/^[a-z-]+$/);
    expect(await streamVersion()).toBe(before);
  });

  test('an unparsable body and a mutation over GET are client errors, never a 500', async () => {
    const post = (body: string, path = '/graphql') =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer responder-key-0123456789' },
        body,
      });
    // Answered as GraphQL responses, as Apollo answers the requests it refuses: clients read them.
    const broken = await post('{"query": ');
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({
      errors: [
        {
          message: expect.stringMatching(/^The request body is not JSON: .*JSON/),
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    });
    // Apollo answers on /graphql/ as well.
    const brokenWithSlash = await post('{"query": ', '/graphql/');
    expect(brokenWithSlash.status).toBe(400);
    expect(await brokenWithSlash.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    const huge = await post(
      JSON.stringify({ query: '{ __typename }', variables: { x: 'x'.repeat(2 ** 20) } }),
    );
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({
      errors: [
        {
          message: 'The request body is too large (the limit is 1048576 bytes)',
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    });
    const overGet = await fetch(
      `${server.url}/graphql?query=${encodeURIComponent('mutation { acknowledgeIncident(input: {incidentId: "x"}) { version } }')}`,
      { headers: { authorization: 'Bearer responder-key-0123456789', 'apollo-require-preflight': 'true' } },
    );
    expect(overGet.status).toBe(405);
  });
});

/** Filters of the queries are inputs too: out of their bounds, they are refused, not ignored. */
describe('bad filters are refused', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
    await declareIncident(server);
  });
  afterAll(async () => {
    await server.destroy();
  });

  const later = '2030-01-01T00:00:00Z';
  const earlier = '2020-01-01T00:00:00Z';
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    [
      'a title text over 200 characters',
      'query($f: IncidentFilterInput) { incidents(filter: $f) { totalCount } }',
      { f: { titleContains: 'x'.repeat(201) } },
      /titleContains/,
    ],
    [
      'six statuses where there are five',
      'query($f: IncidentFilterInput) { incidents(filter: $f) { totalCount } }',
      {
        f: { statuses: ['INVESTIGATING', 'INVESTIGATING', 'IDENTIFIED', 'MONITORING', 'RESOLVED', 'CLOSED'] },
      },
      /statuses/,
    ],
    [
      'incidents declared from after declared to',
      'query($f: IncidentFilterInput) { incidents(filter: $f) { totalCount } }',
      { f: { declaredFrom: later, declaredTo: earlier } },
      /declaredTo must not be before declaredFrom/,
    ],
    [
      'root causes of a service name over 100 characters',
      'query($f: RootCauseFilterInput) { rootCauses(filter: $f) { totalCount } }',
      { f: { service: 's'.repeat(101) } },
      /service/,
    ],
    [
      'preventive measures due from after due to',
      'query($f: PreventiveMeasureFilterInput) { preventiveMeasures(filter: $f) { totalCount } }',
      { f: { dueFrom: later, dueTo: earlier } },
      /dueTo must not be before dueFrom/,
    ],
    [
      'compensations granted from after granted to',
      'query($f: CompensationFilterInput) { compensations(filter: $f) { totalCount } }',
      { f: { grantedFrom: later, grantedTo: earlier } },
      /grantedTo must not be before grantedFrom/,
    ],
    [
      'maintenances in a window that ends before it starts',
      'query($f: MaintenanceFilterInput) { maintenances(filter: $f) { id } }',
      { f: { windowFrom: later, windowTo: earlier } },
      /windowTo must not be before windowFrom/,
    ],
    [
      'metrics from after to',
      'query($from: DateTime, $to: DateTime) { incidentMetrics(from: $from, to: $to) { key } }',
      { from: later, to: earlier },
      /to must not be before from/,
    ],
    [
      'postmortems from after to',
      'query($from: DateTime, $to: DateTime) { postmortems(from: $from, to: $to) { totalCount } }',
      { from: later, to: earlier },
      /to must not be before from/,
    ],
    [
      'a null first, though first has a default',
      'query($first: Int) { incidents(first: $first) { totalCount } }',
      { first: null },
      /first.*must not be null/,
    ],
    [
      'feedback from after to',
      'query($from: DateTime, $to: DateTime) { feedbackBySeverity(from: $from, to: $to) { severity } }',
      { from: later, to: earlier },
      /to must not be before from/,
    ],
  ];

  test.each(cases)('%s', async (_name, query, variables, message) => {
    const result = await server.graphql(query, variables);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(result.errors![0])).toMatch(message);
  });

  test('an absent or empty filter is no constraint, nor are its fields given as null', async () => {
    const everyFieldNull = {
      statuses: null,
      severities: null,
      service: null,
      open: null,
      declaredFrom: null,
      declaredTo: null,
      titleContains: null,
    };
    for (const filter of [null, {}, everyFieldNull]) {
      const result = await server.graphql(
        'query($f: IncidentFilterInput) { incidents(filter: $f) { totalCount } }',
        { f: filter },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.incidents.totalCount).toBe(1);
    }
    const maintenances = 'query($f: MaintenanceFilterInput) { maintenances(filter: $f) { id } }';
    const scheduled = await server.graphql(
      'mutation($input: ScheduleMaintenanceInput!) { scheduleMaintenance(input: $input) { version } }',
      {
        input: {
          title: 'Database upgrade',
          windowStart: new Date(Date.now() + 86_400_000).toISOString(),
          windowEnd: new Date(Date.now() + 90_000_000).toISOString(),
          services: ['checkout'],
        },
      },
    );
    expect(scheduled.errors).toBeUndefined();
    const nulls = { statuses: null, service: null, windowFrom: null, windowTo: null };
    expect((await server.graphql(maintenances, { f: nulls })).data!.maintenances).toHaveLength(1);
  });

  test("the arguments DESIGN.md's contract declares nullable take null for their default", async () => {
    const feed = 'query($first: Int) { events(first: $first) { edges { cursor } } }';
    expect(await server.graphql(feed, { first: null }, KEYS.auditor)).toEqual(
      await server.graphql(feed, {}, KEYS.auditor),
    );
    const metrics = 'query($groupBy: MetricsGroupBy) { incidentMetrics(groupBy: $groupBy) { key } }';
    const grouped = await server.graphql(metrics, { groupBy: null });
    expect(grouped.errors).toBeUndefined();
    expect(grouped).toEqual(await server.graphql(metrics, {}));
    const { id } = await declareIncident(server);
    const posted = await server.graphql(
      `mutation($input: PostStatusUpdateInput!) { postStatusUpdate(input: $input) {
         incident { lastCustomerUpdateAt } } }`,
      {
        input: {
          incidentId: id,
          status: 'IDENTIFIED',
          message: 'Found it',
          channels: ['EMAIL'],
          visibility: null,
        },
      },
    );
    expect(posted.errors).toBeUndefined();
    // PUBLIC: the incident's last customer update counts public ones only.
    expect(posted.data!.postStatusUpdate.incident.lastCustomerUpdateAt).not.toBeNull();
  });
});
