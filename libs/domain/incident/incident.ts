import type { DomainEvent, Recorded } from '../decider.js';
import { CURRENT_COMMUNICATION_POLICY_VERSION } from '../policies/communication-policy.js';
import { CURRENT_COMPENSATION_POLICY_VERSION } from '../policies/compensation-policy.js';
import { UNRECORDED_POLICY_VERSION } from '../policies/policy-registry.js';

export type Severity = 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4';
export type IncidentStatus = 'INVESTIGATING' | 'IDENTIFIED' | 'MONITORING' | 'RESOLVED' | 'CLOSED';
export type ServiceImpact =
  'OPERATIONAL' | 'DEGRADED_PERFORMANCE' | 'PARTIAL_OUTAGE' | 'MAJOR_OUTAGE' | 'UNDER_MAINTENANCE';
export type Channel = 'EMAIL' | 'SMS' | 'SOCIAL' | 'WEBSITE' | 'IN_APP' | 'WEBHOOK';
export type Visibility = 'PUBLIC' | 'INTERNAL';
export type IncidentRole = 'INCIDENT_COMMANDER' | 'COMMUNICATIONS_LEAD' | 'TECHNICAL_LEAD' | 'SCRIBE';
export type RootCauseCategory =
  | 'CHANGE_DEPLOY'
  | 'CONFIGURATION'
  | 'CAPACITY'
  | 'HARDWARE'
  | 'SOFTWARE_DEFECT'
  | 'DEPENDENCY_THIRD_PARTY'
  | 'NETWORK'
  | 'SECURITY'
  | 'HUMAN_ERROR'
  | 'EXTERNAL'
  | 'UNKNOWN';
export type PreventiveMeasureKind = 'PREVENT' | 'DETECT' | 'MITIGATE' | 'PROCESS';
/** P1 is the most urgent. */
export type PreventiveMeasurePriority = 'P1' | 'P2' | 'P3' | 'P4';
export type PreventiveMeasureStatus = 'PLANNED' | 'IN_PROGRESS' | 'COMPLETED' | 'CANCELLED';

export function incidentStreamId(id: string): string {
  return `incident-${id}`;
}

// Events. Instants are ISO-8601 strings; text is trimmed; optional text is null when not given.

export type IncidentDeclared = DomainEvent<
  'IncidentDeclared',
  {
    incidentId: string;
    title: string;
    severity: Severity;
    summary: string | null;
    services: string[];
    /** The policy versions in force at the declaration; absent in events written before they were recorded. */
    communicationPolicyVersion?: number;
    compensationPolicyVersion?: number;
  }
>;
export type IncidentAcknowledged = DomainEvent<'IncidentAcknowledged', Record<string, never>>;
export type RoleAssigned = DomainEvent<'RoleAssigned', { role: IncidentRole; assignee: string }>;
export type SeverityChanged = DomainEvent<
  'SeverityChanged',
  { from: Severity; to: Severity; reason: string | null }
>;
/** `from` is null for a service the incident did not list yet. */
export type ServiceImpactChanged = DomainEvent<
  'ServiceImpactChanged',
  { service: string; from: ServiceImpact | null; to: ServiceImpact }
>;
/** Any move between open statuses, backwards included (MONITORING → INVESTIGATING). */
export type StatusChanged = DomainEvent<'StatusChanged', { from: IncidentStatus; to: IncidentStatus }>;
export type CustomerUpdatePublished = DomainEvent<
  'CustomerUpdatePublished',
  {
    status: IncidentStatus;
    message: string;
    channels: Channel[];
    visibility: Visibility;
    /** When the next update is promised; null when none was. */
    nextUpdateAt: string | null;
  }
>;
export type InternalNoteAdded = DomainEvent<'InternalNoteAdded', { note: string }>;
export type ResolutionEstimateSet = DomainEvent<
  'ResolutionEstimateSet',
  { estimatedResolutionAt: string; previousEstimate: string | null; reason: string }
>;
export type WorkaroundOffered = DomainEvent<
  'WorkaroundOffered',
  { workaroundId: string; description: string }
