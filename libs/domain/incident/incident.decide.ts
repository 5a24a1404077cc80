/**
 * Incident commands and `decide`.
 *
 * Rules (the stable `RuleViolation.rule` names):
 *   incident-already-exists         DeclareIncident on a stream that already holds an incident
 *   incident-not-found              any other command before DeclareIncident
 *   invalid-timestamp               an instant that is not ISO-8601 with a time zone
 *   occurred-at-in-future           occurredAt later than now (backdating is legal, see below)
 *   occurred-at-before-start        occurredAt earlier than the incident's start
 *   incident-is-resolved            a command of the open incident (acknowledge … resolve) once resolved
 *   incident-is-closed              anything but preventive-measure work and feedback once closed
 *   incident-needs-title            blank title
 *   service-needs-name              blank service name
 *   duplicate-service               a service listed twice at declare
 *   unknown-communication-policy-version  DeclareIncident naming a version the registry lacks
 *   unknown-compensation-policy-version   DeclareIncident naming a version the registry lacks
 *   incident-already-acknowledged   a second AcknowledgeIncident
 *   role-needs-assignee             blank assignee
 *   role-already-assigned           the role already has this assignee
 *   severity-unchanged              ChangeSeverity to the current severity
 *   severity-change-out-of-order    ChangeSeverity at an occurredAt earlier than the latest severity change
 *   service-impact-unchanged        ChangeServiceImpact to the service's current impact
 *   status-needs-dedicated-command  a status update to RESOLVED or CLOSED (use resolve or close)
 *   customer-update-needs-message   blank message
 *   customer-update-needs-channel   no channel
 *   duplicate-channel               a channel listed twice
 *   next-update-must-be-positive    nextUpdateInMinutes not a whole number above 0
 *   status-update-out-of-order      a status update at an occurredAt earlier than the latest status change
 *                                   (by a status update, the reopening or the declaration); one that
 *                                   changes the status, also earlier than the latest status update
 *                                   (either visibility)
 *   note-needs-text                 blank internal note
 *   eta-needs-reason                blank reason for an estimate
 *   eta-must-be-later               estimate not later than its occurredAt (hence than the start)
 *   eta-unchanged                   estimate equal to the current one
 *   eta-out-of-order                an estimate at an occurredAt earlier than the latest estimate
 *   workaround-needs-description    blank description
 *   workaround-already-offered      a workaroundId already used (withdrawn ones included)
 *   workaround-not-active           withdrawing a workaround never offered or already withdrawn
 *   workaround-withdrawal-before-offer  withdrawing a workaround at an occurredAt earlier than its offer
 *   incident-already-mitigated      a second mitigation in the same open period
 *   mitigation-before-reopening     mitigating at an occurredAt earlier than the reopening that began
 *                                   the open period
 *   resolution-needs-summary        blank resolution summary
 *   resolution-before-latest-entry  resolving at an occurredAt earlier than the latest status change,
 *                                   status update (either visibility), estimate or severity change, or
 *                                   than the open period's mitigation
 *   incident-not-resolved           ReopenIncident, PublishPostmortem, GrantCompensation,
 *                                   RecordCustomerFeedback or CloseIncident while not resolved
 *   reopen-needs-reason             blank reason to reopen
 *   reopen-before-resolution        reopening at an occurredAt earlier than the resolution
 *   occurred-at-before-resolution   postmortem, compensation, feedback or close at an occurredAt
 *                                   earlier than the resolution
 *   root-cause-already-identified   a rootCauseId already used
 *   root-cause-not-found            revising, or planning a measure for, a root cause never identified
 *   root-cause-needs-description    blank description
 *   root-cause-needs-trigger        blank trigger
 *   root-cause-needs-detection      blank detection
 *   contributing-factor-needs-text  a blank contributing factor
 *   duplicate-contributing-factor   a contributing factor listed twice
 *   root-cause-revision-needs-reason  blank reason for a revision
 *   root-cause-unchanged            a revision that restates the current analysis
 *   root-cause-revision-out-of-order  revising a root cause at an occurredAt earlier than its
 *                                   identification or its latest revision
 *   measure-already-planned         a measureId already used
 *   measure-needs-title             blank title
 *   measure-needs-owner             blank owner
 *   measure-due-date-must-be-later  a due date not later than the moment it is planned
 *   measure-before-root-cause       planning a measure for a root cause at an occurredAt earlier than
 *                                   that root cause's identification
 *   measure-not-found               start, complete or cancel a measure never planned
 *   measure-already-started         starting a measure in progress
 *   measure-already-finished        start, complete or cancel a completed or cancelled measure
 *   measure-needs-evidence          completing without evidence
 *   measure-cancellation-needs-reason  cancelling without a reason
 *   measure-step-out-of-order       starting, completing or cancelling a measure at an occurredAt
 *                                   earlier than its plan or its start
 *   postmortem-already-published    a second PublishPostmortem
 *   postmortem-needs-summary        blank summary
 *   postmortem-needs-customer-impact  blank customer impact
 *   postmortem-needs-narrative      blank narrative
 *   postmortem-needs-customer-explanation  blank customer-facing explanation
 *   lesson-needs-text               a blank lesson
 *   postmortem-needs-root-cause     a SEV1/SEV2 postmortem before any root cause
 *   postmortem-needs-preventive-measure  a SEV1/SEV2 postmortem before a measure that is not cancelled
 *   compensation-already-granted    a grantId already used
 *   compensation-needs-one-recipient  neither or both of segment and customerId
 *   compensation-needs-one-value    neither or both of creditPercent and amount, or a currency with a percent
 *   compensation-percent-out-of-range  creditPercent not above 0 and at most 100
 *   compensation-amount-must-be-positive  amount not a positive number
 *   compensation-needs-currency     an amount without a three-letter currency code
 *   unknown-customer-segment        a segment the incident's compensation policy does not list
 *   compensation-needs-justification  a grant other than the policy's suggestion without a justification
 *   feedback-already-recorded       a feedbackId already used
 *   rating-out-of-range             a rating that is not a whole number from 1 to 5
 *   incident-needs-postmortem       closing a SEV1/SEV2 without a published postmortem
 *
 * When each command is accepted:
 * - While open (declared, not resolved): acknowledge, roles, severity, impact, status updates,
 *   notes, estimates, workarounds, mitigate, resolve.
 * - Only once resolved: reopen, publish the postmortem, grant compensation, record feedback, close.
 *   Compensation waits for the resolution because the outage's length decides the credit; feedback
 *   because it is about the whole outage.
 * - At any time (open or resolved): identify and revise root causes (knowing the cause during the
 *   incident is normal), plan, start, complete and cancel preventive measures.
 * - Once closed: only preventive-measure work (planning new ones included: follow-up reviews find
 *   more) and customer feedback. Root causes and the postmortem are final once closed.
 *
 * Backdating (occurredAt earlier than now, not before the start) is legal: entries are often written
 * after the fact. But the state folds entries in the order recorded, while the metrics and the
 * timeline read them in the world's order (occurredAt). So that the two agree on the latest
 * severity, status and estimate and on what the open period holds: a severity change or an estimate
 * is not backdated before the latest one; a status update not before the latest status change, and
 * one that changes the status not before the latest status update either; a mitigation not before
 * the reopening; a resolution not before an entry of its open period that the metrics measure
 * against it (an equal instant is in order). Nor does an entry about an item (a workaround, a root
 * cause, a preventive measure) come before the item's own latest dated entry: a withdrawal not
 * before the offer, a revision not before the identification or the latest revision, a measure's
 * start, completion or cancellation not before its plan or its start, and a measure planned for a
 * root cause not before that root cause's identification; else the timeline would tell of an item
 * before it existed, or in another order than the one its state was folded in. The other entries
 * (acknowledgement, roles, service impacts, notes, offering workarounds, identifying root causes,
 * planning measures, and status updates that keep the status, among themselves) stay free to be
 * backdated down to the start: a scribe enters the timeline afterwards.
 *
 * Where the brief was silent:
 * - Text is stored trimmed; optional text that is blank is stored as null.
 * - Instants in event data are stored in UTC (`toISOString`), whatever offset they came with.
 * - Re-stating what the state already says (same severity, impact, assignee, ETA, root cause) is
 *   refused rather than recorded, so that the timeline and the revision counts only hold real changes.
 * - A service the incident does not list yet has no impact (`from: null`); any impact can be set
 *   for it, OPERATIONAL included (a service checked and found fine).
 * - Acknowledging happens once per incident, reopened or not: MTTA is about the first one.
 * - Mitigating does not change the status; responders move it with a status update.
 * - Ids (incidentId, workaroundId, rootCauseId, measureId, grantId, feedbackId) are generated by the
 *   caller and not checked here beyond uniqueness within the incident.
 * - DeclareIncident records the policy versions the caller names, the current ones when it names none.
 * - The SEV1/SEV2 requirements (postmortem, close) apply to the severity at that moment.
 * - A measure can be completed or cancelled from PLANNED or IN_PROGRESS; it is started only from PLANNED.
 * - A published postmortem is not republished: corrections go into root-cause revisions.
 * - Compensation: the outage lasts from the start to the resolution. A grant to one customer is
 *   judged against the policy's default segment; an amount (not a percent) always needs a justification.
 */
