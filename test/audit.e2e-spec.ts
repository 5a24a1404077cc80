import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ProjectionRunner } from '../libs/read-models/index.js';
import { declareIncident, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

const AS_OF = `query($id: ID!, $version: Int, $at: DateTime) {
  incidentAsOf(id: $id, version: $version, at: $at) { status severity version estimatedResolutionAt acknowledgedBy events { version } } }`;

describe('audit over HTTP: time travel, diffs and tamper evidence', () => {
  let server: LedgerServer;
  let id: string;
  let recordedAt: string[];
  const eta = new Date(Date.now() + 3 * 3_600_000).toISOString();
  beforeAll(async () => {
    server = await LedgerServer.start();
    id = (await declareIncident(server, { severity: 'SEV3' })).id;
    await server.graphql(mutation('acknowledgeIncident', 'IncidentActionInput'), {
      input: { incidentId: id },
    });
    await server.graphql(mutation('changeSeverity', 'ChangeSeverityInput'), {
      input: { incidentId: id, severity: 'SEV1', reason: 'Spreading' },
    });
    await server.graphql(mutation('setResolutionEstimate', 'SetResolutionEstimateInput'), {
      input: { incidentId: id, estimatedResolutionAt: eta, reason: 'Failover' },
    });
    await server.graphql(mutation('resolveIncident', 'ResolveIncidentInput'), {
      input: { incidentId: id, summary: 'Failed over' },
    });
    const trail = (
      await server.graphql(
        `query($id: ID!) { auditTrail(incidentId: $id) { version recordedAt } }`,
        { id },
        KEYS.auditor,
      )
    ).data!.auditTrail;
    recordedAt = trail.map((event: any) => event.recordedAt);
  });
  afterAll(async () => {
    await server.destroy();
  });

  test('incidentAsOf by version equals the history replayed by hand', async () => {
    const byHand = [
      null,
      {
        status: 'INVESTIGATING',
        severity: 'SEV3',
        version: 1,
        estimatedResolutionAt: null,
        acknowledgedBy: null,
      },
      {
        status: 'INVESTIGATING',
        severity: 'SEV3',
        version: 2,
        estimatedResolutionAt: null,
        acknowledgedBy: 'alice',
      },
      {
        status: 'INVESTIGATING',
        severity: 'SEV1',
        version: 3,
        estimatedResolutionAt: null,
        acknowledgedBy: 'alice',
      },
      {
        status: 'INVESTIGATING',
        severity: 'SEV1',
        version: 4,
        estimatedResolutionAt: eta,
        acknowledgedBy: 'alice',
      },
      {
        status: 'RESOLVED',
        severity: 'SEV1',
        version: 5,
        estimatedResolutionAt: eta,
        acknowledgedBy: 'alice',
      },
    ];
    for (const [version, expected] of byHand.entries()) {
      const { data } = await server.graphql(AS_OF, { id, version }, KEYS.auditor);
      if (expected === null) expect(data!.incidentAsOf).toBeNull();
      else {
        expect(data!.incidentAsOf).toMatchObject(expected);
        expect(data!.incidentAsOf.events.map((event: any) => event.version)).toEqual(
          Array.from({ length: version }, (_, n) => n + 1),
        );
      }
    }
    const atThird = await server.graphql(AS_OF, { id, at: recordedAt[2] }, KEYS.auditor);
    expect(atThird.data!.incidentAsOf).toMatchObject({ version: 3, severity: 'SEV1' });
    const both = await server.graphql(AS_OF, { id, at: recordedAt[2], version: 2 }, KEYS.auditor);
    expect(both.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });

  test('incidentAsOf at the latest version answers as incident(id) does, what only the log knows included', async () => {
    const FIELDS =
      'status severity version lastUpdatedAt customerUpdateCount lastCustomerUpdateAt etaRevisions';
    const now = await server.graphql(`query($id: ID!) { incident(id: $id) { ${FIELDS} } }`, { id });
    const asOf = await server.graphql(
      `query($id: ID!) { incidentAsOf(id: $id, version: 5) { ${FIELDS} } }`,
      { id },
      KEYS.auditor,
    );
    expect(now.data!.incident.lastUpdatedAt).not.toBeNull();
    expect(asOf.data!.incidentAsOf).toEqual(now.data!.incident);
  });

  test('incidentDiff lists what changed between two versions', async () => {
    const { data } = await server.graphql(
      `query($id: ID!) { incidentDiff(id: $id, fromVersion: 2, toVersion: 4) { path before after } }`,
      { id },
      KEYS.auditor,
    );
    expect(data!.incidentDiff).toEqual(
      expect.arrayContaining([
        { path: '/severity', before: 'SEV3', after: 'SEV1' },
        { path: '/estimatedResolutionAt', before: null, after: eta },
      ]),
    );
  });

  test("incidentAsOf's events are the stored ones, whether or not the read models hold them yet", async () => {
    const incident = (await declareIncident(server)).id;
    const runner = server.app.get(ProjectionRunner);
    await runner.stop();
    try {
      // Appended while the read models stand still.
      await server.graphql(mutation('acknowledgeIncident', 'IncidentActionInput'), {
        input: { incidentId: incident },
      });
      const asOf = await server.graphql(AS_OF, { id: incident, version: 2 });
      expect(asOf.errors).toBeUndefined();
      expect(asOf.data!.incidentAsOf.events).toEqual([{ version: 1 }, { version: 2 }]);
    } finally {
      runner.start();
    }
  }, 15_000);

  test('incidentAsOf(at) goes by when events were recorded, or by when they occurred', async () => {
    const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const { id: backdated } = await declareIncident(server, { occurredAt: threeHoursAgo });
    await server.graphql(mutation('acknowledgeIncident', 'IncidentActionInput'), {
      input: { incidentId: backdated },
    });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const query = `query($id: ID!, $at: DateTime, $version: Int, $by: AsOfClock) {
      incidentAsOf(id: $id, at: $at, version: $version, by: $by) { status version acknowledgedBy events { version } } }`;

    const recorded = await server.graphql(query, { id: backdated, at: twoHoursAgo });
    const occurred = await server.graphql(query, { id: backdated, at: twoHoursAgo, by: 'OCCURRED_AT' });
    const byWithVersion = await server.graphql(query, { id: backdated, version: 1, by: 'OCCURRED_AT' });

    // Entered just now: the ledger did not hold it two hours ago…
    expect(recorded.data!.incidentAsOf).toBeNull();
    // …though it had been declared by then, and acknowledged only now.
    expect(occurred.data!.incidentAsOf).toEqual({
      status: 'INVESTIGATING',
      version: 1,
      acknowledgedBy: null,
      events: [{ version: 1 }],
    });
    expect(byWithVersion.errors![0]).toMatchObject({
      message: '`by` goes with `at`',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  test('an edit made directly in the SQLite file is detected at the exact version', async () => {
    const VERIFY = `query($id: ID!) { verifyIncidentIntegrity(id: $id) { valid checkedEvents firstBrokenVersion expectedHash foundHash headHash } }`;
    const trail = (await server.graphql(`{ auditTrail(incidentId: "${id}") { hash } }`, {}, KEYS.auditor))
      .data!.auditTrail;
    // A valid chain names its head: the anchor that shows, later, events cut off its end.
    expect((await server.graphql(VERIFY, { id }, KEYS.auditor)).data!.verifyIncidentIntegrity).toMatchObject({
      valid: true,
      checkedEvents: 5,
      headHash: trail.at(-1).hash,
    });
    await server.stop();
    const db = new Database(path.join(server.config.dataDir, 'events.db'));
    db.prepare(
      `UPDATE events SET data = json_set(data, '$.to', 'SEV2') WHERE stream_id = ? AND stream_version = 3`,
    ).run(`incident-${id}`);
    db.close();
    server = await LedgerServer.start({ dataDir: server.config.dataDir });
    const report = (await server.graphql(VERIFY, { id }, KEYS.auditor)).data!.verifyIncidentIntegrity;
    expect(report).toMatchObject({ valid: false, firstBrokenVersion: 3, checkedEvents: 3, headHash: null });
    expect(report.expectedHash).not.toBe(report.foundHash);
    // incidentAsOf's events are the store's, as it holds them now; the incident's, the read models' copy.
    const dataOf = async (query: string) => (await server.graphql(query, { id }, KEYS.auditor)).data!;
    const asOf = await dataOf(`query($id: ID!) { incidentAsOf(id: $id, version: 3) { events { data } } }`);
    const current = await dataOf(`query($id: ID!) { incident(id: $id) { events { data } } }`);
    expect(asOf.incidentAsOf.events[2].data.to).toBe('SEV2');
    expect(current.incident.events[2].data.to).toBe('SEV1');
  });

  test('a change that leaves data the ledger never writes is reported too, not an internal error', async () => {
    const { id: changed } = await declareIncident(server);
    await server.stop();
    const db = new Database(path.join(server.config.dataDir, 'events.db'));
    db.prepare(`UPDATE events SET data = json_remove(data, '$.services') WHERE stream_id = ?`).run(
      `incident-${changed}`,
    );
    db.close();
    server = await LedgerServer.start({ dataDir: server.config.dataDir });
    const answer = await server.graphql(
      `query($id: ID!) { verifyIncidentIntegrity(id: $id) { valid firstBrokenVersion }
         auditTrail(incidentId: $id) { version } }`,
      { id: changed },
      KEYS.auditor,
    );
    expect(answer).toMatchObject({
      data: {
        verifyIncidentIntegrity: { valid: false, firstBrokenVersion: 1 },
        auditTrail: [{ version: 1 }],
      },
    });
    expect(answer.errors).toBeUndefined();
  });
});
