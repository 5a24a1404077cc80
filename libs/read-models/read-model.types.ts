/**
 * What the read models answer. The GraphQL layer maps these to its types; the projections
 * in this folder keep them up to date from the event store's global feed.
 */
import type {
  Channel,
  IncidentState,
  IncidentStatus,
  MaintenanceStatus,
  ServiceImpact,
  Severity,
  Visibility,
} from '../domain/index.js';

/** An incident as the read model holds it: the domain state plus what only the log knows. */
export interface IncidentRecord extends IncidentState {
  /** recordedAt of the declaration. */
  declaredRecordedAt: string;
  /** The latest occurredAt of its events (what "last updated" sorts on); a backdated entry does not lower it. */
  lastUpdatedAt: string;
  /** Global position of the newest event, as a decimal string. */
  lastPosition: string;
  /** PUBLIC customer updates published so far. */
  customerUpdateCount: number;
  /**
   * occurredAt of the first mitigation or resolution recorded: where the time to mitigate ends (the
   * resolution when there was no mitigation, docs/metrics.md); null before either. Unlike the state's
   * mitigatedAt, a reopening does not clear it.
   */
  mitigatedOrResolvedAt: string | null;
}

export interface IncidentFilter {
  statuses?: IncidentStatus[];
  severities?: Severity[];
  /** Incidents that list this service (any impact). */
  service?: string;
  /** true: not RESOLVED/CLOSED; false: RESOLVED or CLOSED. */
  open?: boolean;
  /** Started (occurredAt of the declaration) at or after / before. ISO-8601. */
  declaredFrom?: string;
  declaredTo?: string;
  /** Case-insensitive substring of the title. */
  titleContains?: string;
}

export type IncidentSort = 'DECLARED_DESC' | 'DECLARED_ASC' | 'UPDATED_DESC' | 'UPDATED_ASC';

export interface IncidentPage {
  edges: Array<{ cursor: string; node: IncidentRecord }>;
  hasNextPage: boolean;
  totalCount: number;
}

export type TimelineVisibility = 'PUBLIC' | 'ALL';

/** One event as a readable line. */
export interface TimelineEntry {
  incidentId: string;
  version: number;
  position: string;
  type: string;
  /** PUBLIC entries are what customers were told or can see; INTERNAL the rest. */
  visibility: Visibility;
  /**
   * What happened, in a sentence ("Severity changed from SEV3 to SEV1 (customer impact grew)"),
   * from the data the audience may see (PUBLIC: "Severity changed from SEV3 to SEV1").
   */
  description: string;
  actor: string;
  recordedAt: string;
  occurredAt: string;
  /** occurredAt more than BACKDATED_AFTER_MS (a minute) earlier than recordedAt: entered after the fact. */
  backdated: boolean;
  data: Record<string, unknown>;
}

export interface CustomerUpdateEntry {
  version: number;
  occurredAt: string;
  recordedAt: string;
  actor: string;
  status: IncidentStatus;
  message: string;
  channels: Channel[];
  visibility: Visibility;
  nextUpdateAt: string | null;
  /** Minutes since the previous update of the same visibility (or since the start for the first). */
  minutesSincePrevious: number;
}

export interface EtaRevision {
  version: number;
  occurredAt: string;
  actor: string;
  previousEstimate: string | null;
  estimatedResolutionAt: string;
  reason: string;
}

export interface CommunicationsLog {
  incidentId: string;
  updates: CustomerUpdateEntry[];
  etaHistory: EtaRevision[];
}

/** What a customer-facing status page shows: nothing internal, no names. */
export interface PublicIncident {
  id: string;
  title: string;
  status: IncidentStatus;
  severity: Severity;
  startedAt: string;
  resolvedAt: string | null;
  estimatedResolutionAt: string | null;
  /** Once resolved, every service is OPERATIONAL again: a resolution means the service is restored. */
  services: Array<{ service: string; impact: ServiceImpact }>;
  /** The ones not withdrawn, while the incident is open. */
  workarounds: Array<{ description: string; offeredAt: string }>;
  updates: Array<{ status: IncidentStatus; message: string; occurredAt: string }>;
}

/** Maintenance as a status page announces it: what, when, which services. */
export interface PublicMaintenance {
  id: string;
  title: string;
  status: MaintenanceStatus;
  windowStart: string;
  windowEnd: string;
  services: string[];
}

export interface PublicStatus {
  /**
   * Worst impact per service across open incidents, UNDER_MAINTENANCE for a service in maintenance
   * (unless an incident does worse); services of neither are not listed.
   */
  services: Array<{ service: string; impact: ServiceImpact }>;
  /** In progress, or scheduled and not yet over: the earliest window first. */
  maintenances: PublicMaintenance[];
  openIncidents: PublicIncident[];
  /** Resolved or closed within the window the caller asked for. */
  recentlyResolved: PublicIncident[];
}

export interface ProjectionStatus {
  /** Position of the last event applied; null before the first. */
  checkpoint: bigint | null;
  /** Newest position in the event store; null when it is empty. */
  head: bigint | null;
  /** Events in the store not yet applied (approximate for KurrentDB, whose positions are not contiguous). */
  lag: bigint;
}
