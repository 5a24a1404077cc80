import type { SqlConnection, SqlStatement } from '../sql-connection.js';
import {
  COMMUNICATION_POLICIES,
  complianceOf,
  incidentHistory,
  measureHistory,
  RuleViolation,
  type CommunicationCompliance,
  type CommunicationPolicy,
  type IncidentHistory,
  type IncidentMetricValues,
  type IncidentState,
  type RecordedIncidentEvent,
  type PolicyRegistry,
} from '../../domain/index.js';
import type { IncidentStreamEvent, Projection } from './incident-stream-event.js';
import { PER_INCIDENT_FACTS_TABLES } from '../read-model-db.js';
import { RecordedIncidentEvents } from './recorded-incident-events.js';

/** Incidents whose events are read back from the timeline in one statement. */
const READ_BACK_CHUNK = 500;

/**
 * What the accountability queries read: per incident, the metric facts (the domain's
 * measureHistory and complianceOf), its root causes, preventive measures, postmortem,
 * compensation grants and feedback as the domain's state holds them, and its recurrence keys.
 *
 * An event can change any of these (a backdated update shifts the cadence, a revision the
 * category), so `apply` notes the incidents touched, and `flush` rewrites each one's rows from its
 * whole stream: held in memory when this batch (or rebuild) saw it from its first event, up to
 * `maxHeldEvents`, else read back from the timeline, whose index must then exist (the rebuild
 * creates the indexes before flushing).
 */
export class IncidentFactsProjection implements Projection {
  /** The incidents touched since the last flush, with their events when all are held here. */
  private readonly touched = new Map<string, RecordedIncidentEvent[] | null>();
  private heldEvents = 0;
  private readonly events: RecordedIncidentEvents;
  private readonly deletes: SqlStatement<[string]>[];
  private readonly insertFacts: SqlStatement;
  private readonly insertRecurrenceKey: SqlStatement;
  private readonly insertRootCause: SqlStatement;
  private readonly insertMeasure: SqlStatement;
  private readonly insertPostmortem: SqlStatement;
  private readonly insertCompensation: SqlStatement;
  private readonly insertFeedback: SqlStatement;

