/**
 * Incident metrics (DESIGN.md, "Metric definitions"): all on occurredAt, in minutes, averaged over
 * incidents.
 *
 * Per incident (`measureIncident`), from the start (IncidentDeclared):
 * - mttaMinutes: to the first IncidentAcknowledged.
 * - timeToFirstUpdateMinutes: to the first PUBLIC CustomerUpdatePublished.
 * - timeToMitigateMinutes: to the first IncidentMitigated, or the first IncidentResolved when that
 *   came earlier or there was no mitigation (a resolution ends the impact too; the two differ only
 *   for a reopened incident mitigated after its first resolution).
 * - mttrMinutes: to the final IncidentResolved; null while open (a reopened incident included).
 * - cadenceCompliance: as in communication-compliance.ts.
 * - firstEtaErrorMinutes / finalEtaErrorMinutes: |ETA − final resolution| for the first and the last
 *   estimate given (by occurredAt); null without an estimate or while open.
 * - etaRevisions: the estimates after the first; null when none was given.
 * - overduePreventiveMeasures: measures past their due date at `now`, neither completed nor cancelled.
 *
 * Aggregated (`aggregateIncidentMetrics`), over the incidents started in [from, to):
 * - each duration, cadenceCompliance and etaRevisions: the average over the incidents that have a
 *   value; null when none has. overduePreventiveMeasures: the sum. incidentCount: the incidents.
 * - recurrenceRate: of the incidents with a (root-cause category, service) pair, the share that
 *   shares a pair with an incident started earlier, at most N days (default 30) before; incidents
 *   given outside [from, to) count as earlier ones. UNKNOWN causes never recur: nothing is known to
 *   come back. Categories are those of the latest revision.
 * - groupBy: NONE (one group "ALL", even when empty), SEVERITY (the incident's current severity),
 *   SERVICE (every service the incident lists; an incident listing none is in no group), MONTH
 *   (UTC "YYYY-MM" of the start). Groups are sorted by key.
 */
import { isPreventiveMeasureOverdue, type RootCauseCategory, type Severity } from '../incident/incident.js';
import { COMMUNICATION_POLICIES, type CommunicationPolicy } from '../policies/communication-policy.js';
import type { PolicyRegistry } from '../policies/policy-registry.js';
import { instant, isoInstant, minutesBetween } from '../validation.js';
import { complianceOf, type CommunicationCompliance } from './communication-compliance.js';
import type { RecordedIncidentEvent } from '../incident/incident.js';
import { incidentHistory, type IncidentHistory } from './incident-history.js';

/**
 * Whether an event of this type ends the time to mitigate, when none did before it (as recorded; the
 * backdating rules keep that order the occurredAt order): for the read models' running record.
 */
export function endsTimeToMitigate(type: string): boolean {
  return type === 'IncidentMitigated' || type === 'IncidentResolved';
}

export interface IncidentMetricValues {
  incidentId: string;
  severity: Severity;
  services: string[];
  startedAt: string;
  resolvedAt: string | null;
  rootCauseCategories: RootCauseCategory[];
  mttaMinutes: number | null;
  timeToFirstUpdateMinutes: number | null;
  timeToMitigateMinutes: number | null;
  mttrMinutes: number | null;
  cadenceCompliance: number | null;
  firstEtaErrorMinutes: number | null;
  finalEtaErrorMinutes: number | null;
  etaRevisions: number | null;
  overduePreventiveMeasures: number;
}

/** `events`: the incident's, in the order recorded; `now`: the moment of the evaluation (ISO-8601). */
export function measureIncident(
  events: readonly RecordedIncidentEvent[],
  now: string,
  policies: PolicyRegistry<CommunicationPolicy> = COMMUNICATION_POLICIES,
): IncidentMetricValues {
  const history = incidentHistory(events);
  return measureHistory(history, complianceOf(history, now, policies), now);
}

/**
 * The metrics of an incident whose history and compliance (at `now`) are already at hand: a
 * projection that stores both measures each once.
 */
