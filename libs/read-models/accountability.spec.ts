import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  aggregateIncidentMetrics,
  COMMUNICATION_POLICY_V1,
  evaluateCommunicationCompliance,
  evolveMaintenance,
  incidentStreamId,
  initialMaintenanceState,
  isPreventiveMeasureOverdue,
  measureIncident,
  policyRegistry,
  type CommunicationPolicy,
  type IncidentMetricValues,
  type IncidentState,
  type MetricsGroup,
  type MetricsGroupBy,
  type RecordedIncidentEvent,
  type RecordedMaintenanceEvent,
  type Severity,
} from '../domain/index.js';
import { minutesAfterStart } from '../domain/testing/fixtures.js';
import { scriptIncident, type ScriptStep } from '../domain/testing/incident-script.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { AccountabilityQueries, openReadModels, ProjectionRunner, type ReadModels } from './index.js';
import { generateHistory, loadIncident, newEvent } from './testing/history.js';

describe('accountability read models over a generated history', () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: ReadModels;
  let incidentIds: string[];
  const streams = new Map<string, RecordedIncidentEvent[]>();
  const states = new Map<string, IncidentState>();
  let now: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accountability-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    readModels = openReadModels(dir);
    const runner = new ProjectionRunner(store, readModels.db);
    runner.start();
    // Few incidents open at once: most get resolved and analysed, so that every metric has values.
    ({ incidentIds } = await generateHistory(store, { seed: 21, events: 4_000, openIncidents: 12 }));
    await runner.waitForPosition((await store.headPosition())!, 10_000);
    await runner.stop();
    for (const id of incidentIds) {
      streams.set(id, (await store.readStream(incidentStreamId(id))) as unknown as RecordedIncidentEvent[]);
      states.set(id, await loadIncident(store, id));
    }
    // An hour on: running cadence intervals and preventive measures fall due meanwhile.
    now = new Date(Date.now() + 3_600_000).toISOString();
  }, 60_000);

  afterAll(async () => {
    readModels.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const measured = (): IncidentMetricValues[] =>
    incidentIds.map((id) => measureIncident(streams.get(id)!, now));

  test.each<[MetricsGroupBy, { from?: string; to?: string; recurrenceWindowDays?: number }]>([
    ['NONE', {}],
    ['SEVERITY', {}],
    ['SERVICE', { recurrenceWindowDays: 0.01 }],
    ['MONTH', {}],
    ['NONE', { from: 'middle', to: 'end', recurrenceWindowDays: 0.02 }],
  ])(
    "incidentMetrics by %s %p is the domain's aggregate of measureIncident over every stream",
    (groupBy, window) => {
      const starts = measured()
        .map((incident) => incident.startedAt)
        .sort();
      const range = {
        ...window,
        from: window.from && starts[Math.floor(starts.length / 2)],
        to: window.to && starts.at(-10),
      };
      const expected = aggregateIncidentMetrics(measured(), { groupBy, ...range });

      const actual = readModels.accountability.incidentMetrics({ groupBy, ...range }, now);

      expectSameMetrics(actual, expected);
      // Proves the comparison has something to compare.
      const all = expected.find((group) => group.key === 'ALL')?.metrics;
      if (all !== undefined && window.from === undefined) {
        expect(Object.values(all).every((value) => value !== null)).toBe(true);
        expect(all.recurrenceRate).toBeGreaterThan(0);
        expect(all.overduePreventiveMeasures).toBeGreaterThan(0);
        expect(all.cadenceCompliance).toBeLessThan(1);
      }
    },
  );

  test('an empty range is one ALL group of nothing, as the domain says', () => {
    const future = { from: '2999-01-01T00:00:00Z' };
    expect(readModels.accountability.incidentMetrics({ groupBy: 'NONE', ...future }, now)).toEqual(
      aggregateIncidentMetrics([], { groupBy: 'NONE' }),
    );
    expect(readModels.accountability.incidentMetrics({ groupBy: 'SEVERITY', ...future }, now)).toEqual([]);
  });

  test("communicationCompliance and overdueUpdates are the domain's evaluation at that moment", () => {
    const overdue = incidentIds
      .map((id) => ({ id, compliance: evaluateCommunicationCompliance(streams.get(id)!, now) }))
      .filter(({ compliance }) => compliance.overdue);

    for (const id of incidentIds) {
      expect(readModels.accountability.communicationCompliance(id, now)).toEqual(
        evaluateCommunicationCompliance(streams.get(id)!, now),
      );
    }
    expect(readModels.accountability.communicationCompliance('no-such-incident', now)).toBeNull();
    const answered = readModels.accountability.overdueUpdates(now);
    expect(new Map(answered.map((update) => [update.incidentId, update.nextUpdateDueAt]))).toEqual(
      new Map(overdue.map(({ id, compliance }) => [id, compliance.nextUpdateDueAt])),
    );
    expect(overdue.length).toBeGreaterThan(0);
    const dues = answered.map((update) => update.nextUpdateDueAt);
    expect(dues).toEqual([...dues].sort());
    const soonest = Math.min(
      ...incidentIds
        .map((id) => evaluateCommunicationCompliance(streams.get(id)!, now).nextUpdateDueAt)
        .filter((due) => due !== null && due >= now)
        .map((due) => Date.parse(due!)),
    );
    // None still to come (the clock-timed history may leave none): null, not Math.min()'s Infinity.
    expect(readModels.accountability.nextUpdateDueAfter(now)).toBe(Number.isFinite(soonest) ? soonest : null);
  });

  test('a later policy version leaves the judgement of an incident declared under an earlier one unchanged', () => {
    const stricter: CommunicationPolicy = {
      version: 2,
      perSeverity: Object.fromEntries(
        Object.keys(COMMUNICATION_POLICY_V1.perSeverity).map((severity) => [
          severity,
          {
            acknowledgeWithinMinutes: 0,
            firstUpdateWithinMinutes: 0,
            updateEveryMinutes: 1,
            requiredChannels: ['SOCIAL'],
          },
        ]),
      ) as CommunicationPolicy['perSeverity'],
    };
    const withLaterVersion = new AccountabilityQueries(
      readModels.db,
      policyRegistry('communication', [COMMUNICATION_POLICY_V1, stricter]),
    );
    const onlyV2 = policyRegistry('communication', [{ ...stricter, version: 1 }]);
    let differences = 0;
    for (const id of incidentIds) {
      const judged = withLaterVersion.communicationCompliance(id, now)!;
      expect(judged).toEqual(readModels.accountability.communicationCompliance(id, now));
      expect(judged.policyVersion).toBe(1);
      // The stricter targets would judge it otherwise: the comparison above can fail.
      if (
        JSON.stringify(evaluateCommunicationCompliance(streams.get(id)!, now, onlyV2)) !==
        JSON.stringify(judged)
      ) {
        differences += 1;
      }
    }
    expect(differences).toBeGreaterThan(incidentIds.length / 2);
  });

  test('preventiveMeasures: each filter returns exactly the matching measures, with counts and completion rate', () => {
    const all = incidentIds.flatMap((incidentId) =>
      states.get(incidentId)!.preventiveMeasures.map((measure) => ({
        ...measure,
        incidentId,
        overdue: isPreventiveMeasureOverdue(measure, now),
      })),
    );
    const dues = all.map((measure) => measure.dueDate).sort();
    const filters = [
      {},
      { owner: 'alice' },
      { statuses: ['COMPLETED' as const, 'CANCELLED' as const] },
      { overdue: true },
      { overdue: false, owner: 'bob' },
      { incidentId: all[0].incidentId },
      { dueFrom: dues[10], dueTo: dues[40] },
    ];
    for (const filter of filters) {
      const expected = all
        .filter(
          (measure) =>
            (filter.owner === undefined || measure.owner === filter.owner) &&
            (filter.statuses === undefined || filter.statuses.includes(measure.status as never)) &&
            (filter.overdue === undefined || measure.overdue === filter.overdue) &&
            (filter.incidentId === undefined || measure.incidentId === filter.incidentId) &&
            (filter.dueFrom === undefined || measure.dueDate >= filter.dueFrom) &&
            (filter.dueTo === undefined || measure.dueDate < filter.dueTo),
        )
        .sort(
          (a, b) =>
            a.dueDate.localeCompare(b.dueDate) ||
            compare(a.incidentId, b.incidentId) ||
            compare(a.measureId, b.measureId),
        );
      const notCancelled = expected.filter((measure) => measure.status !== 'CANCELLED');

      const list = readModels.accountability.preventiveMeasures(filter, now, 100_000);

      expect(list.measures).toEqual(expected);
      expect(list.totalCount).toBe(expected.length);
      expect(list.overdueCount).toBe(expected.filter((measure) => measure.overdue).length);
      expect(list.completionRate).toBe(
        notCancelled.length === 0
          ? null
          : notCancelled.filter((measure) => measure.status === 'COMPLETED').length / notCancelled.length,
      );
    }
    expect(readModels.accountability.preventiveMeasures({}, now, 5).measures).toHaveLength(5);
    expect(all.filter((measure) => measure.overdue).length).toBeGreaterThan(0);
  });

  test('rootCauses: the catalog with recurrences as the domain defines them (same category and service, N days)', () => {
    const windowDays = 0.01;
    const catalog = readModels.accountability.rootCauses({}, windowDays, 100_000);
    const causes = incidentIds.flatMap((incidentId) =>
      states.get(incidentId)!.rootCauses.map((rootCause) => ({ incidentId, rootCause })),
    );
    const started = (id: string) => Date.parse(states.get(id)!.startedAt!);
    const shareService = (a: string, b: string) =>
      Object.keys(states.get(a)!.services).some((service) => Object.hasOwn(states.get(b)!.services, service));
    const earlierOf = (incidentId: string, category: string) =>
      category === 'UNKNOWN'
        ? []
        : causes
            .filter(
              (other) =>
                other.rootCause.category === category &&
                started(other.incidentId) < started(incidentId) &&
                started(incidentId) - started(other.incidentId) <= windowDays * 86_400_000 &&
                shareService(incidentId, other.incidentId),
            )
            .map((other) => other.incidentId);

    expect(catalog.totalCount).toBe(causes.length);
    for (const entry of catalog.entries) {
      expect(new Set(entry.recurrenceOf)).toEqual(new Set(earlierOf(entry.incidentId, entry.category)));
      expect(entry).toMatchObject(
        states.get(entry.incidentId)!.rootCauses.find((cause) => cause.rootCauseId === entry.rootCauseId)!,
      );
    }
    const recurring = catalog.entries.filter((entry) => entry.recurrenceOf.length > 0);
    expect(catalog.recurringCount).toBe(recurring.length);
    expect(recurring.length).toBeGreaterThan(0);
    const onlyRecurring = readModels.accountability.rootCauses({ recurringOnly: true }, windowDays, 100_000);
    expect(onlyRecurring.entries).toEqual(recurring);
    const network = readModels.accountability.rootCauses(
      { category: 'NETWORK', service: 'api' },
      windowDays,
      100_000,
    );
    expect(network.entries.map((entry) => [entry.incidentId, entry.rootCauseId])).toEqual(
      catalog.entries
        .filter(
          (entry) =>
            entry.category === 'NETWORK' && Object.hasOwn(states.get(entry.incidentId)!.services, 'api'),
        )
        .map((entry) => [entry.incidentId, entry.rootCauseId]),
    );
  });

  test('compensations, postmortems and feedback hold what the domain state holds, with totals', () => {
    const grants = incidentIds.flatMap((incidentId) =>
      states.get(incidentId)!.compensations.map((grant) => ({ ...grant, incidentId })),
    );
    const ledger = readModels.accountability.compensations({}, 100_000);
    expect(new Set(ledger.grants)).toEqual(new Set(grants));
    expect(ledger.totalCount).toBe(grants.length);
    for (const total of ledger.totals) {
      const mine = grants.filter((grant) => grant.segment === total.segment);
      const percents = mine.flatMap((grant) => (grant.creditPercent === null ? [] : [grant.creditPercent]));
      expect(total).toMatchObject({
        grants: mine.length,
        incidents: new Set(mine.map((grant) => grant.incidentId)).size,
        outsidePolicy: mine.filter((grant) => grant.creditPercent !== grant.suggestedPercent).length,
      });
      if (percents.length === 0) expect(total.averageCreditPercent).toBeNull();
      else
        expect(total.averageCreditPercent).toBeCloseTo(
          percents.reduce((a, b) => a + b, 0) / percents.length,
          9,
        );
      for (const { currency, amount } of total.amounts) {
        expect(amount).toBe(
          mine.filter((grant) => grant.currency === currency).reduce((sum, grant) => sum + grant.amount!, 0),
        );
      }
    }
    expect(ledger.totals.at(-1)).toMatchObject({
      segment: null,
      amounts: [{ currency: 'EUR' }, { currency: 'USD' }],
    });

    const postmortems = incidentIds.filter((id) => states.get(id)!.postmortem !== null);
    expect(
      readModels.accountability
        .postmortems(undefined, undefined, 100_000)
        .postmortems.map((entry) => entry.incidentId)
        .sort(),
    ).toEqual(postmortems.sort());

    const rated = incidentIds.filter((id) => states.get(id)!.feedback.length > 0);
    expect(rated.length).toBeGreaterThan(0);
    for (const id of rated) {
      const ratings = states.get(id)!.feedback.map((feedback) => feedback.rating);
      expect(readModels.accountability.incidentFeedback(id)).toMatchObject({
        responses: ratings.length,
        averageRating: ratings.reduce((a, b) => a + b, 0) / ratings.length,
      });
    }
    const bySeverity = readModels.accountability.feedbackBySeverity(undefined, undefined);
    for (const { severity, responses, averageRating } of bySeverity) {
      const ratings = rated
        .filter((id) => states.get(id)!.severity === severity)
        .flatMap((id) => states.get(id)!.feedback.map((feedback) => feedback.rating));
      expect(responses).toBe(ratings.length);
      expect(averageRating).toBeCloseTo(ratings.reduce((a, b) => a + b, 0) / ratings.length, 9);
    }
  });

  test("each maintenance is the domain's fold of its stream, and the filters select by status, service and window", async () => {
    const events = (await store.readAll(null, 100_000)).filter((event) =>
      event.streamId.startsWith('maintenance-'),
    );
    const folded = new Map<string, ReturnType<typeof initialMaintenanceState>>();
    for (const event of events) {
      const id = event.streamId.slice('maintenance-'.length);
      folded.set(
        id,
        evolveMaintenance(
          folded.get(id) ?? initialMaintenanceState(),
          event as unknown as RecordedMaintenanceEvent,
        ),
      );
    }
    const all = [...folded.values()].sort(
      (a, b) => compare(a.windowStart!, b.windowStart!) || compare(a.id!, b.id!),
    );
    expect(readModels.maintenances.maintenances({})).toEqual(all);
    expect(readModels.maintenances.maintenance(all[0].id!)).toEqual(all[0]);
    expect(readModels.maintenances.maintenance('no-such-maintenance')).toBeNull();
    const middle = all[Math.floor(all.length / 2)];
    const window = { windowFrom: middle.windowStart!, windowTo: middle.windowEnd! };
    expect(
      readModels.maintenances.maintenances({
        ...window,
        statuses: ['SCHEDULED'],
        service: middle.services[0],
      }),
    ).toEqual(
      all.filter(
        (each) =>
          each.status === 'SCHEDULED' &&
          each.services.includes(middle.services[0]) &&
          each.windowStart! < window.windowTo &&
          each.windowEnd! > window.windowFrom,
      ),
    );
    expect(new Set(all.map((each) => each.status))).toEqual(new Set(['SCHEDULED', 'COMPLETED', 'CANCELLED']));
  });
});

