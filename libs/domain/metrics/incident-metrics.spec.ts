import { describe, expect, it } from '@jest/globals';
import type { Channel, RecordedIncidentEvent } from '../incident/incident.js';
import { COMMUNICATION_POLICY_V1, type CommunicationPolicy } from '../policies/communication-policy.js';
import { policyRegistry } from '../policies/policy-registry.js';
import { minutesAfterStart, START } from '../testing/fixtures.js';
import { scriptIncident, type ScriptStep } from '../testing/incident-script.js';
import { evaluateCommunicationCompliance, type CommunicationCompliance } from './communication-compliance.js';
import {
  aggregateIncidentMetrics,
  measureIncident,
  recurringIncidentIds,
  type IncidentMetricValues,
} from './incident-metrics.js';

const ALL_REQUIRED: Channel[] = ['EMAIL', 'SMS', 'WEBSITE'];
const update = (
  status: 'INVESTIGATING' | 'IDENTIFIED' | 'MONITORING',
  channels: Channel[],
  visibility: 'PUBLIC' | 'INTERNAL' = 'PUBLIC',
  nextUpdateInMinutes: number | null = null,
): ScriptStep[1] => ({
  type: 'PostStatusUpdate',
  data: { status, message: `Status: ${status}`, channels, visibility, nextUpdateInMinutes },
});
const eta = (minutes: number, reason: string): ScriptStep[1] => ({
  type: 'SetResolutionEstimate',
  data: { estimatedResolutionAt: minutesAfterStart(minutes), reason },
});
const DAY = 24 * 60;

/**
 * THE scripted SEV1 incident of issue 4. Declared at START (2024-05-01T10:00Z) under communication
 * policy 1, whose SEV1 targets are: acknowledge within 5, first update within 15, update every 30
 * minutes, on EMAIL, SMS and WEBSITE.
 */
const SEV1_SCRIPT: ScriptStep[] = [
  [
    0,
    {
      type: 'DeclareIncident',
      data: {
        incidentId: 'inc-sev1',
        title: 'Card payments fail',
        severity: 'SEV1',
        services: ['checkout'],
        communicationPolicyVersion: 1,
        compensationPolicyVersion: 1,
      },
    },
  ],
  [4, { type: 'AcknowledgeIncident', data: {} }], // 10:04
  [12, update('INVESTIGATING', ALL_REQUIRED, 'PUBLIC', 30)], // 10:12
  [20, eta(90, 'Rolling back the deploy')], // 10:20, ETA 11:30
  [35, update('INVESTIGATING', ['EMAIL'], 'INTERNAL')], // 10:35, internal: not a customer update
  [40, update('IDENTIFIED', ALL_REQUIRED)], // 10:40
  [50, eta(120, 'The rollback is slower than planned')], // 10:50, ETA 12:00
  [85, update('IDENTIFIED', ['EMAIL', 'SMS'])], // 11:25, without WEBSITE
  [90, { type: 'MitigateIncident', data: { summary: 'Traffic moved to the old version' } }], // 11:30
  [105, eta(135, 'Caches are warming')], // 11:45, ETA 12:15
  [112.5, update('MONITORING', ALL_REQUIRED)], // 11:52:30
  [150, { type: 'ResolveIncident', data: { summary: 'Rolled back' } }], // 12:30
  [
    160,
    {
      type: 'IdentifyRootCause',
      data: {
        rootCauseId: 'rc-1',
        category: 'CHANGE_DEPLOY',
        description: 'Deploy 4711 dropped an index',
        contributingFactors: ['No migration review'],
        trigger: 'Deploy 4711',
        detection: 'Error-rate alert',
      },
    },
  ],
  ...(['pm-1', 'pm-2', 'pm-3'] as const).map((measureId, index): ScriptStep => [
    165 + index,
    {
      type: 'PlanPreventiveMeasure',
      data: {
        measureId,
        title: `Measure ${measureId}`,
        kind: 'PREVENT',
        owner: 'dora',
        // pm-1 due after 7 days, pm-2 after 2, pm-3 after 1.
        dueDate: minutesAfterStart([7, 2, 1][index] * DAY),
        priority: 'P2',
        rootCauseId: 'rc-1',
      },
    },
  ]),
  [
    180,
    {
      type: 'PublishPostmortem',
      data: {
        summary: 'A deploy broke card payments',
        customerImpact: 'Card payments failed for two and a half hours',
        narrative: 'At 10:00 …',
        lessons: { wentWell: ['Rollback'], wentWrong: ['Detection'], gotLucky: [] },
        customerExplanation: 'A change we made stopped card payments; we undid it.',
      },
    },
  ],
  // 150 minutes of outage: policy 1 gives ENTERPRISE 25 %.
  [190, { type: 'GrantCompensation', data: { grantId: 'g-1', segment: 'ENTERPRISE', creditPercent: 25 } }],
  [200, { type: 'RecordCustomerFeedback', data: { feedbackId: 'f-1', rating: 3, channel: 'EMAIL' } }],
  [210, { type: 'CloseIncident', data: {} }],
  // Closed incidents still record preventive-measure progress.
  [
    1_400,
    { type: 'CompletePreventiveMeasure', data: { measureId: 'pm-3', evidence: 'https://example.test/pr/7' } },
  ],
];

