import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { KEYS, LedgerServer } from './support/ledger-server.js';

/** The minutes after the scripted incident's start, as an instant. */
const START = Date.parse('2024-03-04T10:00:00.000Z');
const at = (minutes: number) => new Date(START + minutes * 60_000).toISOString();

/** Runs a mutation; returns its position (fails the test on any error). */
async function run(
  server: LedgerServer,
  name: string,
  inputType: string,
  input: Record<string, unknown>,
  key: string = KEYS.responder,
) {
  const result = await server.graphql(
    `mutation($input: ${inputType}!) { ${name}(input: $input) { position incident { id } } }`,
    { input },
    key,
  );
  if (result.errors) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
  return result.data![name] as { position: string; incident: { id: string } };
}

const ALL_CHANNELS = ['EMAIL', 'SMS', 'WEBSITE'];

const METRICS = `query($from: DateTime, $to: DateTime, $groupBy: MetricsGroupBy, $days: Float, $at: String) {
  incidentMetrics(from: $from, to: $to, groupBy: $groupBy, recurrenceWindowDays: $days, consistentWith: $at) {
    key metrics { incidentCount mttaMinutes timeToFirstUpdateMinutes timeToMitigateMinutes mttrMinutes
      cadenceCompliance finalEtaErrorMinutes firstEtaErrorMinutes etaRevisions recurrenceRate
      overduePreventiveMeasures } } }`;