describe('accountability read models of reopened incidents', () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: ReadModels;
  const DAY_MINUTES = 1_440;
  const reopen: ScriptStep[1] = { type: 'ReopenIncident', data: { reason: 'Slow again' } };
  const update: ScriptStep[1] = {
    type: 'PostStatusUpdate',
    data: {
      status: 'INVESTIGATING',
      message: 'Looking',
      channels: ['EMAIL', 'SMS', 'WEBSITE'],
      visibility: 'PUBLIC',
    },
  };
  const resolve: ScriptStep[1] = { type: 'ResolveIncident', data: { summary: 'Fixed' } };
  const declared = (incidentId: string, severity: Severity): ScriptStep[] => [
    [
      0,
      {
        type: 'DeclareIncident',
        data: { incidentId, title: 'Search is slow', severity, services: ['search'] },
      },
    ],
    [1, { type: 'AcknowledgeIncident', data: {} }],
    [5, update],
    [10, resolve],
    [20, reopen],
  ];
  // Each on a day of its own (so that a range selects it alone), with the moments (minutes after
  // its start, none before its last event) it is judged at. A SEV1 reopened at 20 owes its first
  // update by 35; a SEV3 one by 140.
  const scripted: Array<{ id: string; steps: ScriptStep[]; moments: number[] }> = [
    { id: 'silent', steps: declared('silent', 'SEV1'), moments: [20, 35, 36, 300] },
    { id: 'silent-sev3', steps: declared('silent-sev3', 'SEV3'), moments: [20, 140, 141] },
    {
      id: 'silent-resolved',
      steps: [...declared('silent-resolved', 'SEV1'), [260, resolve]],
      moments: [260, 300],
    },
    { id: 'updated', steps: [...declared('updated', 'SEV1'), [30, update]], moments: [30, 60, 61] },
    {
      id: 'late',
      steps: [
        ...declared('late', 'SEV1').slice(0, 3),
        [15, resolve],
        [25, reopen],
        [255, update],
        [265, resolve],
      ],
      moments: [265, 355],
    },
  ];
  const incidents = scripted.map(({ steps, ...incident }, day) => ({
    ...incident,
    day,
    steps: steps.map(([minutes, command]): ScriptStep => [day * DAY_MINUTES + minutes, command]),
  }));
  const events = new Map(incidents.map(({ id, steps }) => [id, scriptIncident(steps)]));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accountability-reopened-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    readModels = openReadModels(dir);
    const runner = new ProjectionRunner(store, readModels.db);
    runner.start();
    for (const [id, stream] of events) {
      const envelopes = stream.map((event) =>
        newEvent(event.type, event.data, event.occurredAt, event.actor),
      );
      await store.appendToStream(incidentStreamId(id), envelopes, 'no-stream');
    }
    await runner.waitForPosition((await store.headPosition())!, 10_000);
    await runner.stop();
  });

  afterAll(async () => {
    readModels.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the running interval from a reopening is re-judged at query time as the domain judges it', () => {
    const cadences = new Map<string, Array<number | null>>();
    for (const { id, day, moments } of incidents) {
      const range = {
        from: minutesAfterStart(day * DAY_MINUTES),
        to: minutesAfterStart(day * DAY_MINUTES + 1),
      };
      for (const minutes of moments) {
        const now = minutesAfterStart(day * DAY_MINUTES + minutes);
        const expected = aggregateIncidentMetrics([measureIncident(events.get(id)!, now)], {
          groupBy: 'NONE',
          ...range,
        });
        const actual = readModels.accountability.incidentMetrics({ groupBy: 'NONE', ...range }, now);
        expectSameMetrics(actual, expected);
        cadences.set(id, [...(cadences.get(id) ?? []), actual[0].metrics.cadenceCompliance]);
        const compliance = evaluateCommunicationCompliance(events.get(id)!, now);
        expect(readModels.accountability.communicationCompliance(id, now)).toEqual(compliance);
        const overdue = readModels.accountability.overdueUpdates(now).filter((due) => due.incidentId === id);
        expect(overdue.map((due) => due.nextUpdateDueAt)).toEqual(
          compliance.overdue ? [compliance.nextUpdateDueAt] : [],
        );
      }
    }
    // Proves the comparison has something to compare: gaps that opened after the last event.
    expect(Object.fromEntries(cadences)).toEqual({
      silent: [1, 1, 0.5, 0.5],
      'silent-sev3': [1, 1, 0.5],
      'silent-resolved': [0.5, 0.5],
      updated: [1, 1, 2 / 3],
      late: [2 / 3, 2 / 3],
    });
  });
});

/** Equal groups and counts; averages equal but for the order of floating-point additions. */
function expectSameMetrics(actual: MetricsGroup[], expected: MetricsGroup[]): void {
  expect(actual.map((group) => group.key)).toEqual(expected.map((group) => group.key));
  actual.forEach(({ metrics }, index) => {
    for (const [name, value] of Object.entries(expected[index].metrics)) {
      const got = metrics[name as keyof typeof metrics];
      if (value === null) expect([name, got]).toEqual([name, null]);
      else expect([name, got]).toEqual([name, expect.closeTo(value, 9)]);
    }
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