import type { CommandMetadata, Decider, DomainCommand } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import {
  communicationPolicy,
  CURRENT_COMMUNICATION_POLICY_VERSION,
} from '../policies/communication-policy.js';
import {
  compensationPolicy,
  compensationSegments,
  CURRENT_COMPENSATION_POLICY_VERSION,
  suggestCompensationFor,
} from '../policies/compensation-policy.js';
import {
  instant,
  isoInstant,
  occurredAtNotInFuture,
  optionalText,
  rejectDuplicates,
  requiredText,
} from '../validation.js';
import {
  evolve,
  impactOf,
  initialIncidentState,
  type Channel,
  type IncidentEvent,
  type IncidentRole,
  type IncidentState,
  type IncidentStatus,
  type Lessons,
  type PreventiveMeasure,
  type PreventiveMeasureKind,
  type PreventiveMeasurePriority,
  type RecordedIncidentEvent,
  type RootCause,
  type RootCauseAnalysis,
  type RootCauseCategory,
  type ServiceImpact,
  type Severity,
  type Visibility,
} from './incident.js';

export type DeclareIncident = DomainCommand<
  'DeclareIncident',
  {
    incidentId: string;
    title: string;
    severity: Severity;
    summary?: string | null;
    services?: string[] | null;
    /** The versions in force, as the caller's configuration says; the current ones when absent. */
    communicationPolicyVersion?: number | null;
    compensationPolicyVersion?: number | null;
  }
>;
export type AcknowledgeIncident = DomainCommand<'AcknowledgeIncident', Record<string, never>>;
export type AssignRole = DomainCommand<'AssignRole', { role: IncidentRole; assignee: string }>;
export type ChangeSeverity = DomainCommand<'ChangeSeverity', { severity: Severity; reason?: string | null }>;
export type ChangeServiceImpact = DomainCommand<
  'ChangeServiceImpact',
  { service: string; impact: ServiceImpact }