/** Five days after the start. */
const NOW = minutesAfterStart(5 * DAY);

/**
 * By hand, on occurredAt (start 10:00):
 * - acknowledged at 10:04: 4 min ≤ 5 → met. First PUBLIC update 10:12: 12 min ≤ 15 → met.
 * - PUBLIC updates 10:12, 10:40, 11:25, 11:52:30; resolution 12:30. Intervals:
 *     10:12 → 10:40      28    ≤ 30
 *     10:40 → 11:25      45    > 30, over by 15
 *     11:25 → 11:52:30   27.5  ≤ 30
 *     11:52:30 → 12:30   37.5  > 30, over by 7.5
 *   cadence compliance 2 of 4 = 0.5. The INTERNAL update at 10:35 does not count.
 * - 11:25 went out without WEBSITE.
 */
const EXPECTED_COMPLIANCE: CommunicationCompliance = {
  policyVersion: 1,
  acknowledgedWithinTarget: true,
  firstUpdateWithinTarget: true,
  cadenceCompliance: 0.5,
  judgedIntervals: 4,
  gaps: [
    { from: minutesAfterStart(40), to: minutesAfterStart(85), minutes: 45, overByMinutes: 15 },
    { from: minutesAfterStart(112.5), to: minutesAfterStart(150), minutes: 37.5, overByMinutes: 7.5 },
  ],
  missingRequiredChannels: ['WEBSITE'],
  updatesMissingChannels: [{ occurredAt: minutesAfterStart(85), missingChannels: ['WEBSITE'] }],
  nextUpdateDueAt: null,
  overdue: false,
};

/**
 * By hand:
 * - MTTA 4; time to first update 12; time to mitigate 90 (11:30); MTTR 150 (12:30).
 * - ETAs: 11:30 (first), 12:00, 12:15 (last) → 2 revisions; first ETA error |11:30 − 12:30| = 60,
 *   final |12:15 − 12:30| = 15.
 * - At NOW (day 5): pm-2 (due day 2) is open → overdue; pm-1 (due day 7) not yet; pm-3 (due day 1)
 *   was completed → not overdue. 1 overdue.
 */
const EXPECTED_METRICS: IncidentMetricValues = {
  incidentId: 'inc-sev1',
  severity: 'SEV1',
  services: ['checkout'],
  startedAt: START,
  resolvedAt: minutesAfterStart(150),
  rootCauseCategories: ['CHANGE_DEPLOY'],
  mttaMinutes: 4,
  timeToFirstUpdateMinutes: 12,
  timeToMitigateMinutes: 90,
  mttrMinutes: 150,
  cadenceCompliance: 0.5,
  firstEtaErrorMinutes: 60,
  finalEtaErrorMinutes: 15,
  etaRevisions: 2,
  overduePreventiveMeasures: 1,
};

/** A stricter version 2: SEV1 acknowledge within 3, first update within 10, every 20 minutes, EMAIL only. */
const STRICTER: CommunicationPolicy = {
  version: 2,
  perSeverity: {
    ...COMMUNICATION_POLICY_V1.perSeverity,
    SEV1: {
      acknowledgeWithinMinutes: 3,
      firstUpdateWithinMinutes: 10,
      updateEveryMinutes: 20,
      requiredChannels: ['EMAIL'],
    },
  },
};
const WITH_VERSION_2 = policyRegistry('communication', [COMMUNICATION_POLICY_V1, STRICTER]);

const withDeclaredData = (events: RecordedIncidentEvent[], change: (data: object) => object) =>
  events.map((event) =>
    event.type === 'IncidentDeclared'
      ? ({ ...event, data: change(event.data) } as RecordedIncidentEvent)
      : event,
  );

