import type Database from 'better-sqlite3';
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

/**
 * Every answer the queries give about these incidents: all pages of every sort under several
 * filters, every timeline, communications log and event list, and the public status at `now`.
 * Two read models answer alike if and only if these are deep-equal.
 */
export function allAnswers(queries: ReadModelQueries, incidentIds: string[], now: string): unknown {
  return {
    pages: SORTS.flatMap((sort) => FILTERS.map((filter) => allPages(queries, filter, sort, 37))),
    incidents: [...queries.incidentsByIds(incidentIds)],
    timelines: incidentIds.map((id) => [queries.timeline(id, 'ALL'), queries.timeline(id, 'PUBLIC')]),
    communications: incidentIds.map((id) => queries.communications(id)),
    events: [...queries.eventsOf(incidentIds)],
    publicStatus: queries.publicStatus(now, 24),
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
  };
  return Object.fromEntries(
    Object.entries(keys).map(([table, key]) => [
      table,
      db.prepare(`SELECT * FROM ${table} ORDER BY ${key}`).all(),
    ]),
  );
}