>;
export type PostStatusUpdate = DomainCommand<
  'PostStatusUpdate',
  {
    status: IncidentStatus;
    message: string;
    channels: Channel[];
    visibility: Visibility;
    nextUpdateInMinutes?: number | null;
  }
>;
export type AddInternalNote = DomainCommand<'AddInternalNote', { note: string }>;
export type SetResolutionEstimate = DomainCommand<
  'SetResolutionEstimate',
  { estimatedResolutionAt: string; reason: string }
>;
export type OfferWorkaround = DomainCommand<'OfferWorkaround', { workaroundId: string; description: string }>;
export type WithdrawWorkaround = DomainCommand<
  'WithdrawWorkaround',
  { workaroundId: string; reason?: string | null }
>;
export type MitigateIncident = DomainCommand<'MitigateIncident', { summary?: string | null }>;
export type ResolveIncident = DomainCommand<'ResolveIncident', { summary: string }>;
export type ReopenIncident = DomainCommand<'ReopenIncident', { reason: string }>;

interface RootCauseAnalysisInput {
  category: RootCauseCategory;
  description: string;
  contributingFactors?: string[] | null;
  trigger: string;
  detection: string;
}
export type IdentifyRootCause = DomainCommand<
  'IdentifyRootCause',
  { rootCauseId: string } & RootCauseAnalysisInput
>;
export type ReviseRootCause = DomainCommand<
  'ReviseRootCause',
  { rootCauseId: string; reason: string } & RootCauseAnalysisInput
>;
export type PlanPreventiveMeasure = DomainCommand<
  'PlanPreventiveMeasure',
  {
    measureId: string;
    title: string;
    kind: PreventiveMeasureKind;
    owner: string;
    /** ISO-8601 instant. */
    dueDate: string;
    priority: PreventiveMeasurePriority;
    rootCauseId?: string | null;
  }
>;
export type StartPreventiveMeasure = DomainCommand<'StartPreventiveMeasure', { measureId: string }>;
export type CompletePreventiveMeasure = DomainCommand<
  'CompletePreventiveMeasure',
  { measureId: string; evidence: string }
>;
export type CancelPreventiveMeasure = DomainCommand<
  'CancelPreventiveMeasure',
  { measureId: string; reason: string }
>;
export type PublishPostmortem = DomainCommand<
  'PublishPostmortem',
  {
    summary: string;
    customerImpact: string;
    narrative: string;
    lessons: Lessons;
    customerExplanation: string;
  }
>;
/** Exactly one of segment and customerId; exactly one of creditPercent and amount (with currency). */
export type GrantCompensation = DomainCommand<
  'GrantCompensation',
  {
    grantId: string;
    segment?: string | null;
    customerId?: string | null;
    creditPercent?: number | null;
    amount?: number | null;
    currency?: string | null;
    justification?: string | null;
  }
>;
export type RecordCustomerFeedback = DomainCommand<
  'RecordCustomerFeedback',
  { feedbackId: string; rating: number; comment?: string | null; channel: Channel; segment?: string | null }
>;
export type CloseIncident = DomainCommand<'CloseIncident', Record<string, never>>;

export type IncidentCommand =
  | DeclareIncident
  | AcknowledgeIncident
  | AssignRole
  | ChangeSeverity
  | ChangeServiceImpact
  | PostStatusUpdate
  | AddInternalNote
  | SetResolutionEstimate
  | OfferWorkaround
  | WithdrawWorkaround
  | MitigateIncident
  | ResolveIncident
  | ReopenIncident
  | IdentifyRootCause
  | ReviseRootCause
  | PlanPreventiveMeasure
  | StartPreventiveMeasure
  | CompletePreventiveMeasure
  | CancelPreventiveMeasure
  | PublishPostmortem
  | GrantCompensation
  | RecordCustomerFeedback
  | CloseIncident;
export type IncidentCommandType = IncidentCommand['type'];

/** The commands accepted whether the incident is open or resolved. */
type AnyTimeCommand =
  | IdentifyRootCause
  | ReviseRootCause
  | PlanPreventiveMeasure
  | StartPreventiveMeasure
  | CompletePreventiveMeasure
  | CancelPreventiveMeasure;
/** The commands that need a resolved incident. */
type AfterResolutionCommand =
  ReopenIncident | PublishPostmortem | GrantCompensation | RecordCustomerFeedback | CloseIncident;
/** The commands that need an open (declared, not resolved) incident. */
type OpenIncidentCommand = Exclude<
  IncidentCommand,
  DeclareIncident | AnyTimeCommand | AfterResolutionCommand
>;

// Records keyed by every type of the group, so that the compiler rejects a list missing one.
const anyTimeCommands: Record<AnyTimeCommand['type'], true> = {
  IdentifyRootCause: true,
  ReviseRootCause: true,
  PlanPreventiveMeasure: true,
  StartPreventiveMeasure: true,
  CompletePreventiveMeasure: true,
  CancelPreventiveMeasure: true,
};
const afterResolutionCommands: Record<AfterResolutionCommand['type'], true> = {
  ReopenIncident: true,
  PublishPostmortem: true,
  GrantCompensation: true,
  RecordCustomerFeedback: true,
  CloseIncident: true,
};
const ACCEPTED_ONCE_CLOSED: ReadonlySet<IncidentCommandType> = new Set<IncidentCommandType>([
  'PlanPreventiveMeasure',
  'StartPreventiveMeasure',
  'CompletePreventiveMeasure',
  'CancelPreventiveMeasure',
  'RecordCustomerFeedback',
]);

function isOneOf<Group extends IncidentCommand>(
  group: Record<Group['type'], true>,
  command: IncidentCommand,
): command is Group {
  return Object.hasOwn(group, command.type);
}