>;
export type WorkaroundWithdrawn = DomainEvent<
  'WorkaroundWithdrawn',
  { workaroundId: string; reason: string | null }
>;
export type IncidentMitigated = DomainEvent<'IncidentMitigated', { summary: string | null }>;
export type IncidentResolved = DomainEvent<'IncidentResolved', { summary: string }>;
export type IncidentReopened = DomainEvent<'IncidentReopened', { reason: string }>;

/** What a root cause says; a revision restates all of it. */
export interface RootCauseAnalysis {
  category: RootCauseCategory;
  description: string;
  contributingFactors: string[];
  /** What set it off. */
  trigger: string;
  /** How it was detected. */
  detection: string;
}
export type RootCauseIdentified = DomainEvent<
  'RootCauseIdentified',
  { rootCauseId: string } & RootCauseAnalysis
>;
/** The analysis as revised, and why; the earlier one stays in the log. */
export type RootCauseRevised = DomainEvent<
  'RootCauseRevised',
  { rootCauseId: string } & RootCauseAnalysis & { reason: string }
>;
export type PreventiveMeasurePlanned = DomainEvent<
  'PreventiveMeasurePlanned',
  {
    measureId: string;
    title: string;
    kind: PreventiveMeasureKind;
    owner: string;
    dueDate: string;
    priority: PreventiveMeasurePriority;
    /** The root cause it addresses, if one. */
    rootCauseId: string | null;
  }
>;
export type PreventiveMeasureStarted = DomainEvent<'PreventiveMeasureStarted', { measureId: string }>;
/** `evidence`: a link or text showing it is done. */
export type PreventiveMeasureCompleted = DomainEvent<
  'PreventiveMeasureCompleted',
  { measureId: string; evidence: string }
>;
export type PreventiveMeasureCancelled = DomainEvent<
  'PreventiveMeasureCancelled',
  { measureId: string; reason: string }
>;
export interface Lessons {
  wentWell: string[];
  wentWrong: string[];
  gotLucky: string[];
}
export type PostmortemPublished = DomainEvent<
  'PostmortemPublished',
  {
    summary: string;
    customerImpact: string;
    narrative: string;
    lessons: Lessons;
    /** For customers, in plain language. */
    customerExplanation: string;
  }
>;
/**
 * To a whole segment or to one customer (exactly one is set), as a credit in percent or as an
 * amount in a currency (exactly one is set). `suggestedPercent` is what the incident's compensation
 * policy version gives for `outageMinutes` and the segment (its default segment for a customer);
 * `justification` is set whenever the grant is not exactly that percent.
 */
export type CompensationGranted = DomainEvent<
  'CompensationGranted',
  {
    grantId: string;
    segment: string | null;
    customerId: string | null;
    creditPercent: number | null;
    amount: number | null;
    currency: string | null;
    policyVersion: number;
    outageMinutes: number;
    suggestedPercent: number;
    justification: string | null;
  }
>;
export type CustomerFeedbackReceived = DomainEvent<
  'CustomerFeedbackReceived',
  { feedbackId: string; rating: number; comment: string | null; channel: Channel; segment: string | null }
>;
export type IncidentClosed = DomainEvent<'IncidentClosed', Record<string, never>>;

export type IncidentEvent =
  | IncidentDeclared
  | IncidentAcknowledged
  | RoleAssigned
  | SeverityChanged
  | ServiceImpactChanged
  | StatusChanged
  | CustomerUpdatePublished
  | InternalNoteAdded
  | ResolutionEstimateSet
  | WorkaroundOffered
  | WorkaroundWithdrawn
  | IncidentMitigated
  | IncidentResolved
  | IncidentReopened
  | RootCauseIdentified
  | RootCauseRevised
  | PreventiveMeasurePlanned
  | PreventiveMeasureStarted
  | PreventiveMeasureCompleted
  | PreventiveMeasureCancelled
  | PostmortemPublished
  | CompensationGranted
  | CustomerFeedbackReceived
  | IncidentClosed;
export type IncidentEventType = IncidentEvent['type'];
export type RecordedIncidentEvent = Recorded<IncidentEvent>;

