import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chainHash, GENESIS_HASH } from '../libs/event-store/index.js';
import { declareIncident, INCIDENT_FIELDS, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

const minutesFrom = (iso: string, minutes: number) =>
  new Date(Date.parse(iso) + minutes * 60_000).toISOString();

describe('an incident through its customer-facing lifecycle, over HTTP', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  test('every step is an event with actor, times, version and a valid hash chain; all of it survives a restart', async () => {
    const declaredAt = new Date(Date.now() - 60 * 60_000).toISOString(); // backdated an hour
    const { id, payload } = await declareIncident(server, {
      occurredAt: declaredAt,
      summary: 'Payments time out',
    });
    expect(payload.version).toBe(1);
    expect(payload.position).toMatch(/^\d+$/);

    const steps: Array<[string, string, Record<string, unknown>, string]> = [
      ['acknowledgeIncident', 'IncidentActionInput', {}, KEYS.responder],
      [
        'postStatusUpdate',
        'PostStatusUpdateInput',
        {
          status: 'IDENTIFIED',
          message: 'Card payments fail; we found the cause.',
          channels: ['EMAIL', 'WEBSITE'],
          nextUpdateInMinutes: 30,
        },
        KEYS.communicator,
      ],
      [
        'setResolutionEstimate',
        'SetResolutionEstimateInput',
        { estimatedResolutionAt: minutesFrom(declaredAt, 120), reason: 'Rollback under way' },
        KEYS.communicator,
      ],
      [
        'setResolutionEstimate',
        'SetResolutionEstimateInput',
        { estimatedResolutionAt: minutesFrom(declaredAt, 180), reason: 'Rollback slower than expected' },
        KEYS.communicator,
      ],
      [
        'offerWorkaround',
        'OfferWorkaroundInput',
        { description: 'Pay by bank transfer meanwhile.' },
        KEYS.communicator,
      ],
      [
        'resolveIncident',
        'ResolveIncidentInput',
        { summary: 'Rolled back the faulty deploy.' },
        KEYS.responder,
      ],
    ];
    let lastPosition = BigInt(payload.position);
    for (const [name, inputType, input, key] of steps) {
      const result = await server.graphql(
        mutation(name, inputType),
        { input: { incidentId: id, ...input } },
        key,
      );
      expect(result.errors).toBeUndefined();
      const position = BigInt(result.data![name].position);
      expect(position).toBeGreaterThan(lastPosition);
      lastPosition = position;
    }

    const read = async (s: LedgerServer) =>
      (await s.graphql(`query($id: ID!) { incident(id: $id) { ${INCIDENT_FIELDS} } }`, { id }, KEYS.auditor))
        .data!.incident;
    const incident = await read(server);
    expect(incident).toMatchObject({
      status: 'RESOLVED',
      severity: 'SEV2',
      declaredBy: 'alice',
      acknowledgedBy: 'alice',
      startedAt: declaredAt,
      estimatedResolutionAt: minutesFrom(declaredAt, 180),
      etaRevisions: 1,
      resolutionSummary: 'Rolled back the faulty deploy.',
      workarounds: [
        expect.objectContaining({ description: 'Pay by bank transfer meanwhile.', active: true }),
      ],
    });
    expect(incident.events.map((event: any) => event.type)).toEqual([
      'IncidentDeclared',
      'IncidentAcknowledged',
      'StatusChanged',
      'CustomerUpdatePublished',
      'ResolutionEstimateSet',
      'ResolutionEstimateSet',
      'WorkaroundOffered',
      'IncidentResolved',
    ]);
    expect(incident.version).toBe(8);
    expect(incident.events.map((event: any) => event.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(incident.events.map((event: any) => event.actor)).toEqual([
      'alice',
      'alice',
      'carol',
      'carol',
      'carol',
      'carol',
      'carol',
      'alice',
    ]);
    expect(incident.events[0]).toMatchObject({
      occurredAt: declaredAt,
      backdated: true,
      streamId: `incident-${id}`,
    });
    // Entered as they happened (milliseconds before they were stored): not backdated, as in the timeline.
    expect(incident.events.slice(1).map((event: any) => event.backdated)).toEqual(Array(7).fill(false));
    expect(incident.events[5].data).toMatchObject({
      previousEstimate: minutesFrom(declaredAt, 120),
      reason: 'Rollback slower than expected',
    });

    // The hash chain recomputes from the envelopes the API shows.
    let previous = GENESIS_HASH;
    for (const event of incident.events) {
      const { version, position: _position, hash, backdated: _backdated, ...rest } = event;
      expect(Date.parse(event.occurredAt)).toBeLessThanOrEqual(Date.parse(event.recordedAt));
      expect(hash).toBe(chainHash(previous, { ...rest, streamVersion: version }));
      previous = hash;
    }

    server = await server.restart();
    expect(await read(server)).toEqual(incident);
  });

  test('a status may move back, and the move is recorded', async () => {
    const { id } = await declareIncident(server);
    const post = mutation('postStatusUpdate', 'PostStatusUpdateInput');
    for (const status of ['MONITORING', 'INVESTIGATING']) {
      const result = await server.graphql(post, {
        input: { incidentId: id, status, message: `Now ${status}`, channels: ['WEBSITE'] },
      });
      expect(result.errors).toBeUndefined();
      expect(result.data!.postStatusUpdate.incident.status).toBe(status);
    }
    const { data } = await server.graphql(`query($id: ID!) { incident(id: $id) { events { type data } } }`, {
      id,
    });
    const moves = data!.incident.events
      .filter((event: any) => event.type === 'StatusChanged')
      .map((event: any) => event.data);
    expect(moves).toEqual([
      { from: 'INVESTIGATING', to: 'MONITORING' },
      { from: 'MONITORING', to: 'INVESTIGATING' },
    ]);
  });

  test("the incident's time to mitigate is its metric's: the resolution without a mitigation, kept when reopened", async () => {
    const start = new Date(Date.now() - 120 * 60_000).toISOString();
    const { id } = await declareIncident(server, { occurredAt: start });
    const act = async (name: string, input: Record<string, unknown>) => {
      const type = `${name[0].toUpperCase()}${name.slice(1)}Input`;
      const result = await server.graphql(mutation(name, type), { input: { incidentId: id, ...input } });
      expect(result.errors).toBeUndefined();
    };
    const minutes = async () => {
      const { data } = await server.graphql(
        `query($id: ID!, $from: DateTime!, $to: DateTime!) { incident(id: $id) { minutesToMitigate }
           incidentMetrics(from: $from, to: $to) { metrics { timeToMitigateMinutes } } }`,
        { id, from: start, to: minutesFrom(start, 0.001) },
      );
      return [data!.incident.minutesToMitigate, data!.incidentMetrics[0].metrics.timeToMitigateMinutes];
    };
    expect(await minutes()).toEqual([null, null]);
    await act('resolveIncident', { summary: 'Rolled back', occurredAt: minutesFrom(start, 60) });
    expect(await minutes()).toEqual([60, 60]);
    await act('reopenIncident', { reason: 'Back again', occurredAt: minutesFrom(start, 70) });
    await act('mitigateIncident', { occurredAt: minutesFrom(start, 80) });
    expect(await minutes()).toEqual([60, 60]);
  });

  test("an occurredAt a little ahead of the server's clock (a fast client clock) is taken as now", async () => {
    const before = new Date().toISOString();
    const { payload } = await declareIncident(server, {
      occurredAt: new Date(Date.now() + 30_000).toISOString(),
    });
    expect(payload.incident.startedAt >= before).toBe(true);
    expect(payload.incident.startedAt <= new Date().toISOString()).toBe(true);
  });

  test('an unknown incident is null, and acting on it is NOT_FOUND', async () => {
    const unknown = '6f1d2c3b-0000-4000-8000-000000000000';
    const query = await server.graphql(`query($id: ID!) { incident(id: $id) { id } }`, { id: unknown });
    expect(query.data!.incident).toBeNull();
    const ack = await server.graphql(mutation('acknowledgeIncident', 'IncidentActionInput'), {
      input: { incidentId: unknown },
    });
    expect(ack.errors![0].extensions!.code).toBe('NOT_FOUND');
  });
});
