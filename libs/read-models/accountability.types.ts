/**
 * What the accountability read models answer: overdue customer updates, the post-incident
 * catalogs (root causes, preventive measures, postmortems, compensation, feedback) and maintenance.
 * Incident metrics and communication compliance are the domain's own types (libs/domain/metrics).
 */
import type {
  CompensationGrant,
  CustomerFeedback,
  IncidentStatus,
  MaintenanceState,
  MaintenanceStatus,
  Postmortem,
  PreventiveMeasure,
  PreventiveMeasureStatus,
  RootCause,
  RootCauseCategory,
  Severity,
} from '../domain/index.js';

/** An open incident whose next customer update, as its communication policy demands it, is late. */
export interface OverdueUpdate {
  incidentId: string;
  title: string;
  severity: Severity;
  status: IncidentStatus;
  lastCustomerUpdateAt: string | null;
  nextUpdateDueAt: string;
  overdueByMinutes: number;
}

export interface RootCauseFilter {
  category?: RootCauseCategory;
  /** Causes of incidents that list this service; recurrence is then judged on this service alone. */
  service?: string;
  /** Only causes that are recurrences (see RootCauseEntry.recurrenceOf). */
  recurringOnly?: boolean;
}

export interface RootCauseEntry extends RootCause {
  incidentId: string;
  incidentStartedAt: string;
  /**
   * The incidents started earlier (strictly), at most the recurrence window before this one, with a
   * root cause of the same category on a service this incident lists too. Empty: not a recurrence.
   * UNKNOWN causes never recur.
   */
  recurrenceOf: string[];
}

export interface RootCauseCatalog {
  /** Causes matching the filter, over the whole catalog. */
  totalCount: number;
  /** Of those, the recurrences. */
  recurringCount: number;
  /** The newest incidents' causes first, at most `first`. */
  entries: RootCauseEntry[];
}

export interface PreventiveMeasureFilter {
  owner?: string;
  statuses?: PreventiveMeasureStatus[];
  /** true: past the due date and neither completed nor cancelled; false: the others. */
  overdue?: boolean;
  incidentId?: string;
  /** Due at or after / before (ISO-8601). */
  dueFrom?: string;
  dueTo?: string;
}

export interface PreventiveMeasureEntry extends PreventiveMeasure {
  incidentId: string;
  overdue: boolean;
}

export interface PreventiveMeasureList {
  totalCount: number;
  overdueCount: number;
  /** Completed ÷ not cancelled, over the measures matching the filter; null when there is none. */
  completionRate: number | null;
  /** The earliest due first, at most `first`. */
  measures: PreventiveMeasureEntry[];
}

export interface PostmortemEntry extends Postmortem {
  incidentId: string;
}

export interface PostmortemList {
  totalCount: number;
  /** The latest published first, at most `first`. */
  postmortems: PostmortemEntry[];
}

export interface CompensationEntry extends CompensationGrant {
  incidentId: string;
}

export interface AmountTotal {
  currency: string;
  amount: number;
}

/** The grants to one segment; segment null: grants to single customers. */
export interface SegmentTotal {
  segment: string | null;
  grants: number;
  incidents: number;
  /** Over the grants given as a credit percent; null when none was. */
  averageCreditPercent: number | null;
  /** Grants given as an amount, summed per currency. */
  amounts: AmountTotal[];
  /** Grants that differ from what the incident's compensation policy suggested (each justified). */
  outsidePolicy: number;
}

export interface CompensationFilter {
  segment?: string;
  /** Granted at or after / before (occurredAt, ISO-8601). */
  grantedFrom?: string;
  grantedTo?: string;
}

export interface CompensationLedger {
  /** Per segment, over every grant matching the filter; segments by name, single customers last. */
  totals: SegmentTotal[];
  totalCount: number;
  /** The latest first, at most `first`. */
  grants: CompensationEntry[];
}

export interface IncidentFeedback {
  incidentId: string;
  responses: number;
  averageRating: number | null;
  feedback: CustomerFeedback[];
}

export interface SeverityFeedback {
  /** The incidents' current severity. */
  severity: Severity;
  incidents: number;
  responses: number;
  averageRating: number;
}

export interface MaintenanceRecord extends MaintenanceState {
  id: string;
}

export interface MaintenanceFilter {
  statuses?: MaintenanceStatus[];
  service?: string;
  /** Maintenances whose window overlaps [windowFrom, windowTo) (ISO-8601). */
  windowFrom?: string;
  windowTo?: string;
}