// A record keyed by every type, so that the compiler rejects a list missing one.
const incidentEventTypes: Record<IncidentEventType, true> = {
  IncidentDeclared: true,
  IncidentAcknowledged: true,
  RoleAssigned: true,
  SeverityChanged: true,
  ServiceImpactChanged: true,
  StatusChanged: true,
  CustomerUpdatePublished: true,
  InternalNoteAdded: true,
  ResolutionEstimateSet: true,
  WorkaroundOffered: true,
  WorkaroundWithdrawn: true,
  IncidentMitigated: true,
  IncidentResolved: true,
  IncidentReopened: true,
  RootCauseIdentified: true,
  RootCauseRevised: true,
  PreventiveMeasurePlanned: true,
  PreventiveMeasureStarted: true,
  PreventiveMeasureCompleted: true,
  PreventiveMeasureCancelled: true,
  PostmortemPublished: true,
  CompensationGranted: true,
  CustomerFeedbackReceived: true,
  IncidentClosed: true,
};
export const INCIDENT_EVENT_TYPES = Object.keys(incidentEventTypes) as readonly IncidentEventType[];

// State.

export interface Workaround {
  workaroundId: string;
  description: string;
  offeredAt: string;
  withdrawnAt: string | null;
  withdrawalReason: string | null;
}

export interface RootCause extends RootCauseAnalysis {
  rootCauseId: string;
  identifiedAt: string;
  identifiedBy: string;
  /** How many RootCauseRevised; the fields above are the latest revision. */
  revisions: number;
  revisedAt: string | null;
  revisionReason: string | null;
}

export interface PreventiveMeasure {
  measureId: string;
  title: string;
  kind: PreventiveMeasureKind;
  owner: string;
  dueDate: string;
  priority: PreventiveMeasurePriority;
  rootCauseId: string | null;
  status: PreventiveMeasureStatus;
  plannedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  evidence: string | null;
  cancelledAt: string | null;
  cancellationReason: string | null;
}

export interface Postmortem {
  summary: string;
  customerImpact: string;
  narrative: string;
  lessons: Lessons;
  customerExplanation: string;
  publishedAt: string;
  publishedBy: string;
}

export type CompensationGrant = CompensationGranted['data'] & { grantedAt: string; grantedBy: string };
export type CustomerFeedback = CustomerFeedbackReceived['data'] & { receivedAt: string };

export interface IncidentState {
  exists: boolean;
  id: string | null;
  title: string;
  summary: string | null;
  severity: Severity;
  /** The latest occurredAt of the entries that set the severity (the declaration, SeverityChanged). */
  severitySince: string | null;
  status: IncidentStatus;
  /**
   * The latest occurredAt of the entries that set the status: the declaration, StatusChanged, the
   * resolution, a reopening, the close.
   */
  statusSince: string | null;
  /** Affected services and their current impact. */
  services: Record<string, ServiceImpact>;
  roles: Partial<Record<IncidentRole, string>>;
  /** occurredAt and actor of IncidentDeclared. */
  startedAt: string | null;
  declaredBy: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  estimatedResolutionAt: string | null;
  /** The latest occurredAt of the ResolutionEstimateSet. */
  estimateGivenAt: string | null;
  /** How many ResolutionEstimateSet came after the first. */
  etaRevisions: number;
  workarounds: Workaround[];
  /** occurredAt of the latest PUBLIC customer update. */
  lastCustomerUpdateAt: string | null;
  /** What that update promised; null once resolved. */
  nextUpdateDueAt: string | null;
  /** The latest occurredAt of the customer updates of either visibility (each states the status). */
  latestStatusUpdateAt: string | null;
  mitigatedAt: string | null;
  resolvedAt: string | null;
  resolutionSummary: string | null;
  reopenCount: number;
  /** occurredAt of the latest IncidentReopened: when the open period began, if not at the declaration. */
  reopenedAt: string | null;
  rootCauses: RootCause[];
  preventiveMeasures: PreventiveMeasure[];
  postmortem: Postmortem | null;
  compensations: CompensationGrant[];
  feedback: CustomerFeedback[];
  closedAt: string | null;
  /** The versions the incident is judged by: those in force when it was declared. */
  communicationPolicyVersion: number;
  compensationPolicyVersion: number;
  /** Number of events applied: the stream version. */
  version: number;
}