describe('issue 4 acceptance: the scripted SEV1 incident', () => {
  const events = scriptIncident(SEV1_SCRIPT);

  it('is an incident the rules accept, closed with its postmortem', () =>
    expect(events.map((event) => event.type)).toEqual(
      expect.arrayContaining([
        'PostmortemPublished',
        'CompensationGranted',
        'IncidentClosed',
        'PreventiveMeasureCompleted',
      ]),
    ));

  it('measures exactly the values worked out by hand', () =>
    expect(measureIncident(events, NOW)).toEqual(EXPECTED_METRICS));

  it('judges its communication exactly as worked out by hand', () =>
    expect(evaluateCommunicationCompliance(events, NOW)).toEqual(EXPECTED_COMPLIANCE));

  it('keeps the judgement when a later, stricter policy version becomes current', () => {
    expect(WITH_VERSION_2.currentVersion).toBe(2);
    expect(evaluateCommunicationCompliance(events, NOW, WITH_VERSION_2)).toEqual(EXPECTED_COMPLIANCE);
    expect(measureIncident(events, NOW, WITH_VERSION_2)).toEqual(EXPECTED_METRICS);
  });

  it('judges an incident recorded before versions were recorded by version 1, not by the current one', () => {
    const legacy = withDeclaredData(events, (data) => {
      const { communicationPolicyVersion: _version, ...rest } = data as {
        communicationPolicyVersion?: number;
      };
      return rest;
    });
    expect(evaluateCommunicationCompliance(legacy, NOW, WITH_VERSION_2)).toEqual(EXPECTED_COMPLIANCE);
  });

  it('would be judged by version 2 only when declared under it', () => {
    // By hand: acknowledged at 4 > 3, first update at 12 > 10; every interval (28, 45, 27.5, 37.5)
    // is longer than 20; every update went out on EMAIL.
    const underVersion2 = withDeclaredData(events, (data) => ({ ...data, communicationPolicyVersion: 2 }));
    expect(evaluateCommunicationCompliance(underVersion2, NOW, WITH_VERSION_2)).toEqual({
      ...EXPECTED_COMPLIANCE,
      policyVersion: 2,
      acknowledgedWithinTarget: false,
      firstUpdateWithinTarget: false,
      cadenceCompliance: 0,
      gaps: [
        { from: minutesAfterStart(12), to: minutesAfterStart(40), minutes: 28, overByMinutes: 8 },
        { from: minutesAfterStart(40), to: minutesAfterStart(85), minutes: 45, overByMinutes: 25 },
        { from: minutesAfterStart(85), to: minutesAfterStart(112.5), minutes: 27.5, overByMinutes: 7.5 },
        { from: minutesAfterStart(112.5), to: minutesAfterStart(150), minutes: 37.5, overByMinutes: 17.5 },
      ],
      missingRequiredChannels: [],
      updatesMissingChannels: [],
    });
  });

  describe('while it was still open', () => {
    const until = (minutes: number) =>
      events.filter((event) => Date.parse(event.occurredAt) <= Date.parse(minutesAfterStart(minutes)));

    it('at 11:40 counts the running interval, owes the next update at 11:55, and is not overdue', () =>
      // Intervals 28 (ok), 45 (gap), 11:25 → 11:40 = 15 (ok, running): 2 of 3.
      expect(evaluateCommunicationCompliance(until(100), minutesAfterStart(100))).toEqual({
        ...EXPECTED_COMPLIANCE,
        cadenceCompliance: 2 / 3,
        judgedIntervals: 3,
        gaps: [EXPECTED_COMPLIANCE.gaps[0]],
        nextUpdateDueAt: minutesAfterStart(115),
        overdue: false,
      }));

    it('at 12:00 without a new update is overdue, the running interval a gap of 35 minutes', () =>
      expect(evaluateCommunicationCompliance(until(111), minutesAfterStart(120))).toMatchObject({
        cadenceCompliance: 1 / 3,
        gaps: [
          EXPECTED_COMPLIANCE.gaps[0],
          { from: minutesAfterStart(85), to: minutesAfterStart(120), minutes: 35, overByMinutes: 5 },
        ],
        nextUpdateDueAt: minutesAfterStart(115),
        overdue: true,
      }));

    it('has no MTTR nor ETA errors yet, and one revision so far', () =>
      expect(measureIncident(until(100), minutesAfterStart(100))).toEqual({
        ...EXPECTED_METRICS,
        resolvedAt: null,
        rootCauseCategories: [],
        mttrMinutes: null,
        cadenceCompliance: 2 / 3,
        firstEtaErrorMinutes: null,
        finalEtaErrorMinutes: null,
        etaRevisions: 1,
        overduePreventiveMeasures: 0,
      }));
  });
});