export function measureHistory(
  history: IncidentHistory,
  compliance: CommunicationCompliance,
  now: string,
): IncidentMetricValues {
  const { state, startedAt, finalResolvedAt, estimates } = history;
  const sinceStart = (at: string | null) => (at === null ? null : minutesBetween(startedAt, at));
  const etaError = (estimate: { estimatedResolutionAt: string } | undefined) =>
    estimate === undefined || finalResolvedAt === null
      ? null
      : Math.abs(minutesBetween(finalResolvedAt, estimate.estimatedResolutionAt));
  const firstUpdate = history.openPeriods.flatMap((period) => period.updates)[0];
  return {
    incidentId: state.id!,
    severity: state.severity,
    services: Object.keys(state.services),
    startedAt,
    resolvedAt: finalResolvedAt,
    rootCauseCategories: [...new Set(state.rootCauses.map((rootCause) => rootCause.category))],
    mttaMinutes: sinceStart(history.firstAcknowledgedAt),
    timeToFirstUpdateMinutes: sinceStart(firstUpdate?.occurredAt ?? null),
    timeToMitigateMinutes: sinceStart(earliest(history.firstMitigatedAt, history.firstResolvedAt)),
    mttrMinutes: sinceStart(finalResolvedAt),
    cadenceCompliance: compliance.cadenceCompliance,
    firstEtaErrorMinutes: etaError(estimates[0]),
    finalEtaErrorMinutes: etaError(estimates.at(-1)),
    etaRevisions: estimates.length === 0 ? null : estimates.length - 1,
    overduePreventiveMeasures: state.preventiveMeasures.filter((measure) =>
      isPreventiveMeasureOverdue(measure, now),
    ).length,
  };
}

function earliest(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return a ?? b;
  return instant(a) <= instant(b) ? a : b;
}

export type MetricsGroupBy = 'NONE' | 'SEVERITY' | 'SERVICE' | 'MONTH';

/** The aggregate of a group of incidents: the GraphQL IncidentMetrics. */
export interface IncidentMetrics {
  incidentCount: number;
  mttaMinutes: number | null;
  timeToFirstUpdateMinutes: number | null;
  timeToMitigateMinutes: number | null;
  mttrMinutes: number | null;
  cadenceCompliance: number | null;
  finalEtaErrorMinutes: number | null;
  firstEtaErrorMinutes: number | null;
  etaRevisions: number | null;
  recurrenceRate: number | null;
  overduePreventiveMeasures: number;
}

export interface MetricsGroup {
  key: string;
  metrics: IncidentMetrics;
}

export interface MetricsAggregation {
  groupBy?: MetricsGroupBy;
  /** Incidents started at or after (ISO-8601); all when absent. */
  from?: string | null;
  /** Incidents started before (ISO-8601); all when absent. */
  to?: string | null;
  recurrenceWindowDays?: number;
}

export const DEFAULT_RECURRENCE_WINDOW_DAYS = 30;

export function aggregateIncidentMetrics(
  incidents: readonly IncidentMetricValues[],
  {
    groupBy = 'NONE',
    from,
    to,
    recurrenceWindowDays = DEFAULT_RECURRENCE_WINDOW_DAYS,
  }: MetricsAggregation = {},
): MetricsGroup[] {
  const recurring = recurringIncidentIds(incidents, recurrenceWindowDays);
  const inRange = incidents.filter(
    ({ startedAt }) =>
      (from === null || from === undefined || instant(startedAt) >= instant(from)) &&
      (to === null || to === undefined || instant(startedAt) < instant(to)),
  );
  const groups = new Map<string, IncidentMetricValues[]>(groupBy === 'NONE' ? [['ALL', []]] : []);
  for (const incident of inRange) {
    for (const key of groupKeys(incident, groupBy)) {
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [incident]);
      else group.push(incident);
    }
  }
  return [...groups]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, members]) => ({ key, metrics: summarize(members, recurring) }));
}

