import { describe, expect, it } from '@jest/globals';
import type { CommandMetadata } from '../decider.js';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { commandMetadata, minutesAfterStart, recorded as recordedEvent, START } from '../testing/fixtures.js';
import {
  evolve,
  INCIDENT_EVENT_TYPES,
  incidentStreamId,
  initialIncidentState,
  type IncidentDeclared,
  type IncidentEvent,
  type IncidentState,
  type IncidentStatus,
  type RecordedIncidentEvent,
  type Visibility,
} from './incident.js';
import { incidentDecider, type IncidentCommand } from './incident.decide.js';

const given = DeciderSpecification.for(incidentDecider);

const NOW = minutesAfterStart(120);

const recorded: (event: IncidentEvent, occurredAt?: string, actor?: string) => RecordedIncidentEvent =
  recordedEvent;

function metadata(occurredAt = NOW): CommandMetadata {
  return commandMetadata(occurredAt, NOW);
}

function stateAfter(events: RecordedIncidentEvent[]): IncidentState {
  return events.reduce(evolve, initialIncidentState());
}

const declared: IncidentDeclared = {
  type: 'IncidentDeclared',
  data: {
    incidentId: 'inc-1',
    title: 'Checkout fails',
    severity: 'SEV2',
    summary: null,
    services: ['checkout', 'payments'],
  },
};
const incident = [recorded(declared)];
const resolution = recorded(
  { type: 'IncidentResolved', data: { summary: 'Rolled back' } },
  minutesAfterStart(60),
);
const resolvedIncident = [...incident, resolution];
/** A customer update that keeps the incident INVESTIGATING. */
const customerUpdate = (visibility: Visibility): IncidentEvent => ({
  type: 'CustomerUpdatePublished',
  data: { status: 'INVESTIGATING', message: 'm', channels: ['EMAIL'], visibility, nextUpdateAt: null },
});
const reopenedIncident = [
  ...resolvedIncident,
  recorded({ type: 'IncidentReopened', data: { reason: 'Back' } }, minutesAfterStart(70)),
];

/** One valid command of each type but DeclareIncident, for the rules they all share. */
function commandsOnAnIncident(occurredAt: string): IncidentCommand[] {
  const meta = metadata(occurredAt);
  return [
    { type: 'AcknowledgeIncident', data: {}, metadata: meta },
    { type: 'AssignRole', data: { role: 'INCIDENT_COMMANDER', assignee: 'carol' }, metadata: meta },
    { type: 'ChangeSeverity', data: { severity: 'SEV1' }, metadata: meta },
    { type: 'ChangeServiceImpact', data: { service: 'checkout', impact: 'MAJOR_OUTAGE' }, metadata: meta },
    {
      type: 'PostStatusUpdate',
      data: { status: 'IDENTIFIED', message: 'Found it', channels: ['EMAIL'], visibility: 'PUBLIC' },
      metadata: meta,
    },
    { type: 'AddInternalNote', data: { note: 'Paged the DBA' }, metadata: meta },
    {
      type: 'SetResolutionEstimate',
      data: { estimatedResolutionAt: minutesAfterStart(600), reason: 'Restore takes hours' },
      metadata: meta,
    },
    { type: 'OfferWorkaround', data: { workaroundId: 'w-1', description: 'Pay by invoice' }, metadata: meta },
    { type: 'WithdrawWorkaround', data: { workaroundId: 'w-1' }, metadata: meta },
    { type: 'MitigateIncident', data: {}, metadata: meta },
    { type: 'ResolveIncident', data: { summary: 'Fixed' }, metadata: meta },
    { type: 'ReopenIncident', data: { reason: 'Errors are back' }, metadata: meta },
  ];
}
const byType = (commands: IncidentCommand[]) => commands.map((command) => [command.type, command] as const);