describe('accountability: a scripted SEV1 incident, measured by hand, over real HTTP', () => {
  let server: LedgerServer;
  let incidentId: string;
  let earlierId: string;
  let lastPosition: string;

  beforeAll(async () => {
    server = await LedgerServer.start();
    const step = (
      name: string,
      inputType: string,
      minutes: number,
      input: Record<string, unknown> = {},
      key?: string,
    ) => run(server, name, inputType, { incidentId, occurredAt: at(minutes), ...input }, key);

    // An earlier incident, 14 days before, with the same kind of cause on the same service.
    earlierId = (
      await run(server, 'declareIncident', 'DeclareIncidentInput', {
        title: 'Checkout deploy broke carts',
        severity: 'SEV2',
        services: ['checkout'],
        occurredAt: at(-14 * 24 * 60),
      })
    ).incident.id;
    await run(server, 'identifyRootCause', 'IdentifyRootCauseInput', {
      incidentId: earlierId,
      category: 'CHANGE_DEPLOY',
      description: 'A deploy without a canary',
      trigger: 'Deploy 41',
      detection: 'Customer reports',
      occurredAt: at(-14 * 24 * 60 + 30),
    });

    incidentId = (
      await run(server, 'declareIncident', 'DeclareIncidentInput', {
        title: 'Checkout down',
        severity: 'SEV1',
        services: ['checkout'],
        occurredAt: at(0),
      })
    ).incident.id;
    const update = (minutes: number, status: string, channels: string[], visibility = 'PUBLIC') =>
      step('postStatusUpdate', 'PostStatusUpdateInput', minutes, {
        status,
        message: `Update at +${minutes} min`,
        channels,
        visibility,
      });
    await step('acknowledgeIncident', 'IncidentActionInput', 4);
    await update(12, 'INVESTIGATING', ALL_CHANNELS);
    await step('setResolutionEstimate', 'SetResolutionEstimateInput', 20, {
      estimatedResolutionAt: at(60),
      reason: 'First estimate',
    });
    await update(30, 'INVESTIGATING', ['EMAIL'], 'INTERNAL');
    await update(40, 'IDENTIFIED', ['EMAIL', 'WEBSITE']);
    await step('setResolutionEstimate', 'SetResolutionEstimateInput', 50, {
      estimatedResolutionAt: at(90),
      reason: 'The rollback is slow',
    });
    await update(85, 'MONITORING', ALL_CHANNELS);
    await step('mitigateIncident', 'MitigateIncidentInput', 90, { summary: 'Traffic shifted' });
    await step('resolveIncident', 'ResolveIncidentInput', 105, { summary: 'Rolled back' });
    await step('identifyRootCause', 'IdentifyRootCauseInput', 120, {
      category: 'CHANGE_DEPLOY',
      description: 'A deploy without a canary, again',
      trigger: 'Deploy 42',
      detection: 'Error-rate alert',
    });
    await step('planPreventiveMeasure', 'PlanPreventiveMeasureInput', 125, {
      title: 'Canary stage for checkout',
      kind: 'PREVENT',
      owner: 'dave',
      dueDate: at(24 * 60),
      priority: 'P1',
    });
    // Money leaves the company: admins grant compensation.
    const grant = { segment: 'ENTERPRISE', creditPercent: 10 };
    await step('grantCompensation', 'GrantCompensationInput', 130, grant, KEYS.admin);
    const justified = { segment: 'BUSINESS', creditPercent: 20, justification: 'Black Friday week' };
    await step('grantCompensation', 'GrantCompensationInput', 131, justified, KEYS.admin);
    await step('recordCustomerFeedback', 'RecordCustomerFeedbackInput', 200, { rating: 4, channel: 'EMAIL' });
    lastPosition = (
      await step('recordCustomerFeedback', 'RecordCustomerFeedbackInput', 201, { rating: 2, channel: 'SMS' })
    ).position;
  }, 60_000);

  afterAll(async () => {
    await server.destroy();
  });

  const metrics = async (variables: Record<string, unknown>) => {
    const result = await server.graphql(METRICS, {
      from: at(-60),
      to: at(24 * 60),
      at: lastPosition,
      ...variables,
    });
    expect(result.errors).toBeUndefined();
    return result.data!.incidentMetrics;
  };

  test('incidentMetrics gives exactly the values worked out by hand', async () => {
    const expected = {
      incidentCount: 1,
      // Acknowledged at +4 min.
      mttaMinutes: 4,
      // The first PUBLIC update at +12 (the INTERNAL one at +30 does not count).
      timeToFirstUpdateMinutes: 12,
      // Mitigated at +90.
      timeToMitigateMinutes: 90,
      // Resolved at +105.
      mttrMinutes: 105,
      // SEV1 cadence 30 min; intervals 12→40 = 28 (ok), 40→85 = 45 (a gap), 85→resolution 105 = 20 (ok): 2/3.
      cadenceCompliance: 2 / 3,
      // The last ETA, +90, against the resolution at +105: 15.
      finalEtaErrorMinutes: 15,
      // The first ETA, +60: 45.
      firstEtaErrorMinutes: 45,
      // Two estimates: one revision.
      etaRevisions: 1,
      // CHANGE_DEPLOY on checkout 14 days earlier (the earlier incident is outside [from, to) but
      // counts as earlier), within the default 30 days: 1 of the 1 incident with a cause recurs.
      recurrenceRate: 1,
      // The measure was due a day after the start, in 2024, and is neither done nor cancelled.
      overduePreventiveMeasures: 1,
    };
    const [all] = await metrics({});
    expect(all.key).toBe('ALL');
    expect(all.metrics).toEqual({ ...expected, cadenceCompliance: expect.closeTo(2 / 3, 12) });
    expect(await metrics({ groupBy: 'SEVERITY' })).toEqual([{ key: 'SEV1', metrics: all.metrics }]);
    expect(await metrics({ groupBy: 'MONTH' })).toEqual([{ key: '2024-03', metrics: all.metrics }]);
    expect(await metrics({ groupBy: 'SERVICE' })).toEqual([{ key: 'checkout', metrics: all.metrics }]);
    // Within 7 days, 14 days apart is no recurrence: 0 of 1.
    expect((await metrics({ days: 7 }))[0].metrics.recurrenceRate).toBe(0);
    // Both incidents: the earlier one has no acknowledgement, update or resolution, so the
    // averages are the scripted incident's; its cause has nothing earlier: 1 of 2 recur.
    const [both] = await metrics({ from: null });
    expect(both.metrics).toMatchObject({ incidentCount: 2, mttaMinutes: 4, recurrenceRate: 0.5 });
  });

  test('communicationCompliance judges each target of the policy version it was declared under', async () => {
    const result = await server.graphql(
      `query($id: ID!) { communicationCompliance(incidentId: $id) { policyVersion acknowledgedWithinTarget
         firstUpdateWithinTarget cadenceCompliance judgedIntervals gaps { from to minutes overByMinutes }
         missingRequiredChannels updatesMissingChannels { occurredAt missingChannels } nextUpdateDueAt overdue } }`,
      { id: incidentId },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.communicationCompliance).toEqual({
      policyVersion: 1,
      // SEV1: acknowledge within 5 min (at +4), first update within 15 (at +12).
      acknowledgedWithinTarget: true,
      firstUpdateWithinTarget: true,
      cadenceCompliance: expect.closeTo(2 / 3, 12),
      judgedIntervals: 3,
      // +40 → +85 is 45 minutes, 15 more than the 30 allowed.
      gaps: [{ from: at(40), to: at(85), minutes: 45, overByMinutes: 15 }],
      // The +40 update went out by EMAIL and WEBSITE; SEV1 requires SMS too.
      missingRequiredChannels: ['SMS'],
      updatesMissingChannels: [{ occurredAt: at(40), missingChannels: ['SMS'] }],
      nextUpdateDueAt: null,
      overdue: false,
    });
    const unknown = await server.graphql(
      '{ communicationCompliance(incidentId: "00000000-0000-4000-8000-000000000000") { policyVersion } }',
    );
    expect(unknown.errors![0].extensions!.code).toBe('NOT_FOUND');
  });

  test('the catalogs: root causes with their recurrence, measures, compensation and feedback', async () => {
    const result = await server.graphql(
      `query($id: ID!) {
         rootCauses(filter: { service: "checkout" }) { totalCount recurringCount entries { incidentId category recurrenceOf } }
         recent: rootCauses(recurrenceWindowDays: 7) { recurringCount }
         preventiveMeasures(filter: { owner: "dave", overdue: true }) { totalCount overdueCount completionRate
           measures { incidentId title status overdue dueDate } }
         compensations { totalCount totals { segment grants averageCreditPercent outsidePolicy } grants { segment suggestedPercent } }
         customerFeedback(incidentId: $id) { responses averageRating }
         feedbackBySeverity { severity responses averageRating }
       }`,
      { id: incidentId },
    );
    expect(result.errors).toBeUndefined();
    const data = result.data!;
    expect(data.rootCauses).toEqual({
      totalCount: 2,
      recurringCount: 1,
      entries: [
        { incidentId, category: 'CHANGE_DEPLOY', recurrenceOf: [earlierId] },
        { incidentId: earlierId, category: 'CHANGE_DEPLOY', recurrenceOf: [] },
      ],
    });
    expect(data.recent.recurringCount).toBe(0);
    expect(data.preventiveMeasures).toEqual({
      totalCount: 1,
      overdueCount: 1,
      // Nothing completed of the one measure not cancelled.
      completionRate: 0,
      measures: [
        {
          incidentId,
          title: 'Canary stage for checkout',
          status: 'PLANNED',
          overdue: true,
          dueDate: at(24 * 60),
        },
      ],
    });
    // The outage lasted 105 minutes: policy v1 gives ENTERPRISE 10 % and BUSINESS 5 % from 30 minutes on.
    expect(data.compensations).toEqual({
      totalCount: 2,
      totals: [
        { segment: 'BUSINESS', grants: 1, averageCreditPercent: 20, outsidePolicy: 1 },
        { segment: 'ENTERPRISE', grants: 1, averageCreditPercent: 10, outsidePolicy: 0 },
      ],
      grants: [
        { segment: 'BUSINESS', suggestedPercent: 5 },
        { segment: 'ENTERPRISE', suggestedPercent: 10 },
      ],
    });
    // Ratings 4 and 2.
    expect(data.customerFeedback).toEqual({ responses: 2, averageRating: 3 });
    expect(data.feedbackBySeverity).toEqual([{ severity: 'SEV1', responses: 2, averageRating: 3 }]);
  });

  test('the internal catalogs are not for communicators', async () => {
    const result = await server.graphql('{ compensations { totalCount } }', {}, KEYS.communicator);
    expect(result.errors![0].extensions!.code).toBe('FORBIDDEN');
  });
});

