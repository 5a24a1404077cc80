import type Database from 'better-sqlite3';
import {
  aggregateIncidentMetrics,
  COMMUNICATION_POLICIES,
  DEFAULT_RECURRENCE_WINDOW_DAYS,
  evaluateCommunicationCompliance,
  type CommunicationCompliance,
  type CommunicationPolicy,
  type CompensationGrant,
  type CustomerFeedback,
  type IncidentMetrics,
  type IncidentStatus,
  type MetricsGroup,
  type MetricsGroupBy,
  type PolicyRegistry,
  type Postmortem,
  type PreventiveMeasure,
  type RootCause,
  type Severity,
} from '../domain/index.js';
import type {
  AmountTotal,
  CompensationFilter,
  CompensationLedger,
  IncidentFeedback,
  OverdueUpdate,
  PostmortemList,
  PreventiveMeasureFilter,
  PreventiveMeasureList,
  RootCauseCatalog,
  RootCauseFilter,
  SegmentTotal,
  SeverityFeedback,
} from './accountability.types.js';
import { RecordedIncidentEvents } from './projections/recorded-incident-events.js';
import { SqlStatements, type Parameter } from './sql-statements.js';

const DAY_MS = 86_400_000;

export interface MetricsQuery {
  /** Incidents started at or after / before (ISO-8601); all when absent. */
  from?: string;
  to?: string;
  groupBy: MetricsGroupBy;
  recurrenceWindowDays?: number;
}

/** The group key of each grouping, and the join it needs. */
const GROUPINGS: Record<MetricsGroupBy, { key: string; join: string }> = {
  NONE: { key: "'ALL'", join: '' },
  SEVERITY: { key: 'facts.severity', join: '' },
  MONTH: { key: 'facts.month', join: '' },
  SERVICE: {
    key: 'services.service',
    join: 'JOIN incident_services AS services ON services.incident_id = facts.incident_id',
  },
};

/**
 * "An earlier incident, at most :window ms before, has a root cause of the same category on the
 * same service", for the recurrence keys `k` (the domain's recurringIncidentIds, as a range read
 * of the recurrence_keys primary key). UNKNOWN causes never recur.
 */
const EARLIER_SAME_PAIR = `
  JOIN recurrence_keys AS e ON e.category = k.category AND e.service = k.service
    AND e.started_ms < k.started_ms AND e.started_ms >= k.started_ms - :window
  WHERE k.category != 'UNKNOWN'`;

/** A group's aggregates as SQL gives them: the recurrence rate still to divide. */
type MetricsRow = Omit<IncidentMetrics, 'recurrenceRate'> & {
  key: string;
  judged: number | null;
  recurring: number | null;
};

/**
 * The accountability queries: incident metrics and communication compliance as the domain defines
 * them, overdue customer updates, and the post-incident catalogs. Each runs a fixed number of SQL
 * statements over the per-incident rows the facts projection keeps, whatever the number of incidents.
 * Whatever depends on the moment (overdue, the running cadence interval) is judged at `now`.
 */
export class AccountabilityQueries {
  private readonly statements: SqlStatements;
  private readonly events: RecordedIncidentEvents;

  constructor(
    db: Database.Database,
    private readonly policies: PolicyRegistry<CommunicationPolicy> = COMMUNICATION_POLICIES,
  ) {
    this.statements = new SqlStatements(db);
    this.events = new RecordedIncidentEvents(db);
  }

  /** SQL statements executed so far. */
  get queryCount(): number {
    return this.statements.count;
  }

  /**
   * How the incident's communication measured up at `now` to the policy version it was declared
   * under; null for an unknown incident. One incident's events, so the domain evaluates them whole.
   */
  communicationCompliance(incidentId: string, now: string): CommunicationCompliance | null {
    const events = this.events.of([incidentId]).get(incidentId)!;
    if (!events.some((event) => event.type === 'IncidentDeclared')) return null;
    return evaluateCommunicationCompliance(events, now, this.policies);
  }

