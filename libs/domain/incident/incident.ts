import type { DomainEvent, Recorded } from '../decider.js';

export type Severity = 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4';
export type IncidentStatus = 'INVESTIGATING' | 'IDENTIFIED' | 'MONITORING' | 'RESOLVED' | 'CLOSED';
export type ServiceImpact =
  'OPERATIONAL' | 'DEGRADED_PERFORMANCE' | 'PARTIAL_OUTAGE' | 'MAJOR_OUTAGE' | 'UNDER_MAINTENANCE';
export type Channel = 'EMAIL' | 'SMS' | 'SOCIAL' | 'WEBSITE' | 'IN_APP' | 'WEBHOOK';
export type Visibility = 'PUBLIC' | 'INTERNAL';
export type IncidentRole = 'INCIDENT_COMMANDER' | 'COMMUNICATIONS_LEAD' | 'TECHNICAL_LEAD' | 'SCRIBE';

export function incidentStreamId(id: string): string {
  return `incident-${id}`;
}

// Events. Instants are ISO-8601 strings; text is trimmed; optional text is null when not given.

export type IncidentDeclared = DomainEvent<
  'IncidentDeclared',
  { incidentId: string; title: string; severity: Severity; summary: string | null; services: string[] }
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
  | IncidentReopened;
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

export interface IncidentState {
  exists: boolean;
  id: string | null;
  title: string;
  summary: string | null;
  severity: Severity;
  status: IncidentStatus;
  /** Affected services and their current impact. */
  services: Record<string, ServiceImpact>;
  roles: Partial<Record<IncidentRole, string>>;
  /** occurredAt and actor of IncidentDeclared. */
  startedAt: string | null;
  declaredBy: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  estimatedResolutionAt: string | null;
  /** How many ResolutionEstimateSet came after the first. */
  etaRevisions: number;
  workarounds: Workaround[];
  /** occurredAt of the latest PUBLIC customer update. */
  lastCustomerUpdateAt: string | null;
  /** What that update promised; null once resolved. */
  nextUpdateDueAt: string | null;
  mitigatedAt: string | null;
  resolvedAt: string | null;
  resolutionSummary: string | null;
  reopenCount: number;
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
    status: 'INVESTIGATING',
    services: {},
    roles: {},
    startedAt: null,
    declaredBy: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    estimatedResolutionAt: null,
    etaRevisions: 0,
    workarounds: [],
    lastCustomerUpdateAt: null,
    nextUpdateDueAt: null,
    mitigatedAt: null,
    resolvedAt: null,
    resolutionSummary: null,
    reopenCount: 0,
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

export function evolve(current: IncidentState, event: RecordedIncidentEvent): IncidentState {
  const state = { ...current, version: current.version + 1 };
  switch (event.type) {
    case 'IncidentDeclared':
      return {
        ...state,
        exists: true,
        id: event.data.incidentId,
        title: event.data.title,
        summary: event.data.summary,
        severity: event.data.severity,
        status: 'INVESTIGATING',
        services: Object.fromEntries(
          event.data.services.map((service) => [service, DECLARED_SERVICE_IMPACT]),
        ),
        startedAt: event.occurredAt,
        declaredBy: event.actor,
      };
    case 'IncidentAcknowledged':
      return { ...state, acknowledgedAt: event.occurredAt, acknowledgedBy: event.actor };
    case 'RoleAssigned':
      return { ...state, roles: { ...state.roles, [event.data.role]: event.data.assignee } };
    case 'SeverityChanged':
      return { ...state, severity: event.data.to };
    case 'ServiceImpactChanged':
      return { ...state, services: { ...state.services, [event.data.service]: event.data.to } };
    case 'StatusChanged':
      return { ...state, status: event.data.to };
    case 'CustomerUpdatePublished':
      // The latest public update in the world's time sets the cadence: a backdated update recorded
      // late does not replace a newer promise.
      if (
        event.data.visibility !== 'PUBLIC' ||
        (state.lastCustomerUpdateAt !== null &&
          Date.parse(event.occurredAt) < Date.parse(state.lastCustomerUpdateAt))
      ) {
        return state;
      }
      return { ...state, lastCustomerUpdateAt: event.occurredAt, nextUpdateDueAt: event.data.nextUpdateAt };
    case 'InternalNoteAdded':
      return state;
    case 'ResolutionEstimateSet':
      return {
        ...state,
        estimatedResolutionAt: event.data.estimatedResolutionAt,
        etaRevisions: state.estimatedResolutionAt === null ? 0 : state.etaRevisions + 1,
      };
    case 'WorkaroundOffered':
      return {
        ...state,
        workarounds: [
          ...state.workarounds,
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
        ...state,
        workarounds: state.workarounds.map((workaround) =>
          workaround.workaroundId === event.data.workaroundId
            ? { ...workaround, withdrawnAt: event.occurredAt, withdrawalReason: event.data.reason }
            : workaround,
        ),
      };
    case 'IncidentMitigated':
      // Mitigation is a milestone for the metrics; the status moves only by StatusChanged.
      return { ...state, mitigatedAt: event.occurredAt };
    case 'IncidentResolved':
      // No more customer updates are owed once resolved.
      return {
        ...state,
        status: 'RESOLVED',
        resolvedAt: event.occurredAt,
        resolutionSummary: event.data.summary,
        nextUpdateDueAt: null,
      };
    case 'IncidentReopened':
      // A new open period: mitigation and resolution start over; the ETA and its revisions stay,
      // as the ETA metrics are about the whole incident.
      return {
        ...state,
        status: 'INVESTIGATING',
        mitigatedAt: null,
        resolvedAt: null,
        resolutionSummary: null,
        reopenCount: state.reopenCount + 1,
      };
    default: {
      const unknown: never = event;
      throw new Error(`Unknown incident event ${JSON.stringify(unknown)}`);
    }
  }
}