describe('measureIncident', () => {
  const declare = (severity: 'SEV2' | 'SEV4' = 'SEV2'): ScriptStep => [
    0,
    {
      type: 'DeclareIncident',
      data: { incidentId: 'inc-2', title: 'Search slow', severity, services: ['search'] },
    },
  ];

  it('takes the resolution as the mitigation when there was none, and leaves what did not happen null', () =>
    expect(
      measureIncident(
        scriptIncident([declare(), [45, { type: 'ResolveIncident', data: { summary: 'Fixed' } }]]),
        NOW,
      ),
    ).toMatchObject({
      mttaMinutes: null,
      timeToFirstUpdateMinutes: null,
      timeToMitigateMinutes: 45,
      mttrMinutes: 45,
      cadenceCompliance: null,
      firstEtaErrorMinutes: null,
      finalEtaErrorMinutes: null,
      etaRevisions: null,
    }));

  it('measures a reopened incident to its final resolution, mitigation at the first relief', () => {
    const events = scriptIncident([
      declare(),
      [10, eta(50, 'Restart')],
      [30, { type: 'ResolveIncident', data: { summary: 'Restarted' } }],
      [40, { type: 'ReopenIncident', data: { reason: 'Slow again' } }],
      [60, { type: 'MitigateIncident', data: {} }],
      [100, { type: 'ResolveIncident', data: { summary: 'Index rebuilt' } }],
    ]);
    expect(measureIncident(events, NOW)).toMatchObject({
      resolvedAt: minutesAfterStart(100),
      timeToMitigateMinutes: 30,
      mttrMinutes: 100,
      firstEtaErrorMinutes: 50,
      finalEtaErrorMinutes: 50,
      etaRevisions: 0,
    });
    expect(measureIncident(events.slice(0, -1), NOW)).toMatchObject({ resolvedAt: null, mttrMinutes: null });
  });

  it('measures on occurredAt: an acknowledgement recorded late counts when it happened', () => {
    const events = scriptIncident([declare(), [20, { type: 'AddInternalNote', data: { note: 'Looking' } }]]);
    const acknowledgedEarlier = {
      type: 'IncidentAcknowledged',
      data: {},
      occurredAt: minutesAfterStart(3),
      actor: 'bob',
    } as const;
    expect(measureIncident([...events, acknowledgedEarlier], NOW).mttaMinutes).toBe(3);
  });

  it('needs an IncidentDeclared', () => expect(() => measureIncident([], NOW)).toThrow('IncidentDeclared'));
});