function groupKeys(incident: IncidentMetricValues, groupBy: MetricsGroupBy): string[] {
  switch (groupBy) {
    case 'NONE':
      return ['ALL'];
    case 'SEVERITY':
      return [incident.severity];
    case 'SERVICE':
      return incident.services;
    case 'MONTH':
      return [isoInstant(instant(incident.startedAt)).slice(0, 7)];
    default: {
      const unknown: never = groupBy;
      throw new Error(`Unknown grouping ${JSON.stringify(unknown)}`);
    }
  }
}

function summarize(
  incidents: readonly IncidentMetricValues[],
  recurring: ReadonlySet<string>,
): IncidentMetrics {
  const averageOf = (value: (incident: IncidentMetricValues) => number | null) =>
    average(incidents.map(value));
  const judged = incidents.filter(hasRecurrencePairs);
  return {
    incidentCount: incidents.length,
    mttaMinutes: averageOf((incident) => incident.mttaMinutes),
    timeToFirstUpdateMinutes: averageOf((incident) => incident.timeToFirstUpdateMinutes),
    timeToMitigateMinutes: averageOf((incident) => incident.timeToMitigateMinutes),
    mttrMinutes: averageOf((incident) => incident.mttrMinutes),
    cadenceCompliance: averageOf((incident) => incident.cadenceCompliance),
    finalEtaErrorMinutes: averageOf((incident) => incident.finalEtaErrorMinutes),
    firstEtaErrorMinutes: averageOf((incident) => incident.firstEtaErrorMinutes),
    etaRevisions: averageOf((incident) => incident.etaRevisions),
    recurrenceRate:
      judged.length === 0
        ? null
        : judged.filter(({ incidentId }) => recurring.has(incidentId)).length / judged.length,
    overduePreventiveMeasures: incidents.reduce(
      (sum, incident) => sum + incident.overduePreventiveMeasures,
      0,
    ),
  };
}

/** The average of the values that are not null; null when all are. */
function average(values: readonly (number | null)[]): number | null {
  const present = values.filter((value) => value !== null);
  return present.length === 0 ? null : present.reduce((sum, value) => sum + value, 0) / present.length;
}

/** The (root-cause category, service) pairs that can recur; UNKNOWN causes cannot. */
function recurrencePairs({ rootCauseCategories, services }: IncidentMetricValues): string[] {
  return rootCauseCategories
    .filter((category) => category !== 'UNKNOWN')
    .flatMap((category) => services.map((service) => JSON.stringify([category, service])));
}

function hasRecurrencePairs(incident: IncidentMetricValues): boolean {
  return recurrencePairs(incident).length > 0;
}

/**
 * The incidents that share a (root-cause category, service) pair with an incident started earlier
 * (strictly), at most `windowDays` before.
 */
export function recurringIncidentIds(
  incidents: readonly IncidentMetricValues[],
  windowDays: number = DEFAULT_RECURRENCE_WINDOW_DAYS,
): ReadonlySet<string> {
  const starts = new Map<string, { incidentId: string; start: number }[]>();
  for (const incident of incidents) {
    for (const pair of recurrencePairs(incident)) {
      const entry = { incidentId: incident.incidentId, start: instant(incident.startedAt) };
      const list = starts.get(pair);
      if (list === undefined) starts.set(pair, [entry]);
      else list.push(entry);
    }
  }
  const window = windowDays * 24 * 60 * 60_000;
  const recurring = new Set<string>();
  for (const list of starts.values()) {
    list.sort((a, b) => a.start - b.start);
    let earlier: number | null = null;
    let previous: number | null = null;
    for (const { incidentId, start } of list) {
      // Incidents started at the same moment are not earlier than one another.
      if (previous !== null && previous < start) earlier = previous;
      if (earlier !== null && start - earlier <= window) recurring.add(incidentId);
      previous = start;
    }
  }
  return recurring;
}
