import {
  evolve,
  initialIncidentState,
  type Channel,
  type RecordedIncidentEvent,
  type IncidentState,
  type Severity,
} from '../incident/incident.js';
import { instant } from '../validation.js';

export interface PublicUpdate {
  occurredAt: string;
  channels: Channel[];
}

/** From the declaration or a reopening to the resolution that ended it; `resolvedAt` null: still open. */
export interface OpenPeriod {
  openedAt: string;
  resolvedAt: string | null;
  /** Its PUBLIC customer updates. */
  updates: PublicUpdate[];
}

export interface SeverityInForce {
  from: string;
  severity: Severity;
}

export interface ResolutionEstimate {
  givenAt: string;
  estimatedResolutionAt: string;
}

/**
 * One incident's events read in the world's order (occurredAt; events at the same moment in the
 * order recorded), which every metric is measured on: an entry recorded late counts when it happened.
 */
export interface IncidentHistory {
  /** The domain's own state after every event, folded in the order recorded. */
  state: IncidentState;
  startedAt: string;
  /** Each severity from the moment it came into force; the first is the declared one, from the start. */
  severities: SeverityInForce[];
  firstAcknowledgedAt: string | null;
  openPeriods: OpenPeriod[];
  firstMitigatedAt: string | null;
  firstResolvedAt: string | null;
  /** The resolution of the last open period; null while the incident is open. */
  finalResolvedAt: string | null;
  estimates: ResolutionEstimate[];
}

/**
 * Throws Error when there is no IncidentDeclared among the events. `state`: the events already
 * folded, when the caller has it (a projection that folds them anyway), to spare folding them twice.
 */
export function incidentHistory(
  events: readonly RecordedIncidentEvent[],
  state: IncidentState = events.reduce(evolve, initialIncidentState()),
): IncidentHistory {
  if (!state.exists || state.startedAt === null) throw new Error('The events hold no IncidentDeclared');
  const inWorldOrder = events
    .map((event, index) => ({ event, at: instant(event.occurredAt), index }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ event }) => event);

  const history: IncidentHistory = {
    state,
    startedAt: state.startedAt,
    severities: [],
    firstAcknowledgedAt: null,
    openPeriods: [],
    firstMitigatedAt: null,
    firstResolvedAt: null,
    finalResolvedAt: null,
    estimates: [],
  };
  for (const event of inWorldOrder) {
    const period = history.openPeriods.at(-1);
    switch (event.type) {
      case 'IncidentDeclared':
        history.severities.push({ from: event.occurredAt, severity: event.data.severity });
        history.openPeriods.push({ openedAt: event.occurredAt, resolvedAt: null, updates: [] });
        break;
      case 'SeverityChanged':
        history.severities.push({ from: event.occurredAt, severity: event.data.to });
        break;
      case 'IncidentAcknowledged':
        history.firstAcknowledgedAt ??= event.occurredAt;
        break;
      case 'CustomerUpdatePublished':
        if (event.data.visibility === 'PUBLIC') {
          period?.updates.push({ occurredAt: event.occurredAt, channels: event.data.channels });
        }
        break;
      case 'ResolutionEstimateSet':
        history.estimates.push({
          givenAt: event.occurredAt,
          estimatedResolutionAt: event.data.estimatedResolutionAt,
        });
        break;
      case 'IncidentMitigated':
        history.firstMitigatedAt ??= event.occurredAt;
        break;
      case 'IncidentResolved':
        history.firstResolvedAt ??= event.occurredAt;
        if (period !== undefined) period.resolvedAt = event.occurredAt;
        break;
      case 'IncidentReopened':
        history.openPeriods.push({ openedAt: event.occurredAt, resolvedAt: null, updates: [] });
        break;
      default:
        // The other events measure nothing in time; what they say is in `state`.
        break;
    }
  }
  history.finalResolvedAt = history.openPeriods.at(-1)?.resolvedAt ?? null;
  return history;
}

/** The severity in force at that moment (a change at that very moment included). */
export function severityAt(history: IncidentHistory, at: string): Severity {
  const moment = instant(at);
  return (
    history.severities.findLast(({ from }) => instant(from) <= moment)?.severity ??
    history.severities[0].severity
  );
}