describe('aggregateIncidentMetrics', () => {
  const incident = (
    overrides: Partial<IncidentMetricValues> & Pick<IncidentMetricValues, 'incidentId'>,
  ): IncidentMetricValues => ({
    severity: 'SEV2',
    services: ['checkout'],
    startedAt: START,
    resolvedAt: null,
    rootCauseCategories: [],
    mttaMinutes: null,
    timeToFirstUpdateMinutes: null,
    timeToMitigateMinutes: null,
    mttrMinutes: null,
    cadenceCompliance: null,
    firstEtaErrorMinutes: null,
    finalEtaErrorMinutes: null,
    etaRevisions: null,
    overduePreventiveMeasures: 0,
    ...overrides,
  });
  const EMPTY = {
    incidentCount: 0,
    mttaMinutes: null,
    timeToFirstUpdateMinutes: null,
    timeToMitigateMinutes: null,
    mttrMinutes: null,
    cadenceCompliance: null,
    finalEtaErrorMinutes: null,
    firstEtaErrorMinutes: null,
    etaRevisions: null,
    recurrenceRate: null,
    overduePreventiveMeasures: 0,
  };

  const a = incident({
    incidentId: 'a',
    severity: 'SEV1',
    services: ['checkout', 'payments'],
    startedAt: '2024-05-01T10:00:00.000Z',
    mttaMinutes: 4,
    timeToFirstUpdateMinutes: 12,
    timeToMitigateMinutes: 90,
    mttrMinutes: 150,
    cadenceCompliance: 0.5,
    firstEtaErrorMinutes: 60,
    finalEtaErrorMinutes: 15,
    etaRevisions: 2,
    overduePreventiveMeasures: 1,
  });
  const b = incident({
    incidentId: 'b',
    severity: 'SEV2',
    services: ['checkout'],
    startedAt: '2024-05-31T23:30:00.000Z',
    mttaMinutes: 10,
    timeToFirstUpdateMinutes: 20,
    timeToMitigateMinutes: 30,
    mttrMinutes: 50,
    cadenceCompliance: 1,
    etaRevisions: 0,
    overduePreventiveMeasures: 2,
  });
  const c = incident({
    incidentId: 'c',
    severity: 'SEV1',
    services: [],
    startedAt: '2024-06-15T08:00:00.000Z',
    mttaMinutes: 1,
  });

  it('averages over the incidents that have a value, sums the overdue measures', () =>
    expect(aggregateIncidentMetrics([a, b, c])).toEqual([
      {
        key: 'ALL',
        metrics: {
          incidentCount: 3,
          mttaMinutes: 5, // (4 + 10 + 1) / 3
          timeToFirstUpdateMinutes: 16, // (12 + 20) / 2
          timeToMitigateMinutes: 60,
          mttrMinutes: 100,
          cadenceCompliance: 0.75,
          finalEtaErrorMinutes: 15,
          firstEtaErrorMinutes: 60,
          etaRevisions: 1,
          recurrenceRate: null,
          overduePreventiveMeasures: 3,
        },
      },
    ]));

  it('gives one empty group ALL when there is no incident', () =>
    expect(aggregateIncidentMetrics([])).toEqual([{ key: 'ALL', metrics: EMPTY }]));

  it('groups by current severity', () =>
    expect(
      aggregateIncidentMetrics([a, b, c], { groupBy: 'SEVERITY' }).map(({ key, metrics }) => [
        key,
        metrics.incidentCount,
        metrics.mttaMinutes,
      ]),
    ).toEqual([
      ['SEV1', 2, 2.5],
      ['SEV2', 1, 10],
    ]));

  it('groups by every service an incident lists', () =>
    expect(
      aggregateIncidentMetrics([a, b, c], { groupBy: 'SERVICE' }).map(({ key, metrics }) => [
        key,
        metrics.incidentCount,
      ]),
    ).toEqual([
      ['checkout', 2],
      ['payments', 1],
    ]));

  it('groups by the UTC month of the start', () =>
    expect(
      aggregateIncidentMetrics([a, b, { ...c, startedAt: '2024-06-01T01:00:00+02:00' }], {
        groupBy: 'MONTH',
      }).map(({ key, metrics }) => [key, metrics.incidentCount]),
    ).toEqual([['2024-05', 3]]));

  it('takes the incidents started in [from, to)', () =>
    expect(
      aggregateIncidentMetrics([a, b, c], { from: '2024-05-01T10:00:00Z', to: '2024-06-15T08:00:00Z' })[0]
        .metrics.incidentCount,
    ).toBe(2));

  describe('recurrence', () => {
    const caused = (
      incidentId: string,
      startedAt: string,
      categories: IncidentMetricValues['rootCauseCategories'],
      services = ['checkout'],
    ) => incident({ incidentId, startedAt, rootCauseCategories: categories, services });
    const first = caused('first', '2024-05-01T00:00:00Z', ['CHANGE_DEPLOY']);
    const again = caused('again', '2024-05-20T00:00:00Z', ['CHANGE_DEPLOY', 'CAPACITY']); // 19 days later
    const later = caused('later', '2024-07-01T00:00:00Z', ['CHANGE_DEPLOY']); // 42 days after `again`
    const unknown = caused('unknown', '2024-05-21T00:00:00Z', ['UNKNOWN']);
    const elsewhere = caused('elsewhere', '2024-05-22T00:00:00Z', ['CHANGE_DEPLOY'], ['search']);
    const uncaused = incident({ incidentId: 'uncaused', startedAt: '2024-05-23T00:00:00Z' });
    const all = [later, first, again, unknown, elsewhere, uncaused];

    it('finds the incidents whose category and service came back within N days', () => {
      expect([...recurringIncidentIds(all)]).toEqual(['again']);
      expect([...recurringIncidentIds(all, 60)].sort()).toEqual(['again', 'later']);
      expect([...recurringIncidentIds(all, 18)]).toEqual([]);
    });

    it('does not count incidents started at the same moment as earlier', () =>
      expect([...recurringIncidentIds([first, { ...first, incidentId: 'twin' }])]).toEqual([]));

    it('is the share of the incidents with a known cause and a service', () =>
      // Judged: first, again, later, elsewhere (unknown: UNKNOWN cause; uncaused: none). Recurring: again.
      expect(aggregateIncidentMetrics(all)[0].metrics.recurrenceRate).toBe(1 / 4));

    it('counts earlier incidents outside [from, to)', () =>
      // In range: again, later, unknown, elsewhere, uncaused; judged: again, later, elsewhere.
      expect(aggregateIncidentMetrics(all, { from: '2024-05-15T00:00:00Z' })[0].metrics.recurrenceRate).toBe(
        1 / 3,
      ));

    it('takes the window from the options', () =>
      expect(aggregateIncidentMetrics(all, { recurrenceWindowDays: 60 })[0].metrics.recurrenceRate).toBe(
        2 / 4,
      ));
  });
});