  /** The domain's aggregateIncidentMetrics at `now`, as SQL aggregates of the incident facts. */
  incidentMetrics(query: MetricsQuery, now: string): MetricsGroup[] {
    const { key, join } = GROUPINGS[query.groupBy];
    const rows = this.all<MetricsRow>(
      `WITH chosen AS (
         SELECT facts.*, ${key} AS key FROM incident_facts AS facts ${join}
         WHERE facts.started_ms >= :from AND facts.started_ms < :to
       ), overdue AS (
         SELECT incident_id, COUNT(*) AS measures FROM preventive_measures
         WHERE status IN ('PLANNED', 'IN_PROGRESS') AND due_ms < :now GROUP BY incident_id
       )
       SELECT key,
         COUNT(*) AS incidentCount,
         AVG(mtta_minutes) AS mttaMinutes,
         AVG(first_update_minutes) AS timeToFirstUpdateMinutes,
         AVG(mitigate_minutes) AS timeToMitigateMinutes,
         AVG(mttr_minutes) AS mttrMinutes,
         AVG(CASE WHEN cadence_judged > 0 THEN
           (cadence_judged - cadence_closed_gaps - (running_due_ms IS NOT NULL AND running_due_ms < :now))
             * 1.0 / cadence_judged END) AS cadenceCompliance,
         AVG(final_eta_error_minutes) AS finalEtaErrorMinutes,
         AVG(first_eta_error_minutes) AS firstEtaErrorMinutes,
         AVG(eta_revisions * 1.0) AS etaRevisions,
         SUM(recurrence_judged) AS judged,
         SUM(recurrence_judged AND EXISTS (
           SELECT 1 FROM recurrence_keys AS k ${EARLIER_SAME_PAIR} AND k.incident_id = chosen.incident_id
         )) AS recurring,
         TOTAL(overdue.measures) AS overduePreventiveMeasures
       FROM chosen LEFT JOIN overdue USING (incident_id)
       ${query.groupBy === 'NONE' ? '' : 'GROUP BY key ORDER BY key'}`,
      {
        from: query.from === undefined ? Number.MIN_SAFE_INTEGER : instantMs(query.from),
        to: query.to === undefined ? Number.MAX_SAFE_INTEGER : instantMs(query.to),
        now: instantMs(now),
        window: (query.recurrenceWindowDays ?? DEFAULT_RECURRENCE_WINDOW_DAYS) * DAY_MS,
      },
    );
    // Without grouping, SQL answers one row even for no incident, which the domain's own empty
    // group describes best.
    if (rows.length === 1 && rows[0].incidentCount === 0)
      return aggregateIncidentMetrics([], { groupBy: 'NONE' });
    return rows.map(({ key, judged, recurring, ...metrics }) => ({
      key,
      metrics: {
        ...metrics,
        recurrenceRate: !judged ? null : recurring! / judged,
        overduePreventiveMeasures: Math.round(metrics.overduePreventiveMeasures),
      } satisfies IncidentMetrics,
    }));
  }

  /** Open incidents whose next customer update (as their policy demands) is late at `now`, most overdue first. */
  overdueUpdates(now: string): OverdueUpdate[] {
    const at = instantMs(now);
    const rows = this.all<{
      incidentId: string;
      dueMs: number;
      title: string;
      severity: Severity;
      status: IncidentStatus;
      lastCustomerUpdateAt: string | null;
    }>(
      `SELECT facts.incident_id AS incidentId, facts.next_update_due_ms AS dueMs,
         record ->> '$.title' AS title, record ->> '$.severity' AS severity,
         record ->> '$.status' AS status, record ->> '$.lastCustomerUpdateAt' AS lastCustomerUpdateAt
       FROM incident_facts AS facts JOIN incident_records ON incident_records.id = facts.incident_id
       WHERE facts.next_update_due_ms < :now
       ORDER BY facts.next_update_due_ms, facts.incident_id`,
      { now: at },
    );
    return rows.map(({ dueMs, ...row }) => ({
      ...row,
      nextUpdateDueAt: new Date(dueMs).toISOString(),
      overdueByMinutes: (at - dueMs) / 60_000,
    }));
  }

  /** The earliest moment at or after `now` when an open incident's next customer update falls due; null if none. */
  nextUpdateDueAfter(now: string): number | null {
    const [{ due }] = this.all<{ due: number | null }>(
      'SELECT MIN(next_update_due_ms) AS due FROM incident_facts WHERE next_update_due_ms >= :now',
      { now: instantMs(now) },
    );
    return due;
  }

