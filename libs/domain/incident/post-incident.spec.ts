import { describe, expect, it } from '@jest/globals';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { commandMetadata, minutesAfterStart, recorded as recordedEvent } from '../testing/fixtures.js';
import {
  evolve,
  initialIncidentState,
  isPreventiveMeasureOverdue,
  type IncidentDeclared,
  type IncidentEvent,
  type IncidentState,
  type RecordedIncidentEvent,
  type RootCauseAnalysis,
  type Severity,
} from './incident.js';
import { incidentDecider, type IncidentCommand } from './incident.decide.js';

const given = DeciderSpecification.for(incidentDecider);

const NOW = minutesAfterStart(600);
const RESOLVED_AT = minutesAfterStart(60);

const recorded: (event: IncidentEvent, occurredAt?: string, actor?: string) => RecordedIncidentEvent =
  recordedEvent;
const metadata = (occurredAt = NOW) => commandMetadata(occurredAt, NOW);
const stateAfter = (events: RecordedIncidentEvent[]): IncidentState =>
  events.reduce(evolve, initialIncidentState());

type CommandData<Type extends IncidentCommand['type']> = Extract<IncidentCommand, { type: Type }>['data'];
/** A command of that type; `occurredAt` defaults to NOW. */
function command<Type extends IncidentCommand['type']>(
  type: Type,
  data: CommandData<Type>,
  occurredAt = NOW,
): IncidentCommand {
  return { type, data, metadata: metadata(occurredAt) } as IncidentCommand;
}

const declaredAt = (severity: Severity): IncidentDeclared => ({
  type: 'IncidentDeclared',
  data: {
    incidentId: 'inc-1',
    title: 'Checkout fails',
    severity,
    summary: null,
    services: ['checkout'],
    communicationPolicyVersion: 1,
    compensationPolicyVersion: 1,
  },
});
const resolution = recorded({ type: 'IncidentResolved', data: { summary: 'Rolled back' } }, RESOLVED_AT);
const closure = recorded({ type: 'IncidentClosed', data: {} }, minutesAfterStart(300));

const openIncident = (severity: Severity = 'SEV3') => [recorded(declaredAt(severity))];
const resolvedIncident = (severity: Severity = 'SEV3') => [...openIncident(severity), resolution];

const analysis: RootCauseAnalysis = {
  category: 'CHANGE_DEPLOY',
  description: 'A deploy removed the card-token index',
  contributingFactors: ['No migration review', 'Canary too small'],
  trigger: 'Deploy 4711',
  detection: 'Checkout error-rate alert',
};
const rootCauseIdentified = recorded(
  {
    type: 'RootCauseIdentified',
    data: { rootCauseId: 'rc-1', ...analysis, contributingFactors: [...analysis.contributingFactors] },
  },
  minutesAfterStart(40),
);
const measurePlanned = (measureId = 'pm-1', dueDate = minutesAfterStart(10_000)) =>
  recorded(
    {
      type: 'PreventiveMeasurePlanned',
      data: {
        measureId,
        title: 'Review migrations',
        kind: 'PREVENT',
        owner: 'dora',
        dueDate,
        priority: 'P2',
        rootCauseId: 'rc-1',
      },
    },
    minutesAfterStart(90),
  );
const measureStarted = recorded(
  { type: 'PreventiveMeasureStarted', data: { measureId: 'pm-1' } },
  minutesAfterStart(100),
);
const measureCompleted = recorded(
  { type: 'PreventiveMeasureCompleted', data: { measureId: 'pm-1', evidence: 'PR 12' } },
  minutesAfterStart(110),
);
const measureCancelled = recorded(
  { type: 'PreventiveMeasureCancelled', data: { measureId: 'pm-1', reason: 'Superseded' } },
  minutesAfterStart(110),
);
const lessons = { wentWell: ['Fast rollback'], wentWrong: ['Late detection'], gotLucky: ['Low traffic'] };
const postmortemData = {
  summary: 'A deploy broke card payments',
  customerImpact: 'Card payments failed for 60 minutes',
  narrative: 'At 10:00 …',
  lessons,
  customerExplanation: 'A change we made stopped card payments; we undid it.',
};
const postmortemPublished = recorded(
  { type: 'PostmortemPublished', data: postmortemData },
  minutesAfterStart(200),
);