  /**
   * `foldedState`: the incident's state as the incidents projection folded it from the same
   * events, when it still holds it (the domain's fold is the costliest step of a rebuild).
   * `maxHeldEvents`: the most events held in memory between flushes (about 1 KiB each).
   */
  constructor(
    db: SqlConnection,
    private readonly foldedState: (incidentId: string) => IncidentState | undefined,
    private readonly maxHeldEvents: number,
    private readonly policies: PolicyRegistry<CommunicationPolicy> = COMMUNICATION_POLICIES,
  ) {
    this.events = new RecordedIncidentEvents(db);
    this.deletes = PER_INCIDENT_FACTS_TABLES.map((table) =>
      db.prepare(`DELETE FROM ${table} WHERE incident_id = ?`),
    );
    this.insertFacts = db.prepare(
      `INSERT INTO incident_facts (incident_id, severity, started_ms, month, mtta_minutes,
         first_update_minutes, mitigate_minutes, mttr_minutes, first_eta_error_minutes,
         final_eta_error_minutes, eta_revisions, cadence_judged, cadence_closed_gaps, running_due_ms,
         next_update_due_ms, recurrence_judged)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertRecurrenceKey = db.prepare(
      'INSERT INTO recurrence_keys (category, service, started_ms, incident_id) VALUES (?, ?, ?, ?)',
    );
    this.insertRootCause = db.prepare(
      `INSERT INTO root_causes (incident_id, root_cause_id, category, started_ms, root_cause)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.insertMeasure = db.prepare(
      `INSERT INTO preventive_measures (incident_id, measure_id, owner, status, due_ms, measure)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.insertPostmortem = db.prepare(
      'INSERT INTO postmortems (incident_id, published_ms, postmortem) VALUES (?, ?, ?)',
    );
    this.insertCompensation = db.prepare(
      `INSERT INTO compensations (incident_id, grant_id, segment, granted_ms, grant_data)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.insertFeedback = db.prepare(
      'INSERT INTO customer_feedback (incident_id, feedback_id, rating, feedback) VALUES (?, ?, ?, ?)',
    );
  }

  apply(events: readonly IncidentStreamEvent[]): void {
    for (const { incidentId, stored, event } of events) {
      if (event === null) continue;
      let held = this.touched.get(incidentId);
      if (held === undefined) {
        // Seen from its first event on: the whole stream is at hand, nothing to read back.
        held = stored.streamVersion === 1 ? [] : null;
        this.touched.set(incidentId, held);
      }
      if (held === null) continue;
      held.push(event);
      if (++this.heldEvents > this.maxHeldEvents) this.letGoOfHeldEvents();
    }
  }

  flush(): void {
    const touched = [...this.touched];
    for (let start = 0; start < touched.length; start += READ_BACK_CHUNK) {
      const chunk = touched.slice(start, start + READ_BACK_CHUNK);
      const readBack = this.events.of(
        chunk.filter(([, held]) => held === null).map(([incidentId]) => incidentId),
      );
      for (const [incidentId, held] of chunk) {
        // An incident seen from its first event on has no rows yet to delete.
        if (held === null) for (const statement of this.deletes) statement.run(incidentId);
        this.rewrite(incidentId, held ?? readBack.get(incidentId)!);
      }
    }
    this.touched.clear();
    this.heldEvents = 0;
  }

  /** Whether `flush` will read incidents' events back from the timeline. */
  readsBack(): boolean {
    for (const held of this.touched.values()) if (held === null) return true;
    return false;
  }

  /** A long rebuild reads back what it cannot hold: its incidents' rows are still to write. */
  private letGoOfHeldEvents(): void {
    for (const incidentId of this.touched.keys()) this.touched.set(incidentId, null);
    this.heldEvents = 0;
  }

  private rewrite(incidentId: string, events: RecordedIncidentEvent[]): void {
    // Events of an incident never declared are skipped, as the incidents projection skips them.
    if (!events.some((event) => event.type === 'IncidentDeclared')) return;
    const history = incidentHistory(events, this.foldedState(incidentId));
    const started = Date.parse(history.startedAt);
    this.writeCatalogs(incidentId, history, started);
    // Judged as of the incident's latest occurredAt, never the wall clock: see incident_facts.
    const asOf = events.reduce((latest, event) => Math.max(latest, Date.parse(event.occurredAt)), -Infinity);
    const now = new Date(asOf).toISOString();
    let compliance: CommunicationCompliance;
    try {
      compliance = complianceOf(history, now, this.policies);
    } catch (error) {
      // Declared under a policy version this release does not know (a newer release wrote it):
      // there is nothing to judge it by, and a failing batch would stop every projection.
      if (error instanceof RuleViolation && error.rule === 'unknown-communication-policy-version') return;
      throw error;
    }
    this.writeFacts(incidentId, history, compliance, measureHistory(history, compliance, now), started, asOf);
  }

  private writeFacts(
    incidentId: string,
    history: IncidentHistory,
    compliance: CommunicationCompliance,
    metrics: IncidentMetricValues,
    started: number,
    asOf: number,
  ): void {
    const nextUpdateDue = compliance.nextUpdateDueAt === null ? null : Date.parse(compliance.nextUpdateDueAt);
    // While open, complianceOf judges an interval running until now (from the period's last public
    // update, or from a reopening that has none yet) whose deadline is nextUpdateDueAt: judged at
    // `asOf` above, re-judged at query time. A declaration with no update yet has none running.
    const period = history.openPeriods.at(-1)!;
    const reopened = history.openPeriods.length > 1;
    const runningDue =
      period.resolvedAt === null && (period.updates.length > 0 || reopened) ? nextUpdateDue : null;
    const runningWasGap = runningDue !== null && asOf > runningDue ? 1 : 0;
    const recurrenceCategories = metrics.rootCauseCategories.filter(
      // The domain's rule: an UNKNOWN cause is not known to come back.
      (category) => category !== 'UNKNOWN',
    );
    this.insertFacts.run(
      incidentId,
      metrics.severity,
      started,
      new Date(started).toISOString().slice(0, 7),
      metrics.mttaMinutes,
      metrics.timeToFirstUpdateMinutes,
      metrics.timeToMitigateMinutes,
      metrics.mttrMinutes,
      metrics.firstEtaErrorMinutes,
      metrics.finalEtaErrorMinutes,
      metrics.etaRevisions,
      compliance.judgedIntervals,
      compliance.gaps.length - runningWasGap,
      runningDue,
      nextUpdateDue,
      recurrenceCategories.length > 0 && metrics.services.length > 0 ? 1 : 0,
    );
    for (const category of metrics.rootCauseCategories) {
      for (const service of metrics.services) {
        this.insertRecurrenceKey.run(category, service, started, incidentId);
      }
    }
  }

  private writeCatalogs(incidentId: string, { state }: IncidentHistory, started: number): void {
    for (const rootCause of state.rootCauses) {
      this.insertRootCause.run(
        incidentId,
        rootCause.rootCauseId,
        rootCause.category,
        started,
        JSON.stringify(rootCause),
      );
    }
    for (const measure of state.preventiveMeasures) {
      this.insertMeasure.run(
        incidentId,
        measure.measureId,
        measure.owner,
        measure.status,
        Date.parse(measure.dueDate),
        JSON.stringify(measure),
      );
    }
    if (state.postmortem !== null) {
      this.insertPostmortem.run(
        incidentId,
        Date.parse(state.postmortem.publishedAt),
        JSON.stringify(state.postmortem),
      );
    }
    for (const grant of state.compensations) {
      this.insertCompensation.run(
        incidentId,
        grant.grantId,
        grant.segment,
        Date.parse(grant.grantedAt),
        JSON.stringify(grant),
      );
    }
    for (const feedback of state.feedback) {
      this.insertFeedback.run(incidentId, feedback.feedbackId, feedback.rating, JSON.stringify(feedback));
    }
  }
}
