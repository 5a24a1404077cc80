import type Database from 'better-sqlite3';
import type { MetricsGroupBy } from '../../domain/index.js';
import type { ReadModels } from '../index.js';
import type { ReadModelQueries } from '../read-model-queries.js';
import type { IncidentFilter, IncidentSort } from '../read-model.types.js';

const SORTS: IncidentSort[] = ['DECLARED_DESC', 'DECLARED_ASC', 'UPDATED_DESC', 'UPDATED_ASC'];
const FILTERS: IncidentFilter[] = [
  {},
  { open: true },
  { open: false },
  { statuses: ['IDENTIFIED', 'MONITORING'] },
  { severities: ['SEV1'] },
  { service: 'checkout' },
  { titleContains: 'LATENCY' },
];

const GROUPINGS: MetricsGroupBy[] = ['NONE', 'SEVERITY', 'SERVICE', 'MONTH'];

/**
 * Every answer the queries give about these incidents: all pages of every sort under several
 * filters, every timeline, communications log, event list and communication compliance, the
 * public status, the metrics under every grouping, overdue updates, the post-incident catalogs and
 * the maintenances, all at `now`. Two read models answer alike if and only if these are deep-equal.
 */
export function allAnswers(
  { queries, accountability, maintenances }: Pick<ReadModels, 'queries' | 'accountability' | 'maintenances'>,
  incidentIds: string[],
  now: string,
): unknown {
  return {
    pages: SORTS.flatMap((sort) => FILTERS.map((filter) => allPages(queries, filter, sort, 37))),
    incidents: [...queries.incidentsByIds(incidentIds)],
    timelines: incidentIds.map((id) => [queries.timeline(id, 'ALL'), queries.timeline(id, 'PUBLIC')]),
    communications: incidentIds.map((id) => queries.communications(id, 'ALL')),
    events: [...queries.eventsOf(incidentIds)],
    publicStatus: queries.publicStatus(now, 24),
    compliance: incidentIds.map((id) => accountability.communicationCompliance(id, now)),
    metrics: GROUPINGS.map((groupBy) => accountability.incidentMetrics({ groupBy }, now)),
    overdueUpdates: accountability.overdueUpdates(now),
    rootCauses: [
      accountability.rootCauses({}, 30, 100_000),
      accountability.rootCauses({ recurringOnly: true, service: 'checkout' }, 7, 100_000),
    ],
    preventiveMeasures: [
      accountability.preventiveMeasures({}, now, 100_000),
      accountability.preventiveMeasures({ overdue: true }, now, 100_000),
    ],
    postmortems: accountability.postmortems(undefined, undefined, 100_000),
    compensations: accountability.compensations({}, 100_000),
    feedback: [
      incidentIds.map((id) => accountability.incidentFeedback(id)),
      accountability.feedbackBySeverity(undefined, undefined),
    ],
    maintenances: maintenances.maintenances({}),
  };
}

/** Every page of a query, in order. */
export function allPages(
  queries: ReadModelQueries,
  filter: IncidentFilter,
  sort: IncidentSort,
  first: number,
): ReturnType<ReadModelQueries['incidents']>[] {
  const pages = [queries.incidents(filter, sort, first)];
  while (pages[pages.length - 1].hasNextPage) {
    pages.push(queries.incidents(filter, sort, first, pages[pages.length - 1].edges.at(-1)!.cursor));
  }
  return pages;
}

/** Every row of every table (the bookkeeping of who projects aside), in key order. */
export function allRows(db: Database.Database): Record<string, unknown[]> {
  const keys: Record<string, string> = {
    checkpoint: 'id',
    incidents: 'id',
    incident_records: 'id',
    incident_services: 'service, incident_id',
    timeline: 'incident_id, version',
    customer_updates: 'incident_id, version',
    eta_revisions: 'incident_id, version',
    incident_facts: 'incident_id',
    recurrence_keys: 'category, service, started_ms, incident_id',
    root_causes: 'incident_id, root_cause_id',
    preventive_measures: 'incident_id, measure_id',
    postmortems: 'incident_id',
    compensations: 'incident_id, grant_id',
    customer_feedback: 'incident_id, feedback_id',
    maintenances: 'id',
    maintenance_services: 'service, maintenance_id',
  };
  return Object.fromEntries(
    Object.entries(keys).map(([table, key]) => [
      table,
      db.prepare(`SELECT * FROM ${table} ORDER BY ${key}`).all(),
    ]),
  );
}