  /** Root causes across incidents, newest incidents first, with their recurrences. */
  rootCauses(filter: RootCauseFilter, recurrenceWindowDays: number, first: number): RootCauseCatalog {
    const parameters = {
      category: filter.category ?? null,
      service: filter.service ?? null,
      window: recurrenceWindowDays * DAY_MS,
    };
    const matching = `
      SELECT causes.*, EXISTS (
        SELECT 1 FROM recurrence_keys AS k ${EARLIER_SAME_PAIR}
          AND k.incident_id = causes.incident_id AND k.category = causes.category
          AND (:service IS NULL OR k.service = :service)
      ) AS recurring
      FROM root_causes AS causes
      WHERE (:category IS NULL OR causes.category = :category)
        AND (:service IS NULL OR causes.incident_id IN
          (SELECT incident_id FROM incident_services WHERE service = :service))`;
    const onlyRecurring = filter.recurringOnly ? 'WHERE recurring' : '';
    const [counts] = this.all<{ totalCount: number; recurringCount: number }>(
      `SELECT COUNT(*) AS totalCount, TOTAL(recurring) AS recurringCount FROM (${matching}) ${onlyRecurring}`,
      parameters,
    );
    const rows = this.all<{ incident_id: string; started_ms: number; root_cause: string }>(
      `SELECT incident_id, started_ms, root_cause FROM (${matching}) ${onlyRecurring}
       ORDER BY started_ms DESC, incident_id, root_cause_id LIMIT :first`,
      { ...parameters, first },
    );
    const earlier = this.all<{ incident_id: string; category: string; earlier: string }>(
      `SELECT DISTINCT k.incident_id, k.category, e.incident_id AS earlier
       FROM recurrence_keys AS k ${EARLIER_SAME_PAIR}
         AND k.incident_id IN (SELECT value FROM json_each(:ids))
         AND (:service IS NULL OR k.service = :service)
       ORDER BY e.started_ms, e.incident_id`,
      {
        window: parameters.window,
        service: parameters.service,
        ids: JSON.stringify(rows.map((row) => row.incident_id)),
      },
    );
    return {
      totalCount: counts.totalCount,
      recurringCount: Math.round(counts.recurringCount),
      entries: rows.map((row) => {
        const rootCause = JSON.parse(row.root_cause) as RootCause;
        return {
          ...rootCause,
          incidentId: row.incident_id,
          incidentStartedAt: new Date(row.started_ms).toISOString(),
          recurrenceOf: earlier
            .filter((each) => each.incident_id === row.incident_id && each.category === rootCause.category)
            .map((each) => each.earlier),
        };
      }),
    };
  }

  /** Preventive measures matching the filter at `now`, the earliest due first, with the completion rate. */
  preventiveMeasures(filter: PreventiveMeasureFilter, now: string, first: number): PreventiveMeasureList {
    const conditions: string[] = [];
    const parameters: Record<string, Parameter> = { now: instantMs(now) };
    const add = (condition: string, name: string, value: Parameter) => {
      conditions.push(condition);
      parameters[name] = value;
    };
    if (filter.owner !== undefined) add('owner = :owner', 'owner', filter.owner);
    if (filter.statuses?.length) {
      add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', JSON.stringify(filter.statuses));
    }
    if (filter.incidentId !== undefined) add('incident_id = :incident', 'incident', filter.incidentId);
    if (filter.dueFrom !== undefined) add('due_ms >= :dueFrom', 'dueFrom', instantMs(filter.dueFrom));
    if (filter.dueTo !== undefined) add('due_ms < :dueTo', 'dueTo', instantMs(filter.dueTo));
    // The domain's isPreventiveMeasureOverdue.
    const overdue = "(status IN ('PLANNED', 'IN_PROGRESS') AND due_ms < :now)";
    if (filter.overdue !== undefined) conditions.push(filter.overdue ? overdue : `NOT ${overdue}`);
    const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
    const [counts] = this.all<{
      totalCount: number;
      overdueCount: number;
      completed: number;
      cancelled: number;
    }>(
      `SELECT COUNT(*) AS totalCount, TOTAL(${overdue}) AS overdueCount,
         TOTAL(status = 'COMPLETED') AS completed, TOTAL(status = 'CANCELLED') AS cancelled
       FROM preventive_measures ${where}`,
      parameters,
    );
    const rows = this.all<{ incident_id: string; measure: string; overdue: number }>(
      `SELECT incident_id, measure, ${overdue} AS overdue FROM preventive_measures ${where}
       ORDER BY due_ms, incident_id, measure_id LIMIT :first`,
      { ...parameters, first },
    );
    const notCancelled = counts.totalCount - counts.cancelled;
    return {
      totalCount: counts.totalCount,
      overdueCount: Math.round(counts.overdueCount),
      completionRate: notCancelled === 0 ? null : counts.completed / notCancelled,
      measures: rows.map((row) => ({
        ...(JSON.parse(row.measure) as PreventiveMeasure),
        incidentId: row.incident_id,
        overdue: row.overdue === 1,
      })),
    };
  }

  /** Postmortems published in [from, to) (ISO-8601; open ends when absent), the latest first. */
  postmortems(from: string | undefined, to: string | undefined, first: number): PostmortemList {
    const window = { from: msOr(from, Number.MIN_SAFE_INTEGER), to: msOr(to, Number.MAX_SAFE_INTEGER) };
    const [{ totalCount }] = this.all<{ totalCount: number }>(
      'SELECT COUNT(*) AS totalCount FROM postmortems WHERE published_ms >= :from AND published_ms < :to',
      window,
    );
    const rows = this.all<{ incident_id: string; postmortem: string }>(
      `SELECT incident_id, postmortem FROM postmortems WHERE published_ms >= :from AND published_ms < :to
       ORDER BY published_ms DESC, incident_id LIMIT :first`,
      { ...window, first },
    );
    return {
      totalCount,
      postmortems: rows.map((row) => ({
        ...(JSON.parse(row.postmortem) as Postmortem),
        incidentId: row.incident_id,
      })),
    };
  }