describe('incident', () => {
  it('lives in the stream incident-<id>', () => {
    expect(incidentStreamId('inc-1')).toBe('incident-inc-1');
  });

  it('lists every event type', () => {
    expect(INCIDENT_EVENT_TYPES).toEqual([
      'IncidentDeclared',
      'IncidentAcknowledged',
      'RoleAssigned',
      'SeverityChanged',
      'ServiceImpactChanged',
      'StatusChanged',
      'CustomerUpdatePublished',
      'InternalNoteAdded',
      'ResolutionEstimateSet',
      'WorkaroundOffered',
      'WorkaroundWithdrawn',
      'IncidentMitigated',
      'IncidentResolved',
      'IncidentReopened',
      'RootCauseIdentified',
      'RootCauseRevised',
      'PreventiveMeasurePlanned',
      'PreventiveMeasureStarted',
      'PreventiveMeasureCompleted',
      'PreventiveMeasureCancelled',
      'PostmortemPublished',
      'CompensationGranted',
      'CustomerFeedbackReceived',
      'IncidentClosed',
    ]);
  });

  describe('DeclareIncident', () => {
    const declare = (
      data: Partial<Extract<IncidentCommand, { type: 'DeclareIncident' }>['data']>,
      occurredAt = NOW,
    ) =>
      ({
        type: 'DeclareIncident',
        data: { incidentId: 'inc-1', title: 'Checkout fails', severity: 'SEV2', ...data },
        metadata: metadata(occurredAt),
      }) satisfies IncidentCommand;

    it('declares the incident with trimmed text', () =>
      given([])
        .when(
          declare({
            title: '  Checkout fails ',
            summary: ' Card payments time out ',
            services: [' checkout '],
          }),
        )
        .then([
          {
            type: 'IncidentDeclared',
            data: {
              incidentId: 'inc-1',
              title: 'Checkout fails',
              severity: 'SEV2',
              summary: 'Card payments time out',
              services: ['checkout'],
              communicationPolicyVersion: 1,
              compensationPolicyVersion: 1,
            },
          },
        ]));

    it('records no summary and no services when none are given, or the summary is blank', () =>
      given([])
        .when(declare({ summary: '   ' }))
        .then([
          {
            type: 'IncidentDeclared',
            data: {
              incidentId: 'inc-1',
              title: 'Checkout fails',
              severity: 'SEV2',
              summary: null,
              services: [],
              communicationPolicyVersion: 1,
              compensationPolicyVersion: 1,
            },
          },
        ]));

    it('accepts a backdated occurredAt', () =>
      given([])
        .when(declare({}, '2024-04-30T23:00:00+02:00'))
        .then([
          {
            type: 'IncidentDeclared',
            data: {
              incidentId: 'inc-1',
              title: 'Checkout fails',
              severity: 'SEV2',
              summary: null,
              services: [],
              communicationPolicyVersion: 1,
              compensationPolicyVersion: 1,
            },
          },
        ]));

    it('refuses an occurredAt in the future', () =>
      given([])
        .when(declare({}, minutesAfterStart(121)))
        .thenThrows('occurred-at-in-future'));

    it('refuses an occurredAt without a time zone', () =>
      given([]).when(declare({}, '2024-05-01T10:00:00')).thenThrows('invalid-timestamp'));

    it('refuses an incident that already exists', () =>
      given(incident).when(declare({})).thenThrows('incident-already-exists'));

    it('needs a title', () =>
      given([])
        .when(declare({ title: ' \n ' }))
        .thenThrows('incident-needs-title'));

    it('needs named services', () =>
      given([])
        .when(declare({ services: ['checkout', ' '] }))
        .thenThrows('service-needs-name'));

    it('refuses a service listed twice', () =>
      given([])
        .when(declare({ services: ['checkout', ' checkout'] }))
        .thenThrows('duplicate-service'));
  });

  describe('every command but DeclareIncident', () => {
    it.each(byType(commandsOnAnIncident(NOW)))('%s needs a declared incident', (_type, command) =>
      given([]).when(command).thenThrows('incident-not-found'),
    );

    it.each(byType(commandsOnAnIncident(minutesAfterStart(121))))(
      '%s refuses an occurredAt in the future',
      (_type, command) => given(incident).when(command).thenThrows('occurred-at-in-future'),
    );

    it.each(byType(commandsOnAnIncident(minutesAfterStart(-1))))(
      '%s refuses an occurredAt before the start',
      (_type, command) => given(incident).when(command).thenThrows('occurred-at-before-start'),
    );

    it.each(byType(commandsOnAnIncident(NOW).filter((command) => command.type !== 'ReopenIncident')))(
      '%s is refused once the incident is resolved',
      (_type, command) => given(resolvedIncident).when(command).thenThrows('incident-is-resolved'),
    );

    it('accepts a backdated occurredAt, down to the start', () => {
      given(incident)
        .when({ type: 'AcknowledgeIncident', data: {}, metadata: metadata(minutesAfterStart(5)) })
        .then([{ type: 'IncidentAcknowledged', data: {} }]);
      given(incident)
        .when({ type: 'AcknowledgeIncident', data: {}, metadata: metadata(START) })
        .then([{ type: 'IncidentAcknowledged', data: {} }]);
    });

    it('compares instants, not their spelling', () =>
      given(incident)
        .when({ type: 'AcknowledgeIncident', data: {}, metadata: metadata('2024-05-01T11:00:00+02:00') })
        .thenThrows('occurred-at-before-start'));
  });

  describe('AcknowledgeIncident', () => {
    const acknowledge: IncidentCommand = { type: 'AcknowledgeIncident', data: {}, metadata: metadata() };

    it('acknowledges the incident', () =>
      given(incident)
        .when(acknowledge)
        .then([{ type: 'IncidentAcknowledged', data: {} }]));

    it('happens once', () =>
      given([...incident, recorded({ type: 'IncidentAcknowledged', data: {} })])
        .when(acknowledge)
        .thenThrows('incident-already-acknowledged'));

    it('happens once, even after a reopen', () =>
      given([
        ...incident,
        recorded({ type: 'IncidentAcknowledged', data: {} }),
        resolution,
        recorded({ type: 'IncidentReopened', data: { reason: 'Back' } }, minutesAfterStart(70)),
      ])
        .when(acknowledge)
        .thenThrows('incident-already-acknowledged'));
  });

  describe('AssignRole', () => {
    const assign = (assignee: string): IncidentCommand => ({
      type: 'AssignRole',
      data: { role: 'COMMUNICATIONS_LEAD', assignee },
      metadata: metadata(),
    });
    const carolAssigned = recorded({
      type: 'RoleAssigned',
      data: { role: 'COMMUNICATIONS_LEAD', assignee: 'carol' },
    });

    it('assigns the role', () =>
      given(incident)
        .when(assign(' carol '))
        .then([{ type: 'RoleAssigned', data: { role: 'COMMUNICATIONS_LEAD', assignee: 'carol' } }]));

    it('hands the role over to someone else', () =>
      given([...incident, carolAssigned])
        .when(assign('dave'))
        .then([{ type: 'RoleAssigned', data: { role: 'COMMUNICATIONS_LEAD', assignee: 'dave' } }]));

    it('needs an assignee', () => given(incident).when(assign('  ')).thenThrows('role-needs-assignee'));

    it('refuses to assign the role to whom already holds it', () =>
      given([...incident, carolAssigned])
        .when(assign('carol'))
        .thenThrows('role-already-assigned'));
  });

  describe('ChangeSeverity', () => {
    it('records the change and its reason', () =>
      given(incident)
        .when({
          type: 'ChangeSeverity',
          data: { severity: 'SEV1', reason: ' All regions ' },
          metadata: metadata(),
        })
        .then([{ type: 'SeverityChanged', data: { from: 'SEV2', to: 'SEV1', reason: 'All regions' } }]));

    it('records a null reason when none is given', () =>
      given(incident)
        .when({ type: 'ChangeSeverity', data: { severity: 'SEV3' }, metadata: metadata() })
        .then([{ type: 'SeverityChanged', data: { from: 'SEV2', to: 'SEV3', reason: null } }]));

    it('refuses the current severity', () =>
      given(incident)
        .when({
          type: 'ChangeSeverity',
          data: { severity: 'SEV2', reason: 'Still bad' },
          metadata: metadata(),
        })
        .thenThrows('severity-unchanged'));

    const escalated = recorded(
      { type: 'SeverityChanged', data: { from: 'SEV2', to: 'SEV1', reason: null } },
      minutesAfterStart(90),
    );
    const downgradeAt = (occurredAt: string): IncidentCommand => ({
      type: 'ChangeSeverity',
      data: { severity: 'SEV3' },
      metadata: metadata(occurredAt),
    });

    it('refuses an occurredAt earlier than the latest severity change', () =>
      given([...incident, escalated])
        .when(downgradeAt(minutesAfterStart(60)))
        .thenThrows('severity-change-out-of-order'));

    it('accepts the very moment of the latest severity change', () =>
      given([...incident, escalated])
        .when(downgradeAt(minutesAfterStart(90)))
        .then([{ type: 'SeverityChanged', data: { from: 'SEV1', to: 'SEV3', reason: null } }]));
  });

  describe('ChangeServiceImpact', () => {
    const changeImpact = (
      service: string,
      impact: 'MAJOR_OUTAGE' | 'DEGRADED_PERFORMANCE',
    ): IncidentCommand => ({
      type: 'ChangeServiceImpact',
      data: { service, impact },
      metadata: metadata(),
    });

    it('changes the impact of a declared service, which started degraded', () =>
      given(incident)
        .when(changeImpact('checkout', 'MAJOR_OUTAGE'))
        .then([
          {
            type: 'ServiceImpactChanged',
            data: { service: 'checkout', from: 'DEGRADED_PERFORMANCE', to: 'MAJOR_OUTAGE' },
          },
        ]));

    it('adds a service the incident did not list', () =>
      given(incident)
        .when(changeImpact(' search ', 'MAJOR_OUTAGE'))
        .then([
          { type: 'ServiceImpactChanged', data: { service: 'search', from: null, to: 'MAJOR_OUTAGE' } },
        ]));

    it('takes any name as a service, even one an object already has', () =>
      given(incident)
        .when(changeImpact('constructor', 'MAJOR_OUTAGE'))
        .then([
          { type: 'ServiceImpactChanged', data: { service: 'constructor', from: null, to: 'MAJOR_OUTAGE' } },
        ]));

    it('refuses the current impact', () =>
      given(incident)
        .when(changeImpact('checkout', 'DEGRADED_PERFORMANCE'))
        .thenThrows('service-impact-unchanged'));

    it('needs a service name', () =>
      given(incident).when(changeImpact(' ', 'MAJOR_OUTAGE')).thenThrows('service-needs-name'));
  });

  describe('PostStatusUpdate', () => {
    type UpdateData = Extract<IncidentCommand, { type: 'PostStatusUpdate' }>['data'];
    const update = (data: Partial<UpdateData>, occurredAt = NOW): IncidentCommand => ({
      type: 'PostStatusUpdate',
      data: {
        status: 'INVESTIGATING',
        message: 'We are looking into failed payments',
        channels: ['EMAIL', 'WEBSITE'],
        visibility: 'PUBLIC',
        ...data,
      },
      metadata: metadata(occurredAt),
    });

    it('publishes the update alone when the status stays', () =>
      given(incident)
        .when(update({ message: ' Still looking ', visibility: 'INTERNAL' }))
        .then([
          {
            type: 'CustomerUpdatePublished',
            data: {
              status: 'INVESTIGATING',
              message: 'Still looking',
              channels: ['EMAIL', 'WEBSITE'],
              visibility: 'INTERNAL',
              nextUpdateAt: null,
            },
          },
        ]));

    it('changes the status first, then publishes, with the next update due from occurredAt', () =>
      given(incident)
        .when(update({ status: 'IDENTIFIED', nextUpdateInMinutes: 30 }, minutesAfterStart(10)))
        .then([
          { type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'IDENTIFIED' } },
          {
            type: 'CustomerUpdatePublished',
            data: {
              status: 'IDENTIFIED',
              message: 'We are looking into failed payments',
              channels: ['EMAIL', 'WEBSITE'],
              visibility: 'PUBLIC',
              nextUpdateAt: minutesAfterStart(40),
            },
          },
        ]));

    it('records a status moving back', () =>
      given([
        ...incident,
        recorded(
          { type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'MONITORING' } },
          minutesAfterStart(5),
        ),
      ])
        .when(update({ message: 'Errors are back' }))
        .then([
          { type: 'StatusChanged', data: { from: 'MONITORING', to: 'INVESTIGATING' } },
          {
            type: 'CustomerUpdatePublished',
            data: {
              status: 'INVESTIGATING',
              message: 'Errors are back',
              channels: ['EMAIL', 'WEBSITE'],
              visibility: 'PUBLIC',
              nextUpdateAt: null,
            },
          },
        ]));

    it.each(['RESOLVED', 'CLOSED'] as const)('cannot set %s', (status) =>
      given(incident).when(update({ status })).thenThrows('status-needs-dedicated-command'),
    );

    it('needs a message', () =>
      given(incident)
        .when(update({ message: '  ' }))
        .thenThrows('customer-update-needs-message'));

    it('needs a channel', () =>
      given(incident)
        .when(update({ channels: [] }))
        .thenThrows('customer-update-needs-channel'));

    it('refuses a channel listed twice', () =>
      given(incident)
        .when(update({ channels: ['SMS', 'EMAIL', 'SMS'] }))
        .thenThrows('duplicate-channel'));

    it.each([0, -15, 7.5])('refuses %p minutes to the next update', (nextUpdateInMinutes) =>
      given(incident).when(update({ nextUpdateInMinutes })).thenThrows('next-update-must-be-positive'),
    );

    describe('backdated', () => {
      const identified = recorded(
        { type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'IDENTIFIED' } },
        minutesAfterStart(30),
      );
      const publishedAt = (occurredAt: string, visibility: Visibility = 'PUBLIC') =>
        recorded(customerUpdate(visibility), occurredAt);
      const published = (status: IncidentStatus): IncidentEvent => ({
        type: 'CustomerUpdatePublished',
        data: {
          status,
          message: 'We are looking into failed payments',
          channels: ['EMAIL', 'WEBSITE'],
          visibility: 'PUBLIC',
          nextUpdateAt: null,
        },
      });

      it('refuses an occurredAt earlier than the latest status change, even keeping the status', () =>
        given([...incident, identified])
          .when(update({ status: 'IDENTIFIED' }, minutesAfterStart(20)))
          .thenThrows('status-update-out-of-order'));

      it('accepts the very moment of the latest status change', () =>
        given([...incident, identified])
          .when(update({ status: 'MONITORING' }, minutesAfterStart(30)))
          .then([
            { type: 'StatusChanged', data: { from: 'IDENTIFIED', to: 'MONITORING' } },
            published('MONITORING'),
          ]));

      it.each(['PUBLIC', 'INTERNAL'] as const)(
        'refuses a change of status earlier than the latest %s update',
        (visibility) =>
          given([...incident, publishedAt(minutesAfterStart(30), visibility)])
            .when(update({ status: 'IDENTIFIED' }, minutesAfterStart(20)))
            .thenThrows('status-update-out-of-order'),
      );

      it('accepts a change of status at the very moment of the latest update', () =>
        given([...incident, publishedAt(minutesAfterStart(30), 'INTERNAL')])
          .when(update({ status: 'IDENTIFIED' }, minutesAfterStart(30)))
          .then([
            { type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'IDENTIFIED' } },
            published('IDENTIFIED'),
          ]));

      it('accepts an update keeping the status earlier than the latest update', () =>
        given([...incident, publishedAt(minutesAfterStart(30))])
          .when(update({}, minutesAfterStart(20)))
          .then([published('INVESTIGATING')]));
    });
  });

  describe('AddInternalNote', () => {
    const addNote = (note: string): IncidentCommand => ({
      type: 'AddInternalNote',
      data: { note },
      metadata: metadata(),
    });

    it('adds the note', () =>
      given(incident)
        .when(addNote(' Paged the DBA '))
        .then([{ type: 'InternalNoteAdded', data: { note: 'Paged the DBA' } }]));

    it('needs text', () => given(incident).when(addNote('')).thenThrows('note-needs-text'));
  });

  describe('SetResolutionEstimate', () => {
    const estimate = (
      estimatedResolutionAt: string,
      reason = 'Restore is running',
      occurredAt = NOW,
    ): IncidentCommand => ({
      type: 'SetResolutionEstimate',
      data: { estimatedResolutionAt, reason },
      metadata: metadata(occurredAt),
    });
    const firstEstimate = recorded(
      {
        type: 'ResolutionEstimateSet',
        data: {
          estimatedResolutionAt: minutesAfterStart(180),
          previousEstimate: null,
          reason: 'Restore is running',
        },
      },
      minutesAfterStart(30),
    );

    it('sets the first estimate, in UTC', () =>
      given(incident)
        .when(estimate('2024-05-01T15:00:00+02:00', ' Restore is running '))
        .then([
          {
            type: 'ResolutionEstimateSet',
            data: {
              estimatedResolutionAt: minutesAfterStart(180),
              previousEstimate: null,
              reason: 'Restore is running',
            },
          },
        ]));

    it('revises the estimate, keeping the previous one', () =>
      given([...incident, firstEstimate])
        .when(estimate(minutesAfterStart(240), 'Restore is slower than planned'))
        .then([
          {
            type: 'ResolutionEstimateSet',
            data: {
              estimatedResolutionAt: minutesAfterStart(240),
              previousEstimate: minutesAfterStart(180),
              reason: 'Restore is slower than planned',
            },
          },
        ]));

    it('accepts an estimate already past now when it was given earlier (backdated)', () =>
      given(incident)
        .when(estimate(minutesAfterStart(60), 'Said on the bridge call', minutesAfterStart(15)))
        .then([
          {
            type: 'ResolutionEstimateSet',
            data: {
              estimatedResolutionAt: minutesAfterStart(60),
              previousEstimate: null,
              reason: 'Said on the bridge call',
            },
          },
        ]));

    it('refuses an estimate that is not later than the moment it is given', () =>
      given(incident).when(estimate(NOW)).thenThrows('eta-must-be-later'));

    it('refuses an estimate before the start', () =>
      given(incident)
        .when(estimate(minutesAfterStart(-30), 'Typo', START))
        .thenThrows('eta-must-be-later'));

    it('refuses the current estimate', () =>
      given([...incident, firstEstimate])
        .when(estimate('2024-05-01T15:00:00+02:00'))
        .thenThrows('eta-unchanged'));

    it('needs a reason', () =>
      given(incident)
        .when(estimate(minutesAfterStart(180), ' '))
        .thenThrows('eta-needs-reason'));

    it('needs an instant', () => given(incident).when(estimate('tomorrow')).thenThrows('invalid-timestamp'));

    it('refuses an occurredAt earlier than the latest estimate', () =>
      given([...incident, firstEstimate])
        .when(estimate(minutesAfterStart(240), 'Said before', minutesAfterStart(20)))
        .thenThrows('eta-out-of-order'));

    it('accepts the very moment of the latest estimate', () =>
      given([...incident, firstEstimate])
        .when(estimate(minutesAfterStart(240), 'Corrected', minutesAfterStart(30)))
        .then([
          {
            type: 'ResolutionEstimateSet',
            data: {
              estimatedResolutionAt: minutesAfterStart(240),
              previousEstimate: minutesAfterStart(180),
              reason: 'Corrected',
            },
          },
        ]));
  });

  describe('workarounds', () => {
    const offer = (workaroundId: string, description = 'Pay by invoice'): IncidentCommand => ({
      type: 'OfferWorkaround',
      data: { workaroundId, description },
      metadata: metadata(),
    });
    const withdraw = (workaroundId: string, reason?: string): IncidentCommand => ({
      type: 'WithdrawWorkaround',
      data: { workaroundId, reason },
      metadata: metadata(),
    });
    const offered = recorded({
      type: 'WorkaroundOffered',
      data: { workaroundId: 'w-1', description: 'Pay by invoice' },
    });
    const withdrawn = recorded({ type: 'WorkaroundWithdrawn', data: { workaroundId: 'w-1', reason: null } });

    it('offers a workaround', () =>
      given(incident)
        .when(offer('w-1', ' Pay by invoice '))
        .then([{ type: 'WorkaroundOffered', data: { workaroundId: 'w-1', description: 'Pay by invoice' } }]));

    it('needs a description', () =>
      given(incident).when(offer('w-1', '')).thenThrows('workaround-needs-description'));

    it('refuses an id already offered, even withdrawn', () =>
      given([...incident, offered, withdrawn])
        .when(offer('w-1'))
        .thenThrows('workaround-already-offered'));

    it('withdraws an active workaround', () =>
      given([...incident, offered])
        .when(withdraw('w-1', ' Invoices fail too '))
        .then([{ type: 'WorkaroundWithdrawn', data: { workaroundId: 'w-1', reason: 'Invoices fail too' } }]));

    it('refuses to withdraw a workaround never offered', () =>
      given([...incident, offered])
        .when(withdraw('w-2'))
        .thenThrows('workaround-not-active'));

    it('refuses to withdraw a workaround twice', () =>
      given([...incident, offered, withdrawn])
        .when(withdraw('w-1'))
        .thenThrows('workaround-not-active'));

    describe('backdated', () => {
      const offeredLate = recorded(
        { type: 'WorkaroundOffered', data: { workaroundId: 'w-1', description: 'Pay by invoice' } },
        minutesAfterStart(60),
      );
      const withdrawAt = (occurredAt: string): IncidentCommand => ({
        ...withdraw('w-1'),
        metadata: metadata(occurredAt),
      });

      it('refuses to withdraw a workaround at an occurredAt earlier than its offer', () =>
        given([...incident, offeredLate])
          .when(withdrawAt(minutesAfterStart(30)))
          .thenThrows('workaround-withdrawal-before-offer'));

      it('withdraws a workaround at the very moment of its offer', () =>
        given([...incident, offeredLate])
          .when(withdrawAt(minutesAfterStart(60)))
          .then([{ type: 'WorkaroundWithdrawn', data: { workaroundId: 'w-1', reason: null } }]));
    });
  });

  describe('MitigateIncident', () => {
    const mitigate: IncidentCommand = {
      type: 'MitigateIncident',
      data: { summary: ' Traffic drained ' },
      metadata: metadata(),
    };
    const mitigated = recorded({ type: 'IncidentMitigated', data: { summary: null } }, minutesAfterStart(30));

    it('mitigates the incident', () =>
      given(incident)
        .when(mitigate)
        .then([{ type: 'IncidentMitigated', data: { summary: 'Traffic drained' } }]));

    it('happens once per open period', () =>
      given([...incident, mitigated])
        .when(mitigate)
        .thenThrows('incident-already-mitigated'));

    it('happens again after a reopen', () =>
      given([
        ...incident,
        mitigated,
        resolution,
        recorded({ type: 'IncidentReopened', data: { reason: 'Back' } }, minutesAfterStart(70)),
      ])
        .when(mitigate)
        .then([{ type: 'IncidentMitigated', data: { summary: 'Traffic drained' } }]));

    const mitigateAt = (occurredAt: string): IncidentCommand => ({
      ...mitigate,
      metadata: metadata(occurredAt),
    });

    it('accepts a backdated occurredAt in the first open period', () =>
      given(incident)
        .when(mitigateAt(minutesAfterStart(5)))
        .then([{ type: 'IncidentMitigated', data: { summary: 'Traffic drained' } }]));
  });

  describe('ResolveIncident', () => {
    const resolve = (summary: string): IncidentCommand => ({
      type: 'ResolveIncident',
      data: { summary },
      metadata: metadata(),
    });

    it('resolves the incident', () =>
      given(incident)
        .when(resolve(' Rolled back the deploy '))
        .then([{ type: 'IncidentResolved', data: { summary: 'Rolled back the deploy' } }]));

    it('needs a summary', () => given(incident).when(resolve(' ')).thenThrows('resolution-needs-summary'));

    const resolveAt = (occurredAt: string): IncidentCommand => ({
      type: 'ResolveIncident',
      data: { summary: 'Fixed' },
      metadata: metadata(occurredAt),
    });
    const resolved: IncidentEvent[] = [{ type: 'IncidentResolved', data: { summary: 'Fixed' } }];
    /** The entries of the open period the metrics measure against its resolution, at minute 50. */
    const measuredAgainstResolution: [string, RecordedIncidentEvent][] = (
      [
        ['a status change', { type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'IDENTIFIED' } }],
        ['a public update', customerUpdate('PUBLIC')],
        ['an internal update', customerUpdate('INTERNAL')],
        [
          'an estimate',
          {
            type: 'ResolutionEstimateSet',
            data: { estimatedResolutionAt: minutesAfterStart(90), previousEstimate: null, reason: 'r' },
          },
        ],
        ['a severity change', { type: 'SeverityChanged', data: { from: 'SEV2', to: 'SEV1', reason: null } }],
        ['the mitigation', { type: 'IncidentMitigated', data: { summary: null } }],
      ] as const
    ).map(([what, event]) => [what, recorded(event, minutesAfterStart(50))]);

    it.each(measuredAgainstResolution)('refuses an occurredAt earlier than %s', (_what, entry) =>
      given([...incident, entry])
        .when(resolveAt(minutesAfterStart(40)))
        .thenThrows('resolution-before-latest-entry'),
    );

    it.each(measuredAgainstResolution)('accepts the very moment of %s', (_what, entry) =>
      given([...incident, entry])
        .when(resolveAt(minutesAfterStart(50)))
        .then(resolved),
    );

    it.each([
      ['an acknowledgement', { type: 'IncidentAcknowledged', data: {} }],
      ['a role assignment', { type: 'RoleAssigned', data: { role: 'SCRIBE', assignee: 'erin' } }],
      [
        'an impact change',
        {
          type: 'ServiceImpactChanged',
          data: { service: 'checkout', from: 'DEGRADED_PERFORMANCE', to: 'MAJOR_OUTAGE' },
        },
      ],
      ['a note', { type: 'InternalNoteAdded', data: { note: 'Paged the DBA' } }],
      [
        'a workaround',
        { type: 'WorkaroundOffered', data: { workaroundId: 'w-1', description: 'Pay by invoice' } },
      ],
    ] as const)('is backdated freely before %s', (_what, event) =>
      given([...incident, recorded(event, minutesAfterStart(50))])
        .when(resolveAt(minutesAfterStart(40)))
        .then(resolved),
    );
  });

  describe('ReopenIncident', () => {
    const reopen = (reason: string, occurredAt = NOW): IncidentCommand => ({
      type: 'ReopenIncident',
      data: { reason },
      metadata: metadata(occurredAt),
    });

    it('reopens a resolved incident', () =>
      given(resolvedIncident)
        .when(reopen(' Errors are back '))
        .then([{ type: 'IncidentReopened', data: { reason: 'Errors are back' } }]));

    it('reopens at the very moment of the resolution', () =>
      given(resolvedIncident)
        .when(reopen('It never worked', minutesAfterStart(60)))
        .then([{ type: 'IncidentReopened', data: { reason: 'It never worked' } }]));

    it('needs a resolved incident', () =>
      given(incident).when(reopen('Why not')).thenThrows('incident-not-resolved'));

    it('needs a reason', () => given(resolvedIncident).when(reopen('')).thenThrows('reopen-needs-reason'));

    it('refuses an occurredAt before the resolution', () =>
      given(resolvedIncident)
        .when(reopen('Errors are back', minutesAfterStart(59)))
        .thenThrows('reopen-before-resolution'));

    /** The open period's entries that the rules order after the reopening, with what each decides. */
    const orderedAfterReopening = (occurredAt: string) =>
      [
        {
          rule: 'status-update-out-of-order',
          command: {
            type: 'PostStatusUpdate',
            data: {
              status: 'INVESTIGATING',
              message: 'Looking again',
              channels: ['EMAIL'],
              visibility: 'PUBLIC',
            },
            metadata: metadata(occurredAt),
          },
          events: [
            {
              type: 'CustomerUpdatePublished',
              data: {
                status: 'INVESTIGATING',
                message: 'Looking again',
                channels: ['EMAIL'],
                visibility: 'PUBLIC',
                nextUpdateAt: null,
              },
            },
          ],
        },
        {
          rule: 'mitigation-before-reopening',
          command: { type: 'MitigateIncident', data: {}, metadata: metadata(occurredAt) },
          events: [{ type: 'IncidentMitigated', data: { summary: null } }],
        },
        {
          rule: 'resolution-before-latest-entry',
          command: { type: 'ResolveIncident', data: { summary: 'Fixed' }, metadata: metadata(occurredAt) },
          events: [{ type: 'IncidentResolved', data: { summary: 'Fixed' } }],
        },
      ] satisfies { rule: string; command: IncidentCommand; events: IncidentEvent[] }[];

    it.each(orderedAfterReopening(minutesAfterStart(65)))(
      'refuses $command.type at an occurredAt earlier than the reopening ($rule)',
      ({ rule, command }) => given(reopenedIncident).when(command).thenThrows(rule),
    );

    it.each(orderedAfterReopening(minutesAfterStart(70)))(
      'accepts $command.type at the very moment of the reopening',
      ({ command, events }) => given(reopenedIncident).when(command).then(events),
    );

    it('opens the incident to every command again', () =>
      given([
        ...resolvedIncident,
        recorded({ type: 'IncidentReopened', data: { reason: 'Back' } }, minutesAfterStart(70)),
      ])
        .when({ type: 'AddInternalNote', data: { note: 'Looking again' }, metadata: metadata() })
        .then([{ type: 'InternalNoteAdded', data: { note: 'Looking again' } }]));
  });

  describe('evolve', () => {
    it('starts with no incident', () => {
      expect(initialIncidentState()).toMatchObject({ exists: false, id: null, version: 0 });
    });

    it('builds the state of a whole incident', () => {
      const events: RecordedIncidentEvent[] = [
        recorded(declared, START, 'alice'),
        recorded({ type: 'IncidentAcknowledged', data: {} }, minutesAfterStart(3), 'bob'),
        recorded({ type: 'RoleAssigned', data: { role: 'INCIDENT_COMMANDER', assignee: 'carol' } }),
        recorded({ type: 'SeverityChanged', data: { from: 'SEV2', to: 'SEV1', reason: null } }),
        recorded({
          type: 'ServiceImpactChanged',
          data: { service: 'search', from: null, to: 'PARTIAL_OUTAGE' },
        }),
        recorded({ type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'IDENTIFIED' } }),
        recorded(
          {
            type: 'CustomerUpdatePublished',
            data: {
              status: 'IDENTIFIED',
              message: 'Found it',
              channels: ['EMAIL'],
              visibility: 'PUBLIC',
              nextUpdateAt: minutesAfterStart(40),
            },
          },
          minutesAfterStart(10),
        ),
        recorded({ type: 'InternalNoteAdded', data: { note: 'Paged the DBA' } }),
        recorded(
          {
            type: 'ResolutionEstimateSet',
            data: { estimatedResolutionAt: minutesAfterStart(90), previousEstimate: null, reason: 'Restore' },
          },
          minutesAfterStart(12),
        ),
        recorded(
          { type: 'WorkaroundOffered', data: { workaroundId: 'w-1', description: 'Pay by invoice' } },
          minutesAfterStart(15),
        ),
        recorded(
          { type: 'WorkaroundWithdrawn', data: { workaroundId: 'w-1', reason: 'Fails too' } },
          minutesAfterStart(25),
        ),
        recorded({ type: 'IncidentMitigated', data: { summary: null } }, minutesAfterStart(30)),
      ];

      expect(stateAfter(events)).toEqual({
        exists: true,
        id: 'inc-1',
        title: 'Checkout fails',
        summary: null,
        severity: 'SEV1',
        severitySince: START,
        status: 'IDENTIFIED',
        statusSince: START,
        services: {
          checkout: 'DEGRADED_PERFORMANCE',
          payments: 'DEGRADED_PERFORMANCE',
          search: 'PARTIAL_OUTAGE',
        },
        roles: { INCIDENT_COMMANDER: 'carol' },
        startedAt: START,
        declaredBy: 'alice',
        acknowledgedAt: minutesAfterStart(3),
        acknowledgedBy: 'bob',
        estimatedResolutionAt: minutesAfterStart(90),
        estimateGivenAt: minutesAfterStart(12),
        etaRevisions: 0,
        workarounds: [
          {
            workaroundId: 'w-1',
            description: 'Pay by invoice',
            offeredAt: minutesAfterStart(15),
            withdrawnAt: minutesAfterStart(25),
            withdrawalReason: 'Fails too',
          },
        ],
        lastCustomerUpdateAt: minutesAfterStart(10),
        nextUpdateDueAt: minutesAfterStart(40),
        latestStatusUpdateAt: minutesAfterStart(10),
        mitigatedAt: minutesAfterStart(30),
        resolvedAt: null,
        resolutionSummary: null,
        reopenCount: 0,
        reopenedAt: null,
        rootCauses: [],
        preventiveMeasures: [],
        postmortem: null,
        compensations: [],
        feedback: [],
        closedAt: null,
        communicationPolicyVersion: 1,
        compensationPolicyVersion: 1,
        version: 12,
      } satisfies IncidentState);
    });

    it('records a status moving back', () => {
      const state = stateAfter([
        ...incident,
        recorded({ type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'MONITORING' } }),
        recorded({ type: 'StatusChanged', data: { from: 'MONITORING', to: 'INVESTIGATING' } }),
      ]);
      expect(state.status).toBe('INVESTIGATING');
    });

    it('counts the estimate revisions after the first', () => {
      const estimateSet = (estimatedResolutionAt: string, previousEstimate: string | null) =>
        recorded({
          type: 'ResolutionEstimateSet',
          data: { estimatedResolutionAt, previousEstimate, reason: 'r' },
        });
      const state = stateAfter([
        ...incident,
        estimateSet(minutesAfterStart(60), null),
        estimateSet(minutesAfterStart(90), minutesAfterStart(60)),
        estimateSet(minutesAfterStart(80), minutesAfterStart(90)),
      ]);
      expect(state).toMatchObject({ estimatedResolutionAt: minutesAfterStart(80), etaRevisions: 2 });
    });

    describe('customer updates', () => {
      const published = (
        visibility: 'PUBLIC' | 'INTERNAL',
        occurredAt: string,
        nextUpdateAt: string | null,
      ) =>
        recorded(
          {
            type: 'CustomerUpdatePublished',
            data: { status: 'INVESTIGATING', message: 'm', channels: ['EMAIL'], visibility, nextUpdateAt },
          },
          occurredAt,
        );

      it('are tracked when public only', () => {
        const state = stateAfter([
          ...incident,
          published('PUBLIC', minutesAfterStart(10), minutesAfterStart(40)),
          published('INTERNAL', minutesAfterStart(20), minutesAfterStart(25)),
        ]);
        expect(state).toMatchObject({
          lastCustomerUpdateAt: minutesAfterStart(10),
          nextUpdateDueAt: minutesAfterStart(40),
          latestStatusUpdateAt: minutesAfterStart(20),
        });
      });

      it('follow the latest in time: a backdated update recorded late keeps the newer promise', () => {
        const state = stateAfter([
          ...incident,
          published('PUBLIC', minutesAfterStart(30), null),
          published('PUBLIC', minutesAfterStart(10), minutesAfterStart(40)),
        ]);
        expect(state).toMatchObject({ lastCustomerUpdateAt: minutesAfterStart(30), nextUpdateDueAt: null });
      });
    });

    it('keeps the latest instants of each kind when an entry was recorded out of order', () => {
      /** The entry at minute 30, then one recorded later about minute 20 (as before the order rules). */
      const outOfOrder = (later: IncidentEvent, earlier: IncidentEvent) => [
        recorded(later, minutesAfterStart(30)),
        recorded(earlier, minutesAfterStart(20)),
      ];
      const estimateSet = (
        estimatedResolutionAt: string,
        previousEstimate: string | null,
      ): IncidentEvent => ({
        type: 'ResolutionEstimateSet',
        data: { estimatedResolutionAt, previousEstimate, reason: 'r' },
      });
      const state = stateAfter([
        ...incident,
        ...outOfOrder(
          { type: 'SeverityChanged', data: { from: 'SEV2', to: 'SEV1', reason: null } },
          { type: 'SeverityChanged', data: { from: 'SEV1', to: 'SEV3', reason: null } },
        ),
        ...outOfOrder(
          { type: 'StatusChanged', data: { from: 'INVESTIGATING', to: 'IDENTIFIED' } },
          { type: 'StatusChanged', data: { from: 'IDENTIFIED', to: 'MONITORING' } },
        ),
        ...outOfOrder(
          estimateSet(minutesAfterStart(90), null),
          estimateSet(minutesAfterStart(80), minutesAfterStart(90)),
        ),
      ]);
      expect(state).toMatchObject({
        severity: 'SEV3',
        severitySince: minutesAfterStart(30),
        status: 'MONITORING',
        statusSince: minutesAfterStart(30),
        estimatedResolutionAt: minutesAfterStart(80),
        estimateGivenAt: minutesAfterStart(30),
      });
    });

    it('resolves, then reopens keeping the estimate history', () => {
      const beforeResolution = [
        ...incident,
        recorded({
          type: 'ResolutionEstimateSet',
          data: { estimatedResolutionAt: minutesAfterStart(50), previousEstimate: null, reason: 'r' },
        }),
        recorded({
          type: 'ResolutionEstimateSet',
          data: {
            estimatedResolutionAt: minutesAfterStart(55),
            previousEstimate: minutesAfterStart(50),
            reason: 'r',
          },
        }),
        recorded(
          {
            type: 'CustomerUpdatePublished',
            data: {
              status: 'INVESTIGATING',
              message: 'm',
              channels: ['EMAIL'],
              visibility: 'PUBLIC',
              nextUpdateAt: minutesAfterStart(70),
            },
          },
          minutesAfterStart(40),
        ),
        recorded({ type: 'IncidentMitigated', data: { summary: null } }, minutesAfterStart(45)),
      ];
      const resolved = stateAfter([...beforeResolution, resolution]);
      expect(resolved).toMatchObject({
        status: 'RESOLVED',
        statusSince: minutesAfterStart(60),
        resolvedAt: minutesAfterStart(60),
        resolutionSummary: 'Rolled back',
        nextUpdateDueAt: null,
      });

      const reopened = stateAfter([
        ...beforeResolution,
        resolution,
        recorded({ type: 'IncidentReopened', data: { reason: 'Back' } }, minutesAfterStart(70)),
      ]);
      expect(reopened).toMatchObject({
        status: 'INVESTIGATING',
        statusSince: minutesAfterStart(70),
        mitigatedAt: null,
        resolvedAt: null,
        resolutionSummary: null,
        reopenCount: 1,
        reopenedAt: minutesAfterStart(70),
        estimatedResolutionAt: minutesAfterStart(55),
        etaRevisions: 1,
        version: 7,
      });
    });
  });
});