export function decide(command: IncidentCommand, state: IncidentState): IncidentEvent[] {
  if (command.type === 'DeclareIncident') return declareIncident(command, state);
  if (!state.exists) throw new RuleViolation('incident-not-found', 'No incident was declared in this stream');
  occurredWithinIncident(command, state);
  if (state.closedAt !== null && !ACCEPTED_ONCE_CLOSED.has(command.type)) {
    throw new RuleViolation(
      'incident-is-closed',
      `The incident was closed at ${state.closedAt}; only preventive measures and feedback are still recorded`,
    );
  }
  if (isOneOf<AnyTimeCommand>(anyTimeCommands, command)) return decideAtAnyTime(command, state);
  if (isOneOf<AfterResolutionCommand>(afterResolutionCommands, command)) {
    return decideAfterResolution(command, state);
  }
  if (state.resolvedAt !== null) {
    throw new RuleViolation(
      'incident-is-resolved',
      `The incident was resolved at ${state.resolvedAt}; reopen it first`,
    );
  }
  return decideOnOpenIncident(command, state);
}

export const incidentDecider: Decider<IncidentCommand, IncidentEvent, IncidentState, RecordedIncidentEvent> =
  {
    decide,
    evolve,
    initialState: initialIncidentState,
  };

function decideAtAnyTime(command: AnyTimeCommand, state: IncidentState): IncidentEvent[] {
  switch (command.type) {
    case 'IdentifyRootCause':
      return identifyRootCause(command, state);
    case 'ReviseRootCause':
      return reviseRootCause(command, state);
    case 'PlanPreventiveMeasure':
      return planPreventiveMeasure(command, state);
    case 'StartPreventiveMeasure':
      return startPreventiveMeasure(command, state);
    case 'CompletePreventiveMeasure': {
      const measure = unfinishedMeasure(state, command.data.measureId);
      const evidence = requiredText(command.data.evidence, 'measure-needs-evidence', 'The evidence');
      notBackdatedBefore(command.metadata, 'measure-step-out-of-order', measureSteps(measure));
      return [{ type: 'PreventiveMeasureCompleted', data: { measureId: measure.measureId, evidence } }];
    }
    case 'CancelPreventiveMeasure': {
      const measure = unfinishedMeasure(state, command.data.measureId);
      const reason = requiredText(command.data.reason, 'measure-cancellation-needs-reason', 'The reason');
      notBackdatedBefore(command.metadata, 'measure-step-out-of-order', measureSteps(measure));
      return [{ type: 'PreventiveMeasureCancelled', data: { measureId: measure.measureId, reason } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`Unknown incident command ${JSON.stringify(unknown)}`);
    }
  }
}

function decideAfterResolution(command: AfterResolutionCommand, state: IncidentState): IncidentEvent[] {
  if (state.resolvedAt === null) {
    throw new RuleViolation('incident-not-resolved', `${command.type} needs a resolved incident`);
  }
  notBackdatedBefore(
    command.metadata,
    command.type === 'ReopenIncident' ? 'reopen-before-resolution' : 'occurred-at-before-resolution',
    [[state.resolvedAt, 'the resolution']],
  );
  switch (command.type) {
    case 'ReopenIncident':
      return [
        {
          type: 'IncidentReopened',
          data: { reason: requiredText(command.data.reason, 'reopen-needs-reason', 'The reason to reopen') },
        },
      ];
    case 'PublishPostmortem':
      return publishPostmortem(command, state);
    case 'GrantCompensation':
      return grantCompensation(command, state);
    case 'RecordCustomerFeedback':
      return recordCustomerFeedback(command, state);
    case 'CloseIncident':
      if (isMajor(state) && state.postmortem === null) {
        throw new RuleViolation(
          'incident-needs-postmortem',
          `A ${state.severity} incident is closed only once its postmortem is published`,
        );
      }
      return [{ type: 'IncidentClosed', data: {} }];
    default: {
      const unknown: never = command;
      throw new Error(`Unknown incident command ${JSON.stringify(unknown)}`);
    }
  }
}

function decideOnOpenIncident(command: OpenIncidentCommand, state: IncidentState): IncidentEvent[] {
  switch (command.type) {
    case 'AcknowledgeIncident':
      return acknowledgeIncident(state);
    case 'AssignRole':
      return assignRole(command, state);
    case 'ChangeSeverity':
      return changeSeverity(command, state);
    case 'ChangeServiceImpact':
      return changeServiceImpact(command, state);
    case 'PostStatusUpdate':
      return postStatusUpdate(command, state);
    case 'AddInternalNote':
      return [
        {
          type: 'InternalNoteAdded',
          data: { note: requiredText(command.data.note, 'note-needs-text', 'A note') },
        },
      ];
    case 'SetResolutionEstimate':
      return setResolutionEstimate(command, state);
    case 'OfferWorkaround':
      return offerWorkaround(command, state);
    case 'WithdrawWorkaround':
      return withdrawWorkaround(command, state);
    case 'MitigateIncident':
      return mitigateIncident(command, state);
    case 'ResolveIncident':
      return resolveIncident(command, state);
    default: {
      const unknown: never = command;
      throw new Error(`Unknown incident command ${JSON.stringify(unknown)}`);
    }
  }
}

/** Backdating is legal, but not to before the incident started, nor into the future. */
function occurredWithinIncident({ metadata }: IncidentCommand, state: IncidentState): void {
  occurredAtNotInFuture(metadata);
  notBackdatedBefore(metadata, 'occurred-at-before-start', [[state.startedAt, "the incident's start"]]);
}

/** An earlier entry's occurredAt (null: there is none), and what it is, for the message. */
type EarlierEntry = readonly [at: string | null, what: string];

/** occurredAt is not earlier than any of the entries (at the same instant is in order); else `rule` is broken. */
function notBackdatedBefore(
  { occurredAt }: CommandMetadata,
  rule: string,
  entries: readonly EarlierEntry[],
): void {
  for (const [at, what] of entries) {
    if (at !== null && instant(occurredAt) < instant(at)) {
      throw new RuleViolation(rule, `occurredAt ${occurredAt} is earlier than ${what} (${at})`);
    }
  }
}

/**
 * A severity change is not backdated before the latest one: the state's severity is the one recorded
 * last, the compliance's and the timeline's the one latest in the world's order.
 */
function latestSeverityChange(state: IncidentState): EarlierEntry {
  return [state.severitySince, 'the latest severity change'];
}

/** Likewise an estimate: the state's is the one recorded last, the metrics' final one the latest given. */
function latestEstimate(state: IncidentState): EarlierEntry {
  return [state.estimateGivenAt, 'the latest estimate'];
}

/**
 * Every status update states the status, so none comes before the entry that set the status in force
 * (a status change, the reopening, the declaration). A change of status (the resolution included)
 * does not come before a status update either: that update stated the status the change replaces.
 */
function statusEntries(state: IncidentState, changesStatus: boolean): EarlierEntry[] {
  const setStatus: EarlierEntry = [state.statusSince, 'the latest status change'];
  return changesStatus ? [setStatus, [state.latestStatusUpdateAt, 'the latest status update']] : [setStatus];
}

function declareIncident({ data, metadata }: DeclareIncident, state: IncidentState): IncidentEvent[] {
  if (state.exists) throw new RuleViolation('incident-already-exists', `Incident ${state.id} already exists`);
  occurredAtNotInFuture(metadata);
  const title = requiredText(data.title, 'incident-needs-title', 'The title');
  const services = (data.services ?? []).map((service) =>
    requiredText(service, 'service-needs-name', 'A service name'),
  );
  rejectDuplicates(services, 'duplicate-service', 'Service');
  const { version: communicationPolicyVersion } = communicationPolicy(
    data.communicationPolicyVersion ?? CURRENT_COMMUNICATION_POLICY_VERSION,
  );
  const { version: compensationPolicyVersion } = compensationPolicy(
    data.compensationPolicyVersion ?? CURRENT_COMPENSATION_POLICY_VERSION,
  );
  return [
    {
      type: 'IncidentDeclared',
      data: {
        incidentId: data.incidentId,
        title,
        severity: data.severity,
        summary: optionalText(data.summary),
        services,
        communicationPolicyVersion,
        compensationPolicyVersion,
      },
    },
  ];
}

function acknowledgeIncident(state: IncidentState): IncidentEvent[] {
  if (state.acknowledgedAt !== null) {
    throw new RuleViolation(
      'incident-already-acknowledged',
      `${state.acknowledgedBy} acknowledged the incident at ${state.acknowledgedAt}`,
    );
  }
  return [{ type: 'IncidentAcknowledged', data: {} }];
}

function assignRole({ data }: AssignRole, state: IncidentState): IncidentEvent[] {
  const assignee = requiredText(data.assignee, 'role-needs-assignee', 'The assignee');
  if (state.roles[data.role] === assignee) {
    throw new RuleViolation('role-already-assigned', `${assignee} already is ${data.role}`);
  }
  return [{ type: 'RoleAssigned', data: { role: data.role, assignee } }];
}

function changeSeverity({ data, metadata }: ChangeSeverity, state: IncidentState): IncidentEvent[] {
  if (data.severity === state.severity) {
    throw new RuleViolation('severity-unchanged', `The severity already is ${state.severity}`);
  }
  notBackdatedBefore(metadata, 'severity-change-out-of-order', [latestSeverityChange(state)]);
  return [
    {
      type: 'SeverityChanged',
      data: { from: state.severity, to: data.severity, reason: optionalText(data.reason) },
    },
  ];
}

function changeServiceImpact({ data }: ChangeServiceImpact, state: IncidentState): IncidentEvent[] {
  const service = requiredText(data.service, 'service-needs-name', 'The service name');
  const from = impactOf(state, service);
  if (from === data.impact) {
    throw new RuleViolation('service-impact-unchanged', `${service} already is ${from}`);
  }
  return [{ type: 'ServiceImpactChanged', data: { service, from, to: data.impact } }];
}

function postStatusUpdate({ data, metadata }: PostStatusUpdate, state: IncidentState): IncidentEvent[] {
  if (data.status === 'RESOLVED' || data.status === 'CLOSED') {
    throw new RuleViolation(
      'status-needs-dedicated-command',
      `A status update cannot set ${data.status}: resolve or close the incident instead`,
    );
  }
  const message = requiredText(data.message, 'customer-update-needs-message', 'The message');
  if (data.channels.length === 0) {
    throw new RuleViolation('customer-update-needs-channel', 'A customer update needs at least one channel');
  }
  rejectDuplicates(data.channels, 'duplicate-channel', 'Channel');
  const changesStatus = data.status !== state.status;
  notBackdatedBefore(metadata, 'status-update-out-of-order', statusEntries(state, changesStatus));
  const statusChange: IncidentEvent[] = changesStatus
    ? [{ type: 'StatusChanged', data: { from: state.status, to: data.status } }]
    : [];
  return [
    ...statusChange,
    {
      type: 'CustomerUpdatePublished',
      data: {
        status: data.status,
        message,
        channels: data.channels,
        visibility: data.visibility,
        nextUpdateAt: nextUpdateAt(metadata.occurredAt, data.nextUpdateInMinutes),
      },
    },
  ];
}

function nextUpdateAt(occurredAt: string, minutes: number | null | undefined): string | null {
  if (minutes === null || minutes === undefined) return null;
  if (!Number.isInteger(minutes) || minutes <= 0) {
    throw new RuleViolation(
      'next-update-must-be-positive',
      `nextUpdateInMinutes must be a whole number of minutes above 0, not ${minutes}`,
    );
  }
  return isoInstant(instant(occurredAt) + minutes * 60_000);
}

function setResolutionEstimate(
  { data, metadata }: SetResolutionEstimate,
  state: IncidentState,
): IncidentEvent[] {
  const reason = requiredText(data.reason, 'eta-needs-reason', 'The reason for the estimate');
  const estimate = instant(data.estimatedResolutionAt);
  // occurredAt is never before the start (checked for every command), so an estimate later than
  // its occurredAt is also later than the start.
  if (estimate <= instant(metadata.occurredAt)) {
    throw new RuleViolation(
      'eta-must-be-later',
      `The estimate ${data.estimatedResolutionAt} must be later than the moment it is given (${metadata.occurredAt})`,
    );
  }
  const estimatedResolutionAt = isoInstant(estimate);
  if (estimatedResolutionAt === state.estimatedResolutionAt) {
    throw new RuleViolation('eta-unchanged', `The estimate already is ${estimatedResolutionAt}`);
  }
  notBackdatedBefore(metadata, 'eta-out-of-order', [latestEstimate(state)]);
  return [
    {
      type: 'ResolutionEstimateSet',
      data: { estimatedResolutionAt, previousEstimate: state.estimatedResolutionAt, reason },
    },
  ];
}

function offerWorkaround({ data }: OfferWorkaround, state: IncidentState): IncidentEvent[] {
  const description = requiredText(data.description, 'workaround-needs-description', 'The description');
  if (state.workarounds.some((workaround) => workaround.workaroundId === data.workaroundId)) {
    throw new RuleViolation(
      'workaround-already-offered',
      `Workaround ${data.workaroundId} was already offered`,
    );
  }
  return [{ type: 'WorkaroundOffered', data: { workaroundId: data.workaroundId, description } }];
}

function withdrawWorkaround({ data, metadata }: WithdrawWorkaround, state: IncidentState): IncidentEvent[] {
  const workaround = state.workarounds.find((offered) => offered.workaroundId === data.workaroundId);
  if (workaround === undefined || workaround.withdrawnAt !== null) {
    throw new RuleViolation(
      'workaround-not-active',
      workaround === undefined
        ? `Workaround ${data.workaroundId} was never offered`
        : `Workaround ${data.workaroundId} was withdrawn at ${workaround.withdrawnAt}`,
    );
  }
  // Earlier, the public timeline would tell of the withdrawal before the offer.
  notBackdatedBefore(metadata, 'workaround-withdrawal-before-offer', [
    [workaround.offeredAt, `the offer of workaround ${workaround.workaroundId}`],
  ]);
  return [
    {
      type: 'WorkaroundWithdrawn',
      data: { workaroundId: data.workaroundId, reason: optionalText(data.reason) },
    },
  ];
}

function mitigateIncident({ data, metadata }: MitigateIncident, state: IncidentState): IncidentEvent[] {
  if (state.mitigatedAt !== null) {
    throw new RuleViolation(
      'incident-already-mitigated',
      `The incident was mitigated at ${state.mitigatedAt}`,
    );
  }
  // The mitigation is the open period's: earlier than the reopening, the metrics (the first
  // mitigation by occurredAt) would count it in the period before, whose time to mitigate it shortens.
  notBackdatedBefore(metadata, 'mitigation-before-reopening', [[state.reopenedAt, 'the reopening']]);
  return [{ type: 'IncidentMitigated', data: { summary: optionalText(data.summary) } }];
}

/**
 * The resolution ends the open period, and the metrics (DESIGN.md, "Metric definitions"; read in
 * the world's order by incident-history.ts) measure these entries of the period against it, so it
 * is not backdated before any of them:
 * - status changes and updates: the resolution is a change of status (see statusEntries); cadence
 *   intervals run from each PUBLIC update to the next and the last one to the resolution, so an
 *   update after it would fall out of the judgement unseen (and none is owed once resolved);
 * - estimates: the ETA errors compare the first and the last estimate given with the resolution; one
 *   given after it estimates nothing;
 * - severity changes: the compliance judges the period by the severity in force, which does not
 *   change once resolved (nor do the SEV1/SEV2 postmortem rules, which read it);
 * - the mitigation: time to mitigate is to the mitigation or the resolution, whichever came first.
 * The others (acknowledgement, roles, impacts, notes, workarounds) are measured from the start or not
 * at all.
 */
function resolveIncident({ data, metadata }: ResolveIncident, state: IncidentState): IncidentEvent[] {
  const summary = requiredText(data.summary, 'resolution-needs-summary', 'The summary');
  notBackdatedBefore(metadata, 'resolution-before-latest-entry', [
    ...statusEntries(state, true),
    latestEstimate(state),
    latestSeverityChange(state),
    [state.mitigatedAt, 'the mitigation'],
  ]);
  return [{ type: 'IncidentResolved', data: { summary } }];
}

/** SEV1 and SEV2 owe a postmortem with a root cause and preventive measures. */
function isMajor(state: IncidentState): boolean {
  return state.severity === 'SEV1' || state.severity === 'SEV2';
}

function rootCauseAnalysis(data: RootCauseAnalysisInput): RootCauseAnalysis {
  const contributingFactors = (data.contributingFactors ?? []).map((factor) =>
    requiredText(factor, 'contributing-factor-needs-text', 'A contributing factor'),
  );
  rejectDuplicates(contributingFactors, 'duplicate-contributing-factor', 'Contributing factor');
  return {
    category: data.category,
    description: requiredText(data.description, 'root-cause-needs-description', 'The description'),
    contributingFactors,
    trigger: requiredText(data.trigger, 'root-cause-needs-trigger', 'The trigger'),
    detection: requiredText(data.detection, 'root-cause-needs-detection', 'How it was detected'),
  };
}

function identifyRootCause({ data }: IdentifyRootCause, state: IncidentState): IncidentEvent[] {
  if (state.rootCauses.some((rootCause) => rootCause.rootCauseId === data.rootCauseId)) {
    throw new RuleViolation(
      'root-cause-already-identified',
      `Root cause ${data.rootCauseId} was already identified; revise it instead`,
    );
  }
  return [
    { type: 'RootCauseIdentified', data: { rootCauseId: data.rootCauseId, ...rootCauseAnalysis(data) } },
  ];
}

function reviseRootCause({ data, metadata }: ReviseRootCause, state: IncidentState): IncidentEvent[] {
  const current = existingRootCause(state, data.rootCauseId);
  const analysis = rootCauseAnalysis(data);
  const reason = requiredText(data.reason, 'root-cause-revision-needs-reason', 'The reason for the revision');
  const { category, description, contributingFactors, trigger, detection } = current;
  if (
    JSON.stringify(analysis) ===
    JSON.stringify({ category, description, contributingFactors, trigger, detection })
  ) {
    throw new RuleViolation('root-cause-unchanged', `The revision restates root cause ${data.rootCauseId}`);
  }
  // The state's analysis is the revision recorded last; the timeline's, the one latest in the world's order.
  notBackdatedBefore(metadata, 'root-cause-revision-out-of-order', [
    [current.identifiedAt, `the identification of root cause ${current.rootCauseId}`],
    [current.revisedAt, `the latest revision of root cause ${current.rootCauseId}`],
  ]);
  return [{ type: 'RootCauseRevised', data: { rootCauseId: data.rootCauseId, ...analysis, reason } }];
}

function existingRootCause(state: IncidentState, rootCauseId: string): RootCause {
  const rootCause = state.rootCauses.find((identified) => identified.rootCauseId === rootCauseId);
  if (rootCause === undefined) {
    throw new RuleViolation('root-cause-not-found', `Root cause ${rootCauseId} was never identified`);
  }
  return rootCause;
}

function planPreventiveMeasure(
  { data, metadata }: PlanPreventiveMeasure,
  state: IncidentState,
): IncidentEvent[] {
  if (state.preventiveMeasures.some((measure) => measure.measureId === data.measureId)) {
    throw new RuleViolation(
      'measure-already-planned',
      `Preventive measure ${data.measureId} was already planned`,
    );
  }
  const title = requiredText(data.title, 'measure-needs-title', 'The title');
  const owner = requiredText(data.owner, 'measure-needs-owner', 'The owner');
  const due = instant(data.dueDate);
  if (due <= instant(metadata.occurredAt)) {
    throw new RuleViolation(
      'measure-due-date-must-be-later',
      `The due date ${data.dueDate} must be later than the moment the measure is planned (${metadata.occurredAt})`,
    );
  }
  const rootCauseId = optionalText(data.rootCauseId);
  if (rootCauseId !== null) {
    const { identifiedAt } = existingRootCause(state, rootCauseId);
    notBackdatedBefore(metadata, 'measure-before-root-cause', [
      [identifiedAt, `the identification of root cause ${rootCauseId}`],
    ]);
  }
  return [
    {
      type: 'PreventiveMeasurePlanned',
      data: {
        measureId: data.measureId,
        title,
        kind: data.kind,
        owner,
        dueDate: isoInstant(due),
        priority: data.priority,
        rootCauseId,
      },
    },
  ];
}

/** The measure, once checked that it exists and is neither completed nor cancelled. */
function unfinishedMeasure(state: IncidentState, measureId: string): PreventiveMeasure {
  const measure = state.preventiveMeasures.find((planned) => planned.measureId === measureId);
  if (measure === undefined) {
    throw new RuleViolation('measure-not-found', `Preventive measure ${measureId} was never planned`);
  }
  if (measure.status === 'COMPLETED' || measure.status === 'CANCELLED') {
    throw new RuleViolation(
      'measure-already-finished',
      `Preventive measure ${measureId} is ${measure.status}`,
    );
  }
  return measure;
}

/**
 * The dated steps of an unfinished measure: a start, completion or cancellation does not come before
 * them (a finished measure takes no more steps).
 */
function measureSteps(measure: PreventiveMeasure): EarlierEntry[] {
  return [
    [measure.plannedAt, `the plan of preventive measure ${measure.measureId}`],
    [measure.startedAt, `the start of preventive measure ${measure.measureId}`],
  ];
}

function startPreventiveMeasure(
  { data, metadata }: StartPreventiveMeasure,
  state: IncidentState,
): IncidentEvent[] {
  const measure = unfinishedMeasure(state, data.measureId);
  if (measure.status === 'IN_PROGRESS') {
    throw new RuleViolation(
      'measure-already-started',
      `Preventive measure ${data.measureId} started at ${measure.startedAt}`,
    );
  }
  notBackdatedBefore(metadata, 'measure-step-out-of-order', measureSteps(measure));
  return [{ type: 'PreventiveMeasureStarted', data: { measureId: measure.measureId } }];
}

function publishPostmortem({ data }: PublishPostmortem, state: IncidentState): IncidentEvent[] {
  if (state.postmortem !== null) {
    throw new RuleViolation(
      'postmortem-already-published',
      `The postmortem was published at ${state.postmortem.publishedAt}`,
    );
  }
  const lessonsOf = (lessons: readonly string[]) =>
    lessons.map((lesson) => requiredText(lesson, 'lesson-needs-text', 'A lesson'));
  const postmortem = {
    summary: requiredText(data.summary, 'postmortem-needs-summary', 'The summary'),
    customerImpact: requiredText(
      data.customerImpact,
      'postmortem-needs-customer-impact',
      'The customer impact',
    ),
    narrative: requiredText(data.narrative, 'postmortem-needs-narrative', 'The narrative'),
    lessons: {
      wentWell: lessonsOf(data.lessons.wentWell),
      wentWrong: lessonsOf(data.lessons.wentWrong),
      gotLucky: lessonsOf(data.lessons.gotLucky),
    },
    customerExplanation: requiredText(
      data.customerExplanation,
      'postmortem-needs-customer-explanation',
      'The explanation for customers',
    ),
  };
  if (isMajor(state) && state.rootCauses.length === 0) {
    throw new RuleViolation(
      'postmortem-needs-root-cause',
      `A ${state.severity} postmortem needs an identified root cause`,
    );
  }
  // Owner and due date are required when a measure is planned, so any measure not cancelled has them.
  if (isMajor(state) && state.preventiveMeasures.every((measure) => measure.status === 'CANCELLED')) {
    throw new RuleViolation(
      'postmortem-needs-preventive-measure',
      `A ${state.severity} postmortem needs a preventive measure with an owner and a due date that is not cancelled`,
    );
  }
  return [{ type: 'PostmortemPublished', data: postmortem }];
}

const CURRENCY = /^[A-Z]{3}$/;

function grantCompensation({ data }: GrantCompensation, state: IncidentState): IncidentEvent[] {
  if (state.compensations.some((grant) => grant.grantId === data.grantId)) {
    throw new RuleViolation(
      'compensation-already-granted',
      `Compensation ${data.grantId} was already granted`,
    );
  }
  const segment = optionalText(data.segment);
  const customerId = optionalText(data.customerId);
  if ((segment === null) === (customerId === null)) {
    throw new RuleViolation(
      'compensation-needs-one-recipient',
      'A grant goes to a customer segment or to one customer: give exactly one of segment and customerId',
    );
  }
  const policy = compensationPolicy(state.compensationPolicyVersion);
  if (segment !== null && !compensationSegments(policy).includes(segment)) {
    throw new RuleViolation(
      'unknown-customer-segment',
      `Compensation policy ${policy.version} knows the segments ${compensationSegments(policy).join(', ')}, not ${segment}`,
    );
  }
  const value = compensationValue(data);
  // The incident is resolved here, so the suggestion exists.
  const { policyVersion, outageMinutes, suggestedPercent } = suggestCompensationFor(state, segment)!;
  const justification = optionalText(data.justification);
  if (value.creditPercent !== suggestedPercent && justification === null) {
    throw new RuleViolation(
      'compensation-needs-justification',
      `Policy ${policyVersion} suggests ${suggestedPercent}% for ${outageMinutes} minutes; a different grant needs a justification`,
    );
  }
  return [
    {
      type: 'CompensationGranted',
      data: {
        grantId: data.grantId,
        segment,
        customerId,
        ...value,
        policyVersion,
        outageMinutes,
        suggestedPercent,
        justification,
      },
    },
  ];
}

function compensationValue(
  data: GrantCompensation['data'],
):
  | { creditPercent: number; amount: null; currency: null }
  | { creditPercent: null; amount: number; currency: string } {
  const { creditPercent, amount } = data;
  const currency = optionalText(data.currency)?.toUpperCase() ?? null;
  const hasPercent = creditPercent !== null && creditPercent !== undefined;
  const hasAmount = amount !== null && amount !== undefined;
  if (hasPercent === hasAmount || (hasPercent && currency !== null)) {
    throw new RuleViolation(
      'compensation-needs-one-value',
      'A grant is a credit in percent or an amount in a currency: give exactly one of creditPercent and amount',
    );
  }
  if (hasPercent) {
    if (!(creditPercent > 0 && creditPercent <= 100)) {
      throw new RuleViolation(
        'compensation-percent-out-of-range',
        `A credit is above 0 and at most 100 percent, not ${creditPercent}`,
      );
    }
    return { creditPercent, amount: null, currency: null };
  }
  if (!(Number.isFinite(amount) && amount! > 0)) {
    throw new RuleViolation('compensation-amount-must-be-positive', `An amount is above 0, not ${amount}`);
  }
  if (currency === null || !CURRENCY.test(currency)) {
    throw new RuleViolation(
      'compensation-needs-currency',
      `An amount needs a three-letter currency code, not ${currency}`,
    );
  }
  return { creditPercent: null, amount: amount!, currency };
}

function recordCustomerFeedback({ data }: RecordCustomerFeedback, state: IncidentState): IncidentEvent[] {
  if (state.feedback.some((feedback) => feedback.feedbackId === data.feedbackId)) {
    throw new RuleViolation('feedback-already-recorded', `Feedback ${data.feedbackId} was already recorded`);
  }
  if (!Number.isInteger(data.rating) || data.rating < 1 || data.rating > 5) {
    throw new RuleViolation(
      'rating-out-of-range',
      `A rating is a whole number from 1 to 5, not ${data.rating}`,
    );
  }
  return [
    {
      type: 'CustomerFeedbackReceived',
      data: {
        feedbackId: data.feedbackId,
        rating: data.rating,
        comment: optionalText(data.comment),
        channel: data.channel,
        segment: optionalText(data.segment),
      },
    },
  ];
}