  /** Compensation grants across incidents, the latest first, with totals per segment over all that match. */
  compensations(filter: CompensationFilter, first: number): CompensationLedger {
    const parameters = {
      segment: filter.segment ?? null,
      from: msOr(filter.grantedFrom, Number.MIN_SAFE_INTEGER),
      to: msOr(filter.grantedTo, Number.MAX_SAFE_INTEGER),
    };
    const matching = `FROM compensations
      WHERE (:segment IS NULL OR segment = :segment) AND granted_ms >= :from AND granted_ms < :to`;
    const totals = this.all<Omit<SegmentTotal, 'amounts'>>(
      `SELECT segment, COUNT(*) AS grants, COUNT(DISTINCT incident_id) AS incidents,
         AVG(grant_data ->> '$.creditPercent') AS averageCreditPercent,
         TOTAL((grant_data ->> '$.creditPercent') IS NOT (grant_data ->> '$.suggestedPercent')) AS outsidePolicy
       ${matching} GROUP BY segment ORDER BY segment IS NULL, segment`,
      parameters,
    );
    const amounts = this.all<{ segment: string | null } & AmountTotal>(
      `SELECT segment, grant_data ->> '$.currency' AS currency, TOTAL(grant_data ->> '$.amount') AS amount
       ${matching} AND grant_data ->> '$.currency' IS NOT NULL GROUP BY segment, currency ORDER BY currency`,
      parameters,
    );
    const rows = this.all<{ incident_id: string; grant_data: string }>(
      `SELECT incident_id, grant_data ${matching} ORDER BY granted_ms DESC, incident_id, grant_id LIMIT :first`,
      { ...parameters, first },
    );
    return {
      totals: totals.map((total) => ({
        ...total,
        outsidePolicy: Math.round(total.outsidePolicy),
        amounts: amounts
          .filter((amount) => amount.segment === total.segment)
          .map(({ currency, amount }) => ({ currency, amount })),
      })),
      totalCount: totals.reduce((sum, total) => sum + total.grants, 0),
      grants: rows.map((row) => ({
        ...(JSON.parse(row.grant_data) as CompensationGrant),
        incidentId: row.incident_id,
      })),
    };
  }

  /** The incident's customer feedback with its average rating; null for an unknown incident. */
  incidentFeedback(incidentId: string): IncidentFeedback | null {
    const [incident] = this.all<{ id: string }>('SELECT id FROM incidents WHERE id = :id', {
      id: incidentId,
    });
    if (incident === undefined) return null;
    const rows = this.all<{ rating: number; feedback: string }>(
      'SELECT rating, feedback FROM customer_feedback WHERE incident_id = :id ORDER BY feedback_id',
      { id: incidentId },
    );
    const feedback = rows
      .map((row) => JSON.parse(row.feedback) as CustomerFeedback)
      .sort(
        (a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt) || compare(a.feedbackId, b.feedbackId),
      );
    return {
      incidentId,
      responses: rows.length,
      averageRating: rows.length === 0 ? null : rows.reduce((sum, row) => sum + row.rating, 0) / rows.length,
      feedback,
    };
  }

  /** Average rating per (current) severity, over the incidents started in [from, to). */
  feedbackBySeverity(from: string | undefined, to: string | undefined): SeverityFeedback[] {
    return this.all<SeverityFeedback>(
      `SELECT facts.severity AS severity, COUNT(DISTINCT facts.incident_id) AS incidents,
         COUNT(*) AS responses, AVG(feedback.rating) AS averageRating
       FROM customer_feedback AS feedback JOIN incident_facts AS facts USING (incident_id)
       WHERE facts.started_ms >= :from AND facts.started_ms < :to
       GROUP BY facts.severity ORDER BY facts.severity`,
      { from: msOr(from, Number.MIN_SAFE_INTEGER), to: msOr(to, Number.MAX_SAFE_INTEGER) },
    );
  }

  private all<Row>(sql: string, parameters: Record<string, Parameter>): Row[] {
    return this.statements.all<Row>(sql, parameters);
  }
}

function instantMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`${iso} is not an ISO-8601 instant`);
  return ms;
}

function msOr(iso: string | undefined, otherwise: number): number {
  return iso === undefined ? otherwise : instantMs(iso);
}

/** Code-point order, the same on every machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