/** Before IncidentDeclared; title, severity and status mean nothing while `exists` is false. */
export function initialIncidentState(): IncidentState {
  return {
    exists: false,
    id: null,
    title: '',
    summary: null,
    severity: 'SEV4',
    severitySince: null,
    status: 'INVESTIGATING',
    statusSince: null,
    services: {},
    roles: {},
    startedAt: null,
    declaredBy: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    estimatedResolutionAt: null,
    estimateGivenAt: null,
    etaRevisions: 0,
    workarounds: [],
    lastCustomerUpdateAt: null,
    nextUpdateDueAt: null,
    latestStatusUpdateAt: null,
    mitigatedAt: null,
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
    communicationPolicyVersion: CURRENT_COMMUNICATION_POLICY_VERSION,
    compensationPolicyVersion: CURRENT_COMPENSATION_POLICY_VERSION,
    version: 0,
  };
}

/**
 * Services listed when the incident is declared start at this impact until a ServiceImpactChanged
 * says otherwise: declaring names what is affected, not how badly, so they get the mildest impact
 * that is still an impact.
 */
const DECLARED_SERVICE_IMPACT: ServiceImpact = 'DEGRADED_PERFORMANCE';

/** The service's impact; null when the incident does not list it (own keys only: names are free text). */
export function impactOf(state: IncidentState, service: string): ServiceImpact | null {
  return Object.hasOwn(state.services, service) ? state.services[service] : null;
}

/** Past its due date (strictly) and neither completed nor cancelled. */
export function isPreventiveMeasureOverdue(
  measure: Pick<PreventiveMeasure, 'status' | 'dueDate'>,
  now: string,
): boolean {
  return (
    (measure.status === 'PLANNED' || measure.status === 'IN_PROGRESS') &&
    Date.parse(measure.dueDate) < Date.parse(now)
  );
}

/** The items with the one whose `key` is `id` changed by `patch`. */
function patched<Item, Key extends keyof Item>(
  items: readonly Item[],
  key: Key,
  id: Item[Key],
  patch: Partial<Item>,
): Item[] {
  // Object.assign onto a literal, not `{ ...item, ...patch }`: V8 gives an object spread from
  // another and then extended a hidden class of its own, which made a rebuild's fold of every
  // event several times slower (bench: read models).
  return items.map((item) => (item[key] === id ? Object.assign({}, item, patch) : item));
}

/** Whether `at` is earlier than `latest`; never when there is no `latest`. */
function isEarlier(at: string, latest: string | null): boolean {
  return latest !== null && Date.parse(at) < Date.parse(latest);
}

/**
 * The later of `latest` and `occurredAt`: the instants the decide rules order entries by follow the
 * world's time, so that an entry recorded out of order (before those rules) does not move them back.
 */
function latestOf(latest: string | null, occurredAt: string): string {
  return latest !== null && isEarlier(occurredAt, latest) ? latest : occurredAt;
}