/** A graphql-ws subscription to updateOverdue, collecting the incident ids it announces. */
function followOverdue(server: LedgerServer, key: string | null) {
  const announced: string[] = [];
  let closeCode: number | undefined;
  const client: Client = createClient({
    url: `${server.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    on: { closed: (event) => (closeCode = (event as { code?: number }).code) },
  });
  client.subscribe<{ updateOverdue: { incidentId: string } }>(
    { query: 'subscription { updateOverdue { incidentId nextUpdateDueAt overdueByMinutes } }' },
    {
      next: ({ data }) => announced.push(data!.updateOverdue.incidentId),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  const until = async (
    predicate: () => boolean,
    what: string,
    poke: () => Promise<unknown> = async () => undefined,
  ) => {
    while (!predicate()) {
      if (closeCode !== undefined) throw new Error(`closed (${closeCode}) while waiting for ${what}`);
      await poke();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { announced, until, closeCode: () => closeCode, close: () => client.dispose() };
}

describe('overdue customer updates', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  /** Declares a SEV1 incident whose first update (due 15 minutes after the start) is due in `seconds`. */
  const declareDueIn = async (seconds: number) =>
    (
      await run(server, 'declareIncident', 'DeclareIncidentInput', {
        title: `Due in ${seconds} s`,
        severity: 'SEV1',
        occurredAt: new Date(Date.now() - 15 * 60_000 + seconds * 1_000).toISOString(),
      })
    ).incident.id;

  test('the subscription announces each update the moment it becomes overdue, re-armed as updates arrive', async () => {
    const watcher = followOverdue(server, KEYS.auditor);
    // Incidents already overdue are announced as soon as they are known: poke until the
    // subscription is live.
    const probes: string[] = [];
    await watcher.until(
      () => watcher.announced.length > 0,
      'a probe',
      async () => probes.push(await declareDueIn(-60)),
    );

    const updatedInTime = await declareDueIn(2);
    const later = await declareDueIn(4);
    await run(server, 'postStatusUpdate', 'PostStatusUpdateInput', {
      incidentId: updatedInTime,
      status: 'INVESTIGATING',
      message: 'Looking into it',
      channels: ALL_CHANNELS,
    });
    const alreadyLate = await declareDueIn(-300);
    await watcher.until(() => watcher.announced.includes(later), 'the incident due in 4 s');

    // The one updated in time, due before `later` at first, is never announced; the timer moved on.
    expect(watcher.announced.filter((id) => !probes.includes(id))).toEqual([alreadyLate, later]);
    const overdue = (await server.graphql('{ overdueUpdates { incidentId overdueByMinutes } }')).data!
      .overdueUpdates;
    expect(overdue.map((update: { incidentId: string }) => update.incidentId)).toEqual([
      alreadyLate,
      // Each probe was due a minute before its own declaration.
      ...probes,
      later,
    ]);
    expect(overdue.every((update: { overdueByMinutes: number }) => update.overdueByMinutes > 0)).toBe(true);
    watcher.close();
  }, 30_000);

  test('a subscriber without a valid key is refused like on every subscription', async () => {
    const stranger = followOverdue(server, 'not-a-key-0123456789');
    await stranger
      .until(() => stranger.closeCode() !== undefined, 'the socket to close')
      .catch(() => undefined);
    expect(stranger.closeCode()).toBe(4403);
  });
});