/** One valid command of each post-incident type, on a resolved SEV3 incident with a root cause and measure. */
function postIncidentCommands(occurredAt = NOW): IncidentCommand[] {
  return [
    command('IdentifyRootCause', { rootCauseId: 'rc-2', ...analysis, contributingFactors: [] }, occurredAt),
    command(
      'ReviseRootCause',
      { rootCauseId: 'rc-1', ...analysis, trigger: 'Deploy 4712', reason: 'Wrong id' },
      occurredAt,
    ),
    command(
      'PlanPreventiveMeasure',
      {
        measureId: 'pm-2',
        title: 'Bigger canary',
        kind: 'DETECT',
        owner: 'erin',
        dueDate: minutesAfterStart(20_000),
        priority: 'P3',
      },
      occurredAt,
    ),
    command('StartPreventiveMeasure', { measureId: 'pm-1' }, occurredAt),
    command(
      'CompletePreventiveMeasure',
      { measureId: 'pm-1', evidence: 'https://example.test/pr/12' },
      occurredAt,
    ),
    command('CancelPreventiveMeasure', { measureId: 'pm-1', reason: 'Superseded' }, occurredAt),
    command('PublishPostmortem', postmortemData, occurredAt),
    command('GrantCompensation', { grantId: 'g-1', segment: 'ENTERPRISE', creditPercent: 10 }, occurredAt),
    command('RecordCustomerFeedback', { feedbackId: 'f-1', rating: 4, channel: 'EMAIL' }, occurredAt),
    command('CloseIncident', {}, occurredAt),
  ];
}
const byType = (commands: IncidentCommand[]) => commands.map((c) => [c.type, c] as const);
const withCauseAndMeasure = (severity: Severity = 'SEV3') => [
  ...resolvedIncident(severity),
  rootCauseIdentified,
  measurePlanned(),
];
const ACCEPTED_ONCE_CLOSED = [
  'PlanPreventiveMeasure',
  'StartPreventiveMeasure',
  'CompletePreventiveMeasure',
  'CancelPreventiveMeasure',
  'RecordCustomerFeedback',
];
const AFTER_RESOLUTION = [
  'PublishPostmortem',
  'GrantCompensation',
  'RecordCustomerFeedback',
  'CloseIncident',
];

