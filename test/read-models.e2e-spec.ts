import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ReadModels } from '../libs/read-models/index.js';
import { READ_MODELS } from '../apps/api/read-models/consistent-reads.js';
import { declareIncident, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

const POST = mutation('postStatusUpdate', 'PostStatusUpdateInput');
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

const INCIDENTS = `query($filter: IncidentFilterInput, $sort: IncidentSort, $first: Int, $after: String) {
  incidents(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title status severity } }
  }
}`;

describe('read models over GraphQL', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  const page = async (variables: Record<string, unknown>) => {
    const result = await server.graphql(INCIDENTS, variables);
    expect(result.errors).toBeUndefined();
    return result.data!.incidents;
  };

  test('filters: status, severity, service, open, title text and declared window', async () => {
    const tag = `filters-${Date.now()}`;
    const a = await declareIncident(server, {
      title: `${tag} database down`,
      severity: 'SEV1',
      services: ['db'],
      occurredAt: minutesAgo(300),
    });
    const b = await declareIncident(server, {
      title: `${tag} slow search`,
      severity: 'SEV3',
      services: ['search'],
    });
    await server.graphql(mutation('resolveIncident', 'ResolveIncidentInput'), {
      input: { incidentId: b.id, summary: 'Reindexed' },
    });
    const ids = async (filter: Record<string, unknown>) =>
      (await page({ filter: { titleContains: tag.toUpperCase(), ...filter }, first: 100 })).edges.map(
        (edge: any) => edge.node.id,
      );

    expect(new Set(await ids({}))).toEqual(new Set([a.id, b.id]));
    expect(await ids({ severities: ['SEV1'] })).toEqual([a.id]);
    expect(await ids({ service: 'search' })).toEqual([b.id]);
    expect(await ids({ open: true })).toEqual([a.id]);
    expect(await ids({ open: false })).toEqual([b.id]);
    expect(await ids({ statuses: ['RESOLVED'] })).toEqual([b.id]);
    expect(await ids({ declaredTo: minutesAgo(60) })).toEqual([a.id]);
    expect(await ids({ declaredFrom: minutesAgo(60) })).toEqual([b.id]);
    expect((await page({ filter: { titleContains: tag }, first: 1 })).totalCount).toBe(2);
  });

  test('pagination is stable while new incidents arrive', async () => {
    const tag = `paging-${Date.now()}`;
    const declared: string[] = [];
    for (let n = 0; n < 7; n++) declared.push((await declareIncident(server, { title: `${tag} ${n}` })).id);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const result: any = await page({
        filter: { titleContains: tag },
        sort: 'DECLARED_ASC',
        first: 3,
        after,
      });
      seen.push(...result.edges.map((edge: any) => edge.node.id));
      after = result.pageInfo.hasNextPage ? result.pageInfo.endCursor : null;
      await declareIncident(server, { title: `${tag} late` }); // arrives between page reads
    } while (after);
    expect(seen.slice(0, 7)).toEqual(declared);
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await server.graphql(INCIDENTS, { after: 'not-a-cursor' });
    expect(bad.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect((await server.graphql(INCIDENTS, { first: 101 })).errors![0].extensions!.code).toBe(
      'BAD_USER_INPUT',
    );
  });

  test('timeline: readable entries by occurredAt; internal ones only for roles allowed to see them', async () => {
    const { id } = await declareIncident(server, {
      occurredAt: minutesAgo(30),
      summary: 'Our own config push, most likely',
    });
    await server.graphql(mutation('addInternalNote', 'AddInternalNoteInput'), {
      input: { incidentId: id, note: 'Suspect the 14:02 deploy' },
    });
    await server.graphql(POST, {
      input: {
        incidentId: id,
        status: 'IDENTIFIED',
        message: 'We found the cause.',
        channels: ['EMAIL'],
        occurredAt: minutesAgo(10),
      },
    });
    const TIMELINE = `query($id: ID!, $v: TimelineVisibility) { timeline(incidentId: $id, visibility: $v) { type visibility description actor occurredAt backdated } }`;

    const all = (await server.graphql(TIMELINE, { id, v: 'ALL' }, KEYS.auditor)).data!.timeline;
    expect(all.map((entry: any) => entry.type)).toEqual([
      'IncidentDeclared',
      'StatusChanged',
      'CustomerUpdatePublished',
      'InternalNoteAdded',
    ]);
    expect(all[0].backdated).toBe(true);
    expect(all.every((entry: any) => entry.description.length > 0)).toBe(true);
    expect(all[3]).toMatchObject({ visibility: 'INTERNAL', actor: 'alice' });

    const publicOnly = (await server.graphql(TIMELINE, { id, v: 'PUBLIC' }, KEYS.communicator)).data!
      .timeline;
    expect(publicOnly.map((entry: any) => entry.type)).toEqual([
      'IncidentDeclared',
      'StatusChanged',
      'CustomerUpdatePublished',
    ]);
    expect(
      (await server.graphql(TIMELINE, { id, v: 'ALL' }, KEYS.communicator)).errors![0].extensions!.code,
    ).toBe('FORBIDDEN');

    // The public entries carry only what customers may see of their data.
    const DATA = `query($id: ID!, $v: TimelineVisibility) { timeline(incidentId: $id, visibility: $v) { data } }`;
    const [declared] = (await server.graphql(DATA, { id, v: 'PUBLIC' }, KEYS.communicator)).data!.timeline;
    expect(declared.data).toEqual({
      incidentId: id,
      title: 'Checkout fails for EU customers',
      severity: 'SEV2',
      services: ['checkout'],
    });
    const [declaredInAll] = (await server.graphql(DATA, { id, v: 'ALL' }, KEYS.auditor)).data!.timeline;
    expect(declaredInAll.data).toMatchObject({ summary: 'Our own config push, most likely' });

    // Nor do the other ways to the events show a communicator the internal entries.
    const EVENTS = `query($id: ID!) { incident(id: $id) { events { type } } }`;
    const typesFor = async (key: string) =>
      (await server.graphql(EVENTS, { id }, key)).data!.incident.events.map((event: any) => event.type);
    expect(await typesFor(KEYS.communicator)).toEqual([
      'IncidentDeclared',
      'StatusChanged',
      'CustomerUpdatePublished',
    ]);
    expect(await typesFor(KEYS.auditor)).toContain('InternalNoteAdded');
    // …and of those events' data, what the public timeline shows: not the declaration's summary.
    const DECLARED = `query($id: ID!) { incident(id: $id) { events { data } } }`;
    const declaredData = async (key: string) =>
      (await server.graphql(DECLARED, { id }, key)).data!.incident.events[0].data;
    expect(await declaredData(KEYS.communicator)).toEqual(declared.data);
    expect(await declaredData(KEYS.auditor)).toEqual(declaredInAll.data);
    // …nor the request's fingerprint, which hashes the whole input, the summary included.
    const keyed = await declareIncident(server, {
      summary: 'An internal guess',
      idempotencyKey: `keyed-${id}`,
    });
    const FINGERPRINT = `query($id: ID!) { incident(id: $id) { events { requestFingerprint } } }`;
    const fingerprintFor = async (key: string) =>
      (await server.graphql(FINGERPRINT, { id: keyed.id }, key)).data!.incident.events[0].requestFingerprint;
    expect(await fingerprintFor(KEYS.communicator)).toBeNull();
    expect(await fingerprintFor(KEYS.auditor)).toMatch(/^[0-9a-f]{64}$/);
    await server.graphql(POST, {
      input: {
        incidentId: id,
        status: 'IDENTIFIED',
        message: 'Blame the config push',
        channels: ['EMAIL'],
        visibility: 'INTERNAL',
      },
    });
    const UPDATES = `query($id: ID!) { communications(incidentId: $id) { updates { visibility message } } }`;
    const updatesFor = async (key: string) =>
      (await server.graphql(UPDATES, { id }, key)).data!.communications.updates.map(
        (update: any) => update.visibility,
      );
    expect(await updatesFor(KEYS.auditor)).toEqual(['PUBLIC', 'INTERNAL']);
    expect(await updatesFor(KEYS.communicator)).toEqual(['PUBLIC']);
    for (const query of [
      '{ events(first: 10) { edges { node { type } } } }',
      `{ auditTrail(incidentId: "${id}") { type } }`,
    ]) {
      const refused = await server.graphql(query, {}, KEYS.communicator);
      expect(refused.errors![0].extensions!.code).toBe('FORBIDDEN');
      expect((await server.graphql(query, {}, KEYS.auditor)).errors).toBeUndefined();
    }
    const unknown = await server.graphql(TIMELINE, { id: '6f1d2c3b-0000-4000-8000-000000000000' });
    expect(unknown.errors![0].extensions!.code).toBe('NOT_FOUND');
  });

  test('communications log: updates with channels and gaps, and every ETA revision', async () => {
    const start = minutesAgo(90);
    const { id } = await declareIncident(server, { occurredAt: start });
    await server.graphql(POST, {
      input: {
        incidentId: id,
        status: 'INVESTIGATING',
        message: 'Looking into it',
        channels: ['EMAIL', 'SMS'],
        occurredAt: minutesAgo(80),
      },
    });
    await server.graphql(POST, {
      input: {
        incidentId: id,
        status: 'IDENTIFIED',
        message: 'Found it',
        channels: ['WEBSITE'],
        occurredAt: minutesAgo(40),
      },
    });
    const eta = mutation('setResolutionEstimate', 'SetResolutionEstimateInput');
    await server.graphql(
      eta,
      {
        input: {
          incidentId: id,
          estimatedResolutionAt: minutesAgo(-30),
          reason: 'First guess',
          occurredAt: minutesAgo(39),
        },
      },
      KEYS.communicator,
    );
    await server.graphql(
      eta,
      { input: { incidentId: id, estimatedResolutionAt: minutesAgo(-60), reason: 'Slower rollback' } },
      KEYS.communicator,
    );
    const { data } = await server.graphql(
      `query($id: ID!) { communications(incidentId: $id) {
        updates { status message channels visibility minutesSincePrevious }
        etaHistory { previousEstimate estimatedResolutionAt reason actor } } }`,
      { id },
    );
    const log = data!.communications;
    expect(
      log.updates.map((update: any) => [update.channels, Math.round(update.minutesSincePrevious)]),
    ).toEqual([
      [['EMAIL', 'SMS'], 10],
      [['WEBSITE'], 40],
    ]);
    expect(log.etaHistory.map((revision: any) => [revision.reason, revision.actor])).toEqual([
      ['First guess', 'carol'],
      ['Slower rollback', 'carol'],
    ]);
    expect(log.etaHistory[1].previousEstimate).toBe(log.etaHistory[0].estimatedResolutionAt);
  });

  test('public status view: open incidents and their public updates, with no names and nothing internal', async () => {
    const { id } = await declareIncident(server, { title: 'Public view probe', services: ['api'] });
    await server.graphql(mutation('addInternalNote', 'AddInternalNoteInput'), {
      input: { incidentId: id, note: 'SECRET-NOTE' },
    });
    await server.graphql(POST, {
      input: { incidentId: id, status: 'IDENTIFIED', message: 'Public words', channels: ['WEBSITE'] },
    });
    await server.graphql(POST, {
      input: {
        incidentId: id,
        status: 'IDENTIFIED',
        message: 'INTERNAL-WORDS',
        channels: ['WEBSITE'],
        visibility: 'INTERNAL',
      },
    });
    const { data } = await server.graphql(
      `{ publicStatus { services { service impact } openIncidents { id title status updates { message } workarounds { description } } recentlyResolved { id } } }`,
    );
    const probe = data!.publicStatus.openIncidents.find((incident: any) => incident.id === id);
    expect(probe.updates.map((update: any) => update.message)).toEqual(['Public words']);
    expect(data!.publicStatus.services).toContainEqual({ service: 'api', impact: 'DEGRADED_PERFORMANCE' });
    const text = JSON.stringify(data);
    for (const secret of ['SECRET-NOTE', 'INTERNAL-WORDS', 'alice', 'carol'])
      expect(text).not.toContain(secret);
  });

  test('read-your-writes: a query waits for a position, and gives up with CONSISTENCY_TIMEOUT', async () => {
    const { id, payload } = await declareIncident(server);
    const ack = await server.graphql(mutation('acknowledgeIncident', 'IncidentActionInput'), {
      input: { incidentId: id },
    });
    const position = ack.data!.acknowledgeIncident.position;
    const consistent = await server.graphql(
      `query($id: ID!, $p: String) { incident(id: $id, consistentWith: $p) { acknowledgedBy } }`,
      { id, p: position },
    );
    expect(consistent.data!.incident.acknowledgedBy).toBe('alice');
    expect(ack.data!.acknowledgeIncident.incident.lastUpdatedAt).not.toBeNull(); // payload came from the read model
    expect(BigInt(position)).toBeGreaterThan(BigInt(payload.position));

    const future = (BigInt(position) + 1_000_000n).toString();
    const started = Date.now();
    const late = await server.graphql(
      `query($id: ID!, $p: String) { incident(id: $id, consistentWith: $p) { id } }`,
      { id, p: future },
    );
    expect(late.errors![0].extensions!.code).toBe('CONSISTENCY_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    for (const malformed of ['', '-1', 'soon']) {
      const refused = await server.graphql(
        `query($id: ID!, $p: String) { incident(id: $id, consistentWith: $p) { id } }`,
        { id, p: malformed },
      );
      expect(refused.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    }

    const viaHeader = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${KEYS.auditor}`,
        'x-consistent-with': 'soon',
      },
      body: JSON.stringify({ query: '{ projectionStatus { lag } }' }),
    });
    expect(viaHeader.status).toBe(400);
    expect(((await viaHeader.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(
      (await server.graphql('{ projectionStatus { checkpoint head lag } }')).data!.projectionStatus.lag,
    ).toBe('0');
  });

  test('a page of 100 incidents with nested fields costs a bounded number of SQL queries', async () => {
    for (let n = 0; n < 100; n++)
      await declareIncident(server, { title: `cost probe ${n}`, services: ['a', 'b'] });
    const queries = (server.app.get(READ_MODELS) as ReadModels).queries;
    const cost = async (first: number) => {
      const before = queries.queryCount;
      const result = await server.graphql(
        `query($first: Int) { incidents(first: $first, filter: { titleContains: "cost probe" }) {
          edges { node { id services { service impact } roles { role } workarounds { description } events { type hash actor } } } } }`,
        { first },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.incidents.edges).toHaveLength(first);
      return queries.queryCount - before;
    };
    const forTen = await cost(10);
    const forHundred = await cost(100);
    expect(forHundred).toBe(forTen);
    expect(forHundred).toBeLessThanOrEqual(4);
  });

  test('abusive queries are rejected before they run', async () => {
    const heavy = Array.from(
      { length: 10 },
      (_, n) => `p${n}: incidents(first: 100) { edges { node { events { type data hash } } } }`,
    ).join('\n');
    const result = await server.graphql(`{ ${heavy} }`);
    expect(result.status).toBe(400);
    expect(result.errors![0].extensions!.code).toBe('QUERY_TOO_COMPLEX');

    // Too many fields to even estimate (more than 10,000, well under the body limit) is too costly too.
    const wide = Array.from(
      { length: 3_000 },
      (_, n) => `p${n}: incidents(first: 100) { edges { node { events { type } } } }`,
    ).join('\n');
    const tooWide = await server.graphql(`{ ${wide} }`);
    expect(tooWide.errors![0].extensions!.code).toBe('QUERY_TOO_COMPLEX');

    // A variable that makes one field's argument invalid: graphql-js would refuse that field and run
    // the others unestimated. The whole operation is refused before anything runs.
    const trapped = await server.graphql(
      `query($f: Int) { ${heavy} trap: incidents(first: $f) { totalCount } }`,
      {
        f: null,
      },
    );
    expect(trapped.status).toBe(400);
    expect(trapped.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(trapped.data).toBeUndefined();

    // Introspection costs a fixed amount whatever it selects: GraphiQL's fits, hundreds of it do not.
    const schemaOnce = '__schema { types { name fields { name args { name } } } }';
    expect((await server.graphql(`{ ${schemaOnce} }`)).errors).toBeUndefined();
    const schemaOften = Array.from({ length: 50 }, (_, n) => `s${n}: ${schemaOnce}`).join('\n');
    expect((await server.graphql(`{ ${schemaOften} }`)).errors![0].extensions!.code).toBe(
      'QUERY_TOO_COMPLEX',
    );
  });
});