export function evolve(current: IncidentState, event: RecordedIncidentEvent): IncidentState {
  // One copy of the state per event (a rebuild folds every event of the log): each case spreads
  // `current` with the next version and what the event changes. The items the state lists are
  // built field by field from the event's data, never spread from it: only the fields the state
  // declares go in, and V8 gives objects spread and then extended a hidden class each (slow).
  const version = current.version + 1;
  switch (event.type) {
    case 'IncidentDeclared':
      return {
        ...current,
        version,
        exists: true,
        id: event.data.incidentId,
        title: event.data.title,
        summary: event.data.summary,
        severity: event.data.severity,
        severitySince: event.occurredAt,
        status: 'INVESTIGATING',
        statusSince: event.occurredAt,
        services: Object.fromEntries(
          event.data.services.map((service) => [service, DECLARED_SERVICE_IMPACT]),
        ),
        startedAt: event.occurredAt,
        declaredBy: event.actor,
        communicationPolicyVersion: event.data.communicationPolicyVersion ?? UNRECORDED_POLICY_VERSION,
        compensationPolicyVersion: event.data.compensationPolicyVersion ?? UNRECORDED_POLICY_VERSION,
      };
    case 'IncidentAcknowledged':
      return { ...current, version, acknowledgedAt: event.occurredAt, acknowledgedBy: event.actor };
    case 'RoleAssigned':
      return { ...current, version, roles: { ...current.roles, [event.data.role]: event.data.assignee } };
    case 'SeverityChanged':
      return {
        ...current,
        version,
        severity: event.data.to,
        severitySince: latestOf(current.severitySince, event.occurredAt),
      };
    case 'ServiceImpactChanged':
      return { ...current, version, services: { ...current.services, [event.data.service]: event.data.to } };
    case 'StatusChanged':
      return {
        ...current,
        version,
        status: event.data.to,
        statusSince: latestOf(current.statusSince, event.occurredAt),
      };
    case 'CustomerUpdatePublished': {
      const latestStatusUpdateAt = latestOf(current.latestStatusUpdateAt, event.occurredAt);
      // The latest public update in the world's time sets the cadence: a backdated update recorded
      // late does not replace a newer promise.
      if (event.data.visibility !== 'PUBLIC' || isEarlier(event.occurredAt, current.lastCustomerUpdateAt)) {
        return { ...current, version, latestStatusUpdateAt };
      }
      return {
        ...current,
        version,
        lastCustomerUpdateAt: event.occurredAt,
        nextUpdateDueAt: event.data.nextUpdateAt,
        latestStatusUpdateAt,
      };
    }
    case 'InternalNoteAdded':
      return { ...current, version };
    case 'ResolutionEstimateSet':
      return {
        ...current,
        version,
        estimatedResolutionAt: event.data.estimatedResolutionAt,
        estimateGivenAt: latestOf(current.estimateGivenAt, event.occurredAt),
        etaRevisions: current.estimatedResolutionAt === null ? 0 : current.etaRevisions + 1,
      };
    case 'WorkaroundOffered':
      return {
        ...current,
        version,
        workarounds: [
          ...current.workarounds,
          {
            workaroundId: event.data.workaroundId,
            description: event.data.description,
            offeredAt: event.occurredAt,
            withdrawnAt: null,
            withdrawalReason: null,
          },
        ],
      };
    case 'WorkaroundWithdrawn':
      return {
        ...current,
        version,
        workarounds: patched(current.workarounds, 'workaroundId', event.data.workaroundId, {
          withdrawnAt: event.occurredAt,
          withdrawalReason: event.data.reason,
        }),
      };
    case 'IncidentMitigated':
      // Mitigation is a milestone for the metrics; the status moves only by StatusChanged.
      return { ...current, version, mitigatedAt: event.occurredAt };
    case 'IncidentResolved':
      // No more customer updates are owed once resolved.
      return {
        ...current,
        version,
        status: 'RESOLVED',
        statusSince: latestOf(current.statusSince, event.occurredAt),
        resolvedAt: event.occurredAt,
        resolutionSummary: event.data.summary,
        nextUpdateDueAt: null,
      };
    case 'IncidentReopened':
      // A new open period: mitigation and resolution start over; the ETA and its revisions stay,
      // as the ETA metrics are about the whole incident.
      return {
        ...current,
        version,
        status: 'INVESTIGATING',
        statusSince: latestOf(current.statusSince, event.occurredAt),
        mitigatedAt: null,
        resolvedAt: null,
        resolutionSummary: null,
        reopenCount: current.reopenCount + 1,
        reopenedAt: event.occurredAt,
      };
    case 'RootCauseIdentified': {
      const { rootCauseId, category, description, contributingFactors, trigger, detection } = event.data;
      return {
        ...current,
        version,
        rootCauses: [
          ...current.rootCauses,
          {
            rootCauseId,
            category,
            description,
            contributingFactors,
            trigger,
            detection,
            identifiedAt: event.occurredAt,
            identifiedBy: event.actor,
            revisions: 0,
            revisedAt: null,
            revisionReason: null,
          },
        ],
      };
    }
    case 'RootCauseRevised': {
      const { rootCauseId, category, description, contributingFactors, trigger, detection, reason } =
        event.data;
      return {
        ...current,
        version,
        rootCauses: current.rootCauses.map((rootCause) =>
          rootCause.rootCauseId === rootCauseId
            ? {
                ...rootCause,
                category,
                description,
                contributingFactors,
                trigger,
                detection,
                revisions: rootCause.revisions + 1,
                revisedAt: event.occurredAt,
                revisionReason: reason,
              }
            : rootCause,
        ),
      };
    }
    case 'PreventiveMeasurePlanned': {
      const { measureId, title, kind, owner, dueDate, priority, rootCauseId } = event.data;
      return {
        ...current,
        version,
        preventiveMeasures: [
          ...current.preventiveMeasures,
          {
            measureId,
            title,
            kind,
            owner,
            dueDate,
            priority,
            rootCauseId,
            status: 'PLANNED',
            plannedAt: event.occurredAt,
            startedAt: null,
            completedAt: null,
            evidence: null,
            cancelledAt: null,
            cancellationReason: null,
          },
        ],
      };
    }
    case 'PreventiveMeasureStarted':
      return {
        ...current,
        version,
        preventiveMeasures: patched(current.preventiveMeasures, 'measureId', event.data.measureId, {
          status: 'IN_PROGRESS',
          startedAt: event.occurredAt,
        }),
      };
    case 'PreventiveMeasureCompleted':
      return {
        ...current,
        version,
        preventiveMeasures: patched(current.preventiveMeasures, 'measureId', event.data.measureId, {
          status: 'COMPLETED',
          completedAt: event.occurredAt,
          evidence: event.data.evidence,
        }),
      };
    case 'PreventiveMeasureCancelled':
      return {
        ...current,
        version,
        preventiveMeasures: patched(current.preventiveMeasures, 'measureId', event.data.measureId, {
          status: 'CANCELLED',
          cancelledAt: event.occurredAt,
          cancellationReason: event.data.reason,
        }),
      };
    case 'PostmortemPublished': {
      const { summary, customerImpact, narrative, lessons, customerExplanation } = event.data;
      return {
        ...current,
        version,
        postmortem: {
          summary,
          customerImpact,
          narrative,
          lessons,
          customerExplanation,
          publishedAt: event.occurredAt,
          publishedBy: event.actor,
        },
      };
    }
    case 'CompensationGranted': {
      const { grantId, segment, customerId, creditPercent, amount, currency } = event.data;
      const { policyVersion, outageMinutes, suggestedPercent, justification } = event.data;
      return {
        ...current,
        version,
        compensations: [
          ...current.compensations,
          {
            grantId,
            segment,
            customerId,
            creditPercent,
            amount,
            currency,
            policyVersion,
            outageMinutes,
            suggestedPercent,
            justification,
            grantedAt: event.occurredAt,
            grantedBy: event.actor,
          },
        ],
      };
    }
    case 'CustomerFeedbackReceived': {
      const { feedbackId, rating, comment, channel, segment } = event.data;
      return {
        ...current,
        version,
        feedback: [
          ...current.feedback,
          { feedbackId, rating, comment, channel, segment, receivedAt: event.occurredAt },
        ],
      };
    }
    case 'IncidentClosed':
      return {
        ...current,
        version,
        status: 'CLOSED',
        statusSince: latestOf(current.statusSince, event.occurredAt),
        closedAt: event.occurredAt,
      };
    default: {
      const unknown: never = event;
      throw new Error(`Unknown incident event ${JSON.stringify(unknown)}`);
    }
  }
}

/** A stored event as the domain reads it back: its type and data, with the envelope's occurredAt and actor. */
export interface StoredIncidentEvent {
  type: string;
  data: object;
  occurredAt: string;
  actor: string;
}

/** Folds an event read from the store (any envelope carrying these fields) into the incident state. */
export function evolveStored(
  state: IncidentState,
  { type, data, occurredAt, actor }: StoredIncidentEvent,
): IncidentState {
  return evolve(state, { type, data, occurredAt, actor } as RecordedIncidentEvent);
}