describe('incident after the outage', () => {
  describe('when each command is accepted', () => {
    it.each(byType(postIncidentCommands()))('%s is accepted on a resolved incident', (_type, c) =>
      expect(incidentDecider.decide(c, stateAfter(withCauseAndMeasure()))).toHaveLength(1),
    );

    it.each(byType(postIncidentCommands().filter((c) => !AFTER_RESOLUTION.includes(c.type))))(
      '%s is accepted while the incident is open',
      (_type, c) =>
        expect(
          incidentDecider.decide(c, stateAfter([...openIncident(), rootCauseIdentified, measurePlanned()])),
        ).toHaveLength(1),
    );

    it.each(byType(postIncidentCommands().filter((c) => AFTER_RESOLUTION.includes(c.type))))(
      '%s needs a resolved incident',
      (_type, c) =>
        given([...openIncident(), rootCauseIdentified, measurePlanned()])
          .when(c)
          .thenThrows('incident-not-resolved'),
    );

    it.each(byType(postIncidentCommands().filter((c) => AFTER_RESOLUTION.includes(c.type))))(
      '%s needs a resolved incident, also once reopened',
      (_type, c) =>
        given([
          ...withCauseAndMeasure(),
          recorded({ type: 'IncidentReopened', data: { reason: 'Back' } }, minutesAfterStart(70)),
        ])
          .when(c)
          .thenThrows('incident-not-resolved'),
    );

    it.each(
      byType(postIncidentCommands(minutesAfterStart(59)).filter((c) => AFTER_RESOLUTION.includes(c.type))),
    )('%s refuses an occurredAt before the resolution', (_type, c) =>
      given(withCauseAndMeasure()).when(c).thenThrows('occurred-at-before-resolution'),
    );

    it.each(byType(postIncidentCommands()))('%s needs a declared incident', (_type, c) =>
      given([]).when(c).thenThrows('incident-not-found'),
    );

    it.each(byType(postIncidentCommands(minutesAfterStart(-1))))(
      '%s refuses an occurredAt before the start',
      (_type, c) => given(withCauseAndMeasure()).when(c).thenThrows('occurred-at-before-start'),
    );

    it.each(byType(postIncidentCommands(minutesAfterStart(601))))(
      '%s refuses an occurredAt in the future',
      (_type, c) => given(withCauseAndMeasure()).when(c).thenThrows('occurred-at-in-future'),
    );

    it.each(byType(postIncidentCommands().filter((c) => ACCEPTED_ONCE_CLOSED.includes(c.type))))(
      '%s is still accepted once closed',
      (_type, c) =>
        expect(incidentDecider.decide(c, stateAfter([...withCauseAndMeasure(), closure]))).toHaveLength(1),
    );

    const refusedOnceClosed: IncidentCommand[] = [
      ...postIncidentCommands().filter((c) => !ACCEPTED_ONCE_CLOSED.includes(c.type)),
      command('ReopenIncident', { reason: 'Back' }),
      command('AddInternalNote', { note: 'Late note' }),
    ];
    it.each(byType(refusedOnceClosed))('%s is refused once closed', (_type, c) =>
      given([...withCauseAndMeasure(), closure])
        .when(c)
        .thenThrows('incident-is-closed'),
    );
  });

  describe('DeclareIncident records the policy versions', () => {
    const declare = (data: Partial<CommandData<'DeclareIncident'>>) =>
      command('DeclareIncident', { incidentId: 'inc-1', title: 'Checkout fails', severity: 'SEV1', ...data });

    it('that the caller names', () =>
      given([])
        .when(declare({ communicationPolicyVersion: 1, compensationPolicyVersion: 1 }))
        .then([{ ...declaredAt('SEV1'), data: { ...declaredAt('SEV1').data, services: [] } }]));

    it('refuses an unknown communication policy version', () =>
      given([])
        .when(declare({ communicationPolicyVersion: 99 }))
        .thenThrows('unknown-communication-policy-version'));

    it('refuses an unknown compensation policy version', () =>
      given([])
        .when(declare({ compensationPolicyVersion: 0 }))
        .thenThrows('unknown-compensation-policy-version'));
  });

  describe('root causes', () => {
    const identify = (data: Partial<CommandData<'IdentifyRootCause'>> = {}) =>
      command('IdentifyRootCause', { rootCauseId: 'rc-1', ...analysis, contributingFactors: [], ...data });
    const revise = (data: Partial<CommandData<'ReviseRootCause'>> = {}) =>
      command('ReviseRootCause', {
        rootCauseId: 'rc-1',
        ...analysis,
        contributingFactors: [...analysis.contributingFactors],
        reason: 'The deploy was 4712',
        ...data,
      });

    it('identifies a root cause during the incident, with trimmed text', () =>
      given(openIncident())
        .when(
          identify({
            description: ` ${analysis.description} `,
            contributingFactors: [' No migration review '],
            trigger: ' Deploy 4711',
          }),
        )
        .then([
          {
            type: 'RootCauseIdentified',
            data: { rootCauseId: 'rc-1', ...analysis, contributingFactors: ['No migration review'] },
          },
        ]));

    it('identifies one with no contributing factors given', () =>
      given(resolvedIncident())
        .when(
          command('IdentifyRootCause', {
            rootCauseId: 'rc-9',
            category: 'UNKNOWN',
            description: 'Not found yet',
            trigger: 'Unknown',
            detection: 'Customer reports',
          }),
        )
        .then([
          {
            type: 'RootCauseIdentified',
            data: {
              rootCauseId: 'rc-9',
              category: 'UNKNOWN',
              description: 'Not found yet',
              contributingFactors: [],
              trigger: 'Unknown',
              detection: 'Customer reports',
            },
          },
        ]));

    it('refuses an id already identified', () =>
      given([...openIncident(), rootCauseIdentified])
        .when(identify())
        .thenThrows('root-cause-already-identified'));

    it.each([
      ['description', 'root-cause-needs-description'],
      ['trigger', 'root-cause-needs-trigger'],
      ['detection', 'root-cause-needs-detection'],
    ] as const)('needs a %s', (field, rule) =>
      given(openIncident())
        .when(identify({ [field]: '  ' }))
        .thenThrows(rule),
    );

    it('refuses a blank contributing factor', () =>
      given(openIncident())
        .when(identify({ contributingFactors: ['Canary too small', ''] }))
        .thenThrows('contributing-factor-needs-text'));

    it('refuses a contributing factor listed twice', () =>
      given(openIncident())
        .when(identify({ contributingFactors: ['Canary too small', ' Canary too small'] }))
        .thenThrows('duplicate-contributing-factor'));

    it('revises a root cause with its reason, after resolution too', () =>
      given([...resolvedIncident(), rootCauseIdentified])
        .when(revise({ category: 'CONFIGURATION', reason: ' A flag, not the code ' }))
        .then([
          {
            type: 'RootCauseRevised',
            data: {
              rootCauseId: 'rc-1',
              ...analysis,
              category: 'CONFIGURATION',
              contributingFactors: [...analysis.contributingFactors],
              reason: 'A flag, not the code',
            },
          },
        ]));

    it('refuses to revise a root cause never identified', () =>
      given(resolvedIncident()).when(revise()).thenThrows('root-cause-not-found'));

    it('needs a reason to revise', () =>
      given([...resolvedIncident(), rootCauseIdentified])
        .when(revise({ trigger: 'Deploy 4712', reason: ' ' }))
        .thenThrows('root-cause-revision-needs-reason'));

    it('refuses a revision that restates the root cause', () =>
      given([...resolvedIncident(), rootCauseIdentified])
        .when(revise())
        .thenThrows('root-cause-unchanged'));

    it('checks a revision like an identification', () =>
      given([...resolvedIncident(), rootCauseIdentified])
        .when(revise({ description: '' }))
        .thenThrows('root-cause-needs-description'));

    describe('backdated', () => {
      const reviseAt = (occurredAt: string, trigger = 'Deploy 4712') =>
        command(
          'ReviseRootCause',
          {
            rootCauseId: 'rc-1',
            ...analysis,
            contributingFactors: [...analysis.contributingFactors],
            trigger,
            reason: 'The deploy was 4712',
          },
          occurredAt,
        );
      const revised = recorded(
        {
          type: 'RootCauseRevised',
          data: {
            rootCauseId: 'rc-1',
            ...analysis,
            contributingFactors: [...analysis.contributingFactors],
            trigger: 'Deploy 4712',
            reason: 'The deploy was 4712',
          },
        },
        minutesAfterStart(80),
      );
      const revision = (trigger: string): IncidentEvent[] => [
        {
          type: 'RootCauseRevised',
          data: {
            rootCauseId: 'rc-1',
            ...analysis,
            contributingFactors: [...analysis.contributingFactors],
            trigger,
            reason: 'The deploy was 4712',
          },
        },
      ];

      it('refuses a revision at an occurredAt earlier than the identification', () =>
        given([...openIncident(), rootCauseIdentified])
          .when(reviseAt(minutesAfterStart(30)))
          .thenThrows('root-cause-revision-out-of-order'));

      it('revises at the very moment of the identification', () =>
        given([...openIncident(), rootCauseIdentified])
          .when(reviseAt(minutesAfterStart(40)))
          .then(revision('Deploy 4712')));

      it('refuses a revision at an occurredAt earlier than the latest revision', () =>
        given([...resolvedIncident(), rootCauseIdentified, revised])
          .when(reviseAt(minutesAfterStart(70), 'Deploy 4713'))
          .thenThrows('root-cause-revision-out-of-order'));

      it('revises at the very moment of the latest revision', () =>
        given([...resolvedIncident(), rootCauseIdentified, revised])
          .when(reviseAt(minutesAfterStart(80), 'Deploy 4713'))
          .then(revision('Deploy 4713')));
    });
  });

  describe('preventive measures', () => {
    const plan = (data: Partial<CommandData<'PlanPreventiveMeasure'>> = {}, occurredAt = NOW) =>
      command(
        'PlanPreventiveMeasure',
        {
          measureId: 'pm-1',
          title: ' Review migrations ',
          kind: 'PREVENT',
          owner: ' dora ',
          dueDate: '2024-05-08T12:00:00+02:00',
          priority: 'P2',
          rootCauseId: 'rc-1',
          ...data,
        },
        occurredAt,
      );
    const withCause = [...resolvedIncident(), rootCauseIdentified];

    it('plans a measure for a root cause, due date in UTC', () =>
      given(withCause)
        .when(plan())
        .then([
          {
            type: 'PreventiveMeasurePlanned',
            data: {
              measureId: 'pm-1',
              title: 'Review migrations',
              kind: 'PREVENT',
              owner: 'dora',
              dueDate: '2024-05-08T10:00:00.000Z',
              priority: 'P2',
              rootCauseId: 'rc-1',
            },
          },
        ]));

    it('plans a measure for no particular root cause', () =>
      given(openIncident())
        .when(plan({ rootCauseId: ' ' }))
        .then([
          {
            type: 'PreventiveMeasurePlanned',
            data: {
              measureId: 'pm-1',
              title: 'Review migrations',
              kind: 'PREVENT',
              owner: 'dora',
              dueDate: '2024-05-08T10:00:00.000Z',
              priority: 'P2',
              rootCauseId: null,
            },
          },
        ]));

    it('refuses an id already planned', () =>
      given([...withCause, measurePlanned()])
        .when(plan())
        .thenThrows('measure-already-planned'));

    it('needs a title', () =>
      given(withCause)
        .when(plan({ title: '' }))
        .thenThrows('measure-needs-title'));

    it('needs an owner', () =>
      given(withCause)
        .when(plan({ owner: ' ' }))
        .thenThrows('measure-needs-owner'));

    it('needs a due date later than the moment it is planned', () =>
      given(withCause)
        .when(plan({ dueDate: minutesAfterStart(90) }, minutesAfterStart(90)))
        .thenThrows('measure-due-date-must-be-later'));

    it('needs a due date that is an instant', () =>
      given(withCause)
        .when(plan({ dueDate: '2024-05-08' }))
        .thenThrows('invalid-timestamp'));

    it('refuses a root cause never identified', () =>
      given(withCause)
        .when(plan({ rootCauseId: 'rc-9' }))
        .thenThrows('root-cause-not-found'));

    const start = command('StartPreventiveMeasure', { measureId: 'pm-1' });
    const complete = (evidence = ' https://example.test/pr/12 ') =>
      command('CompletePreventiveMeasure', { measureId: 'pm-1', evidence });
    const cancel = (reason = ' Superseded by pm-2 ') =>
      command('CancelPreventiveMeasure', { measureId: 'pm-1', reason });
    const planned = [...withCause, measurePlanned()];

    it('starts a planned measure', () =>
      given(planned)
        .when(start)
        .then([{ type: 'PreventiveMeasureStarted', data: { measureId: 'pm-1' } }]));

    it('completes a measure with evidence, started or not', () => {
      const completed = [
        {
          type: 'PreventiveMeasureCompleted',
          data: { measureId: 'pm-1', evidence: 'https://example.test/pr/12' },
        },
      ] satisfies IncidentEvent[];
      given([...planned, measureStarted])
        .when(complete())
        .then(completed);
      given(planned).when(complete()).then(completed);
    });

    it('cancels a measure with a reason, started or not', () => {
      const cancelled = [
        { type: 'PreventiveMeasureCancelled', data: { measureId: 'pm-1', reason: 'Superseded by pm-2' } },
      ] satisfies IncidentEvent[];
      given([...planned, measureStarted])
        .when(cancel())
        .then(cancelled);
      given(planned).when(cancel()).then(cancelled);
    });

    it.each(byType([start, complete(), cancel()]))('%s needs a planned measure', (_type, c) =>
      given(withCause).when(c).thenThrows('measure-not-found'),
    );

    it.each(byType([start, complete(), cancel()]))('%s refuses a completed measure', (_type, c) =>
      given([...planned, measureCompleted])
        .when(c)
        .thenThrows('measure-already-finished'),
    );

    it.each(byType([start, complete(), cancel()]))('%s refuses a cancelled measure', (_type, c) =>
      given([...planned, measureCancelled])
        .when(c)
        .thenThrows('measure-already-finished'),
    );

    it('starts once', () =>
      given([...planned, measureStarted])
        .when(start)
        .thenThrows('measure-already-started'));

    it('needs evidence to complete', () =>
      given(planned).when(complete(' ')).thenThrows('measure-needs-evidence'));

    it('needs a reason to cancel', () =>
      given(planned).when(cancel('')).thenThrows('measure-cancellation-needs-reason'));

    describe('backdated', () => {
      const plannedFor = (rootCauseId: string) => ({
        type: 'PreventiveMeasurePlanned' as const,
        data: {
          measureId: 'pm-1',
          title: 'Review migrations',
          kind: 'PREVENT' as const,
          owner: 'dora',
          dueDate: '2024-05-08T10:00:00.000Z',
          priority: 'P2' as const,
          rootCauseId,
        },
      });

      it('refuses to plan a measure for a root cause at an occurredAt earlier than its identification', () =>
        given(withCause)
          .when(plan({}, minutesAfterStart(30)))
          .thenThrows('measure-before-root-cause'));

      it('plans a measure for a root cause at the very moment of its identification', () =>
        given(withCause)
          .when(plan({}, minutesAfterStart(40)))
          .then([plannedFor('rc-1')]));

      // measurePlanned() is at minute 90, measureStarted at minute 100.
      const startAt = (occurredAt: string) =>
        command('StartPreventiveMeasure', { measureId: 'pm-1' }, occurredAt);
      const completeAt = (occurredAt: string) =>
        command('CompletePreventiveMeasure', { measureId: 'pm-1', evidence: 'PR 12' }, occurredAt);
      const cancelAt = (occurredAt: string) =>
        command('CancelPreventiveMeasure', { measureId: 'pm-1', reason: 'Superseded' }, occurredAt);
      const step = (type: string): IncidentEvent[] => {
        switch (type) {
          case 'StartPreventiveMeasure':
            return [{ type: 'PreventiveMeasureStarted', data: { measureId: 'pm-1' } }];
          case 'CompletePreventiveMeasure':
            return [{ type: 'PreventiveMeasureCompleted', data: { measureId: 'pm-1', evidence: 'PR 12' } }];
          default:
            return [
              { type: 'PreventiveMeasureCancelled', data: { measureId: 'pm-1', reason: 'Superseded' } },
            ];
        }
      };

      it.each(byType([startAt, completeAt, cancelAt].map((at) => at(minutesAfterStart(80)))))(
        '%s refuses an occurredAt earlier than the plan',
        (_type, c) => given(planned).when(c).thenThrows('measure-step-out-of-order'),
      );

      it.each(byType([startAt, completeAt, cancelAt].map((at) => at(minutesAfterStart(90)))))(
        '%s accepts the very moment of the plan',
        (type, c) => given(planned).when(c).then(step(type)),
      );

      it.each(byType([completeAt, cancelAt].map((at) => at(minutesAfterStart(95)))))(
        '%s refuses an occurredAt earlier than the start',
        (_type, c) =>
          given([...planned, measureStarted])
            .when(c)
            .thenThrows('measure-step-out-of-order'),
      );

      it.each(byType([completeAt, cancelAt].map((at) => at(minutesAfterStart(100)))))(
        '%s accepts the very moment of the start',
        (type, c) =>
          given([...planned, measureStarted])
            .when(c)
            .then(step(type)),
      );
    });
  });

  describe('PublishPostmortem', () => {
    const publish = (data: Partial<CommandData<'PublishPostmortem'>> = {}) =>
      command('PublishPostmortem', { ...postmortemData, ...data });

    it('publishes the postmortem of a SEV1 with a root cause and a preventive measure, trimmed', () =>
      given(withCauseAndMeasure('SEV1'))
        .when(
          publish({
            summary: ` ${postmortemData.summary} `,
            lessons: { wentWell: [' Fast rollback'], wentWrong: ['Late detection '], gotLucky: [] },
          }),
        )
        .then([
          {
            type: 'PostmortemPublished',
            data: { ...postmortemData, lessons: { ...lessons, gotLucky: [] } },
          },
        ]));

    it('publishes a SEV3 postmortem without root cause or measure', () =>
      given(resolvedIncident('SEV3'))
        .when(publish())
        .then([{ type: 'PostmortemPublished', data: postmortemData }]));

    it('counts a completed measure', () =>
      given([...withCauseAndMeasure('SEV2'), measureCompleted])
        .when(publish())
        .then([{ type: 'PostmortemPublished', data: postmortemData }]));

    it.each(['SEV1', 'SEV2'] as const)('needs a root cause at %s', (severity) =>
      given([...resolvedIncident(severity), measurePlanned()])
        .when(publish())
        .thenThrows('postmortem-needs-root-cause'),
    );

    it.each(['SEV1', 'SEV2'] as const)('needs a preventive measure at %s', (severity) =>
      given([...resolvedIncident(severity), rootCauseIdentified])
        .when(publish())
        .thenThrows('postmortem-needs-preventive-measure'),
    );

    it('does not count a cancelled measure', () =>
      given([...withCauseAndMeasure('SEV1'), measureCancelled])
        .when(publish())
        .thenThrows('postmortem-needs-preventive-measure'));

    it('judges the severity at the moment of publishing', () =>
      given([
        ...openIncident('SEV3'),
        recorded(
          { type: 'SeverityChanged', data: { from: 'SEV3', to: 'SEV2', reason: null } },
          minutesAfterStart(5),
        ),
        resolution,
      ])
        .when(publish())
        .thenThrows('postmortem-needs-root-cause'));

    it('is published once', () =>
      given([...withCauseAndMeasure(), postmortemPublished])
        .when(publish())
        .thenThrows('postmortem-already-published'));

    it.each([
      ['summary', 'postmortem-needs-summary'],
      ['customerImpact', 'postmortem-needs-customer-impact'],
      ['narrative', 'postmortem-needs-narrative'],
      ['customerExplanation', 'postmortem-needs-customer-explanation'],
    ] as const)('needs a %s', (field, rule) =>
      given(resolvedIncident())
        .when(publish({ [field]: ' ' }))
        .thenThrows(rule),
    );

    it('refuses a blank lesson', () =>
      given(resolvedIncident())
        .when(publish({ lessons: { ...lessons, gotLucky: [' '] } }))
        .thenThrows('lesson-needs-text'));
  });

  describe('GrantCompensation', () => {
    // Resolved 60 minutes after the start: policy 1 gives ENTERPRISE 10 %, BUSINESS 5 %, STANDARD 0 %.
    const grant = (data: Partial<CommandData<'GrantCompensation'>>) =>
      command('GrantCompensation', { grantId: 'g-1', ...data });
    const granted = (data: object) =>
      [
        {
          type: 'CompensationGranted',
          data: {
            grantId: 'g-1',
            segment: null,
            customerId: null,
            creditPercent: null,
            amount: null,
            currency: null,
            policyVersion: 1,
            outageMinutes: 60,
            suggestedPercent: 0,
            justification: null,
            ...data,
          },
        },
      ] as IncidentEvent[];

    it('grants what the policy suggests for a segment, without a justification', () =>
      given(resolvedIncident())
        .when(grant({ segment: ' ENTERPRISE ', creditPercent: 10 }))
        .then(granted({ segment: 'ENTERPRISE', creditPercent: 10, suggestedPercent: 10 })));

    it('grants a different percent with a justification', () =>
      given(resolvedIncident())
        .when(grant({ segment: 'BUSINESS', creditPercent: 7.5, justification: ' Peak sales day ' }))
        .then(
          granted({
            segment: 'BUSINESS',
            creditPercent: 7.5,
            suggestedPercent: 5,
            justification: 'Peak sales day',
          }),
        ));

    it('grants an amount to one customer, judged against the default segment', () =>
      given(resolvedIncident())
        .when(
          grant({
            customerId: 'cust-42',
            amount: 250,
            currency: ' eur ',
            justification: 'Contractual penalty',
          }),
        )
        .then(
          granted({
            customerId: 'cust-42',
            amount: 250,
            currency: 'EUR',
            justification: 'Contractual penalty',
          }),
        ));

    it('uses the outage up to the final resolution', () =>
      given([
        ...openIncident(),
        resolution,
        recorded({ type: 'IncidentReopened', data: { reason: 'Back' } }, minutesAfterStart(70)),
        recorded({ type: 'IncidentResolved', data: { summary: 'Fixed' } }, minutesAfterStart(150)),
      ])
        .when(grant({ segment: 'ENTERPRISE', creditPercent: 25 }))
        .then(
          granted({ segment: 'ENTERPRISE', creditPercent: 25, suggestedPercent: 25, outageMinutes: 150 }),
        ));

    it('refuses a grant id already used', () =>
      given([
        ...resolvedIncident(),
        recorded(
          granted({ segment: 'ENTERPRISE', creditPercent: 10, suggestedPercent: 10 })[0],
          minutesAfterStart(100),
        ),
      ])
        .when(grant({ segment: 'BUSINESS', creditPercent: 5 }))
        .thenThrows('compensation-already-granted'));

    it.each([
      ['neither', {}],
      ['both', { segment: 'BUSINESS', customerId: 'cust-42' }],
    ])('needs exactly one recipient, not %s', (_case, recipient) =>
      given(resolvedIncident())
        .when(grant({ ...recipient, creditPercent: 5 }))
        .thenThrows('compensation-needs-one-recipient'),
    );

    it.each([
      ['neither', {}],
      ['both', { creditPercent: 5, amount: 100, currency: 'EUR' }],
      ['a percent with a currency', { creditPercent: 5, currency: 'EUR' }],
    ])('needs exactly one value, not %s', (_case, value) =>
      given(resolvedIncident())
        .when(grant({ segment: 'BUSINESS', ...value }))
        .thenThrows('compensation-needs-one-value'),
    );

    it.each([0, -5, 100.5, Number.NaN])('refuses %p percent', (creditPercent) =>
      given(resolvedIncident())
        .when(grant({ segment: 'BUSINESS', creditPercent, justification: 'x' }))
        .thenThrows('compensation-percent-out-of-range'),
    );

    it.each([0, -1, Number.POSITIVE_INFINITY])('refuses an amount of %p', (amount) =>
      given(resolvedIncident())
        .when(grant({ segment: 'BUSINESS', amount, currency: 'EUR', justification: 'x' }))
        .thenThrows('compensation-amount-must-be-positive'),
    );

    it.each([null, 'EURO', '€'])('refuses the currency %p', (currency) =>
      given(resolvedIncident())
        .when(grant({ segment: 'BUSINESS', amount: 100, currency, justification: 'x' }))
        .thenThrows('compensation-needs-currency'),
    );

    it('refuses a segment the policy does not know', () =>
      given(resolvedIncident())
        .when(grant({ segment: 'GOLD', creditPercent: 5, justification: 'x' }))
        .thenThrows('unknown-customer-segment'));

    it('needs a justification for a percent other than the suggestion', () =>
      given(resolvedIncident())
        .when(grant({ segment: 'ENTERPRISE', creditPercent: 15, justification: ' ' }))
        .thenThrows('compensation-needs-justification'));

    it('needs a justification for an amount', () =>
      given(resolvedIncident())
        .when(grant({ customerId: 'cust-42', amount: 100, currency: 'EUR' }))
        .thenThrows('compensation-needs-justification'));
  });

  describe('RecordCustomerFeedback', () => {
    const feedback = (data: Partial<CommandData<'RecordCustomerFeedback'>> = {}) =>
      command('RecordCustomerFeedback', { feedbackId: 'f-1', rating: 4, channel: 'EMAIL', ...data });
    const received = recorded(
      {
        type: 'CustomerFeedbackReceived',
        data: { feedbackId: 'f-1', rating: 4, comment: null, channel: 'EMAIL', segment: null },
      },
      minutesAfterStart(100),
    );

    it('records feedback with its comment and segment', () =>
      given(resolvedIncident())
        .when(feedback({ rating: 2, comment: ' Too slow ', channel: 'IN_APP', segment: ' BUSINESS ' }))
        .then([
          {
            type: 'CustomerFeedbackReceived',
            data: {
              feedbackId: 'f-1',
              rating: 2,
              comment: 'Too slow',
              channel: 'IN_APP',
              segment: 'BUSINESS',
            },
          },
        ]));

    it('records feedback on a closed incident', () =>
      given([...resolvedIncident(), closure])
        .when(feedback({ comment: '' }))
        .then([
          {
            type: 'CustomerFeedbackReceived',
            data: { feedbackId: 'f-1', rating: 4, comment: null, channel: 'EMAIL', segment: null },
          },
        ]));

    it.each([0, 6, 4.5])('refuses a rating of %p', (rating) =>
      given(resolvedIncident()).when(feedback({ rating })).thenThrows('rating-out-of-range'),
    );

    it('refuses a feedback id already used', () =>
      given([...resolvedIncident(), received])
        .when(feedback())
        .thenThrows('feedback-already-recorded'));
  });

  describe('CloseIncident', () => {
    const close = command('CloseIncident', {});

    it('closes a resolved SEV3 without a postmortem', () =>
      given(resolvedIncident('SEV3'))
        .when(close)
        .then([{ type: 'IncidentClosed', data: {} }]));

    it.each(['SEV1', 'SEV2'] as const)('closes a %s once its postmortem is published', (severity) =>
      given([...withCauseAndMeasure(severity), postmortemPublished])
        .when(close)
        .then([{ type: 'IncidentClosed', data: {} }]),
    );

    it.each(['SEV1', 'SEV2'] as const)('needs a postmortem at %s', (severity) =>
      given(withCauseAndMeasure(severity)).when(close).thenThrows('incident-needs-postmortem'),
    );

    it('refuses a second close', () =>
      given([...resolvedIncident(), closure])
        .when(close)
        .thenThrows('incident-is-closed'));
  });

  describe('evolve', () => {
    it('reads an IncidentDeclared without policy versions as version 1', () => {
      const {
        communicationPolicyVersion: _c,
        compensationPolicyVersion: _p,
        ...before
      } = declaredAt('SEV1').data;
      expect(stateAfter([recorded({ type: 'IncidentDeclared', data: before })])).toMatchObject({
        communicationPolicyVersion: 1,
        compensationPolicyVersion: 1,
      });
    });

    it('builds the state after the outage', () => {
      const state = stateAfter([
        ...withCauseAndMeasure('SEV1'),
        recorded(
          {
            type: 'RootCauseRevised',
            data: {
              rootCauseId: 'rc-1',
              ...analysis,
              contributingFactors: [],
              category: 'CONFIGURATION',
              reason: 'A flag',
            },
          },
          minutesAfterStart(95),
          'erin',
        ),
        measureStarted,
        measurePlanned('pm-2', minutesAfterStart(500)),
        recorded(
          { type: 'PreventiveMeasureCancelled', data: { measureId: 'pm-2', reason: 'Duplicate' } },
          minutesAfterStart(120),
        ),
        postmortemPublished,
        recorded(
          {
            type: 'CompensationGranted',
            data: {
              grantId: 'g-1',
              segment: 'ENTERPRISE',
              customerId: null,
              creditPercent: 10,
              amount: null,
              currency: null,
              policyVersion: 1,
              outageMinutes: 60,
              suggestedPercent: 10,
              justification: null,
            },
          },
          minutesAfterStart(210),
        ),
        recorded(
          {
            type: 'CustomerFeedbackReceived',
            data: { feedbackId: 'f-1', rating: 5, comment: null, channel: 'SMS', segment: null },
          },
          minutesAfterStart(220),
        ),
        closure,
      ]);
      expect(state).toMatchObject({
        status: 'CLOSED',
        closedAt: minutesAfterStart(300),
        resolvedAt: RESOLVED_AT,
        rootCauses: [
          {
            rootCauseId: 'rc-1',
            category: 'CONFIGURATION',
            contributingFactors: [],
            identifiedAt: minutesAfterStart(40),
            identifiedBy: 'alice',
            revisions: 1,
            revisedAt: minutesAfterStart(95),
            revisionReason: 'A flag',
          },
        ],
        preventiveMeasures: [
          {
            measureId: 'pm-1',
            status: 'IN_PROGRESS',
            startedAt: minutesAfterStart(100),
            plannedAt: minutesAfterStart(90),
          },
          {
            measureId: 'pm-2',
            status: 'CANCELLED',
            cancelledAt: minutesAfterStart(120),
            cancellationReason: 'Duplicate',
            startedAt: null,
          },
        ],
        postmortem: { ...postmortemData, publishedAt: minutesAfterStart(200), publishedBy: 'alice' },
        compensations: [
          { grantId: 'g-1', creditPercent: 10, grantedAt: minutesAfterStart(210), grantedBy: 'alice' },
        ],
        feedback: [{ feedbackId: 'f-1', rating: 5, receivedAt: minutesAfterStart(220) }],
      });
    });

    it('keeps of each item only the fields the state declares, whatever else the data carries', () => {
      // As a newer release might write them: a field this one does not know.
      const withExtra = (event: RecordedIncidentEvent) =>
        ({ ...event, data: { ...event.data, addedLater: 'x' } }) as unknown as RecordedIncidentEvent;
      const state = stateAfter(
        [...withCauseAndMeasure('SEV1'), postmortemPublished].map((event, index) =>
          index === 0 ? event : withExtra(event),
        ),
      );
      for (const item of [...state.rootCauses, ...state.preventiveMeasures, state.postmortem]) {
        expect(item).not.toHaveProperty('addedLater');
      }
      expect(Object.keys(state.postmortem!).sort()).toEqual(
        [...Object.keys(postmortemData), 'publishedAt', 'publishedBy'].sort(),
      );
    });

    it('completes a measure with its evidence', () => {
      const state = stateAfter([...withCauseAndMeasure(), measureCompleted]);
      expect(state.preventiveMeasures).toMatchObject([
        { status: 'COMPLETED', completedAt: minutesAfterStart(110), evidence: 'PR 12' },
      ]);
    });
  });

  describe('isPreventiveMeasureOverdue', () => {
    const due = minutesAfterStart(1_000);
    it.each([
      ['PLANNED', minutesAfterStart(1_001), true],
      ['IN_PROGRESS', minutesAfterStart(1_001), true],
      ['PLANNED', due, false],
      ['COMPLETED', minutesAfterStart(1_001), false],
      ['CANCELLED', minutesAfterStart(1_001), false],
    ] as const)('%s at %s: %p', (status, now, overdue) =>
      expect(isPreventiveMeasureOverdue({ status, dueDate: due }, now)).toBe(overdue),
    );
  });
});
