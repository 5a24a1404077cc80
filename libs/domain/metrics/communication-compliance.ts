/**
 * How an incident's communication measured up to the communication policy it was declared under
 * (DESIGN.md, "Metric definitions"; all on occurredAt, in minutes).
 *
 * - The policy is the version recorded with IncidentDeclared (version 1 for events written before
 *   versions were recorded), looked up in the registry: a later version never re-judges an incident.
 * - Targets follow the severity in force. Each severity the incident is at starts its own clock
 *   from the moment it came into force (at the earliest the moment the clock is about), and the
 *   earliest of those deadlines counts: an escalation to SEV1 owes SEV1 timing from the escalation
 *   on, a downgrade does not lift a deadline already running. With one severity throughout, a
 *   deadline is simply "from + target".
 * - acknowledgedWithinTarget / firstUpdateWithinTarget: true when the first IncidentAcknowledged /
 *   first PUBLIC CustomerUpdatePublished came by the deadline from the start; false when it came
 *   later, or has not come and the deadline passed while it was owed (before the first resolution,
 *   or before `now` while open); null when nothing is owed (SEV4 throughout) or not yet due.
 * - Cadence: the intervals are, in each open period (declaration or reopening to resolution), each
 *   PUBLIC update to the next, and the last one to the resolution, or to `now` while open; and, after
 *   a reopening, the reopening to the period's first PUBLIC update (with none, to the resolution, or
 *   to `now` while open). The running interval counts, and is a gap as soon as it is longer than
 *   allowed. An interval complies when it ends by the cadence deadline from its update, or by the
 *   first-update deadline from its reopening (what nextUpdateDueAt owes meanwhile); the declaration
 *   to the first update is firstUpdateWithinTarget's alone. A gap is one that does not comply,
 *   `overByMinutes` how late it ended. `cadenceCompliance` is the complying share (0…1) of the
 *   intervals judged; null when none was (no public update nor reopening, or nothing owed: SEV4).
 * - missingRequiredChannels: the policy's required channels (at the severity in force at each
 *   update) that at least one PUBLIC update left out, in order of first omission; per update in
 *   `updatesMissingChannels`.
 * - nextUpdateDueAt: while open, the cadence deadline from the last PUBLIC update of the current open
 *   period, or the first-update deadline from the period's start when it has none; null once resolved
 *   or when nothing is owed. `overdue`: `now` is past it. (The incident's own `nextUpdateDueAt` is what
 *   the last update promised customers; this one is what the policy demands.)
 */
import {
  COMMUNICATION_POLICIES,
  type CommunicationPolicy,
  type CommunicationTargets,
} from '../policies/communication-policy.js';
import type { PolicyRegistry } from '../policies/policy-registry.js';
import type { Channel, RecordedIncidentEvent, Severity } from '../incident/incident.js';
import { instant, isoInstant } from '../validation.js';
import { incidentHistory, severityAt, type IncidentHistory } from './incident-history.js';

export interface CadenceGap {
  from: string;
  to: string;
  minutes: number;
  overByMinutes: number;
}

export interface UpdateMissingChannels {
  occurredAt: string;
  missingChannels: Channel[];
}

export interface CommunicationCompliance {
  policyVersion: number;
  acknowledgedWithinTarget: boolean | null;
  firstUpdateWithinTarget: boolean | null;
  cadenceCompliance: number | null;
  /** How many intervals the cadence was judged on. */
  judgedIntervals: number;
  gaps: CadenceGap[];
  missingRequiredChannels: Channel[];
  updatesMissingChannels: UpdateMissingChannels[];
  nextUpdateDueAt: string | null;
  overdue: boolean;
}

/** `events`: the incident's, in the order recorded; `now`: the moment of the evaluation (ISO-8601). */
export function evaluateCommunicationCompliance(
  events: readonly RecordedIncidentEvent[],
  now: string,
  policies: PolicyRegistry<CommunicationPolicy> = COMMUNICATION_POLICIES,
): CommunicationCompliance {
  return complianceOf(incidentHistory(events), now, policies);
}

export function complianceOf(
  history: IncidentHistory,
  now: string,
  policies: PolicyRegistry<CommunicationPolicy> = COMMUNICATION_POLICIES,
): CommunicationCompliance {
  const policy = policies.get(history.state.communicationPolicyVersion);
  // Each severity's start parsed once: a deadline is asked for at every update.
  const severities = history.severities.map(({ from, severity }) => ({ since: instant(from), severity }));
  const deadline = (from: number, target: Target) => deadlineAfter(severities, policy, from, target);
  const updates = history.openPeriods.flatMap((period) => period.updates);
  const owedUntil = history.firstResolvedAt ?? now;
  const cadence = cadenceOf(history, now, deadline);
  const updatesMissingChannels = updates
    .map(({ occurredAt, channels }) => ({
      occurredAt,
      missingChannels: (policy.perSeverity[severityAt(history, occurredAt)]?.requiredChannels ?? []).filter(
        (channel) => !channels.includes(channel),
      ),
    }))
    .filter(({ missingChannels }) => missingChannels.length > 0);
  const nextUpdateDueAt = nextUpdateDue(history, deadline);
  return {
    policyVersion: policy.version,
    acknowledgedWithinTarget: metTarget(
      history.firstAcknowledgedAt,
      deadline(instant(history.startedAt), 'acknowledgeWithinMinutes'),
      owedUntil,
    ),
    firstUpdateWithinTarget: metTarget(
      updates[0]?.occurredAt ?? null,
      deadline(instant(history.startedAt), 'firstUpdateWithinMinutes'),
      owedUntil,
    ),
    ...cadence,
    missingRequiredChannels: [
      ...new Set(updatesMissingChannels.flatMap(({ missingChannels }) => missingChannels)),
    ],
    updatesMissingChannels,
    nextUpdateDueAt: nextUpdateDueAt === null ? null : isoInstant(nextUpdateDueAt),
    overdue: nextUpdateDueAt !== null && instant(now) > nextUpdateDueAt,
  };
}

type Target = keyof Omit<CommunicationTargets, 'requiredChannels'>;
type Deadline = (from: number, target: Target) => number | null;

/**
 * When the target, counted from `start` (milliseconds, as the result), runs out: each severity in
 * force at or after `start` starts its target when it came into force (at the earliest `start`);
 * the earliest counts. Null when no severity in force from then on has targets.
 */
function deadlineAfter(
  severities: ReadonlyArray<{ since: number; severity: Severity }>,
  policy: CommunicationPolicy,
  start: number,
  target: Target,
): number | null {
  let deadline: number | null = null;
  for (const [index, { since, severity }] of severities.entries()) {
    const next = severities[index + 1];
    const targets = policy.perSeverity[severity];
    // Over before `start` (a change at `start` itself replaces it), or nothing owed at this severity.
    if ((next !== undefined && next.since <= start) || targets === null) continue;
    const candidate = Math.max(since, start) + targets[target] * 60_000;
    deadline = deadline === null ? candidate : Math.min(deadline, candidate);
  }
  return deadline;
}

/** Met by `happenedAt`; missed when it came late, or never came and the deadline passed while owed. */
function metTarget(happenedAt: string | null, deadline: number | null, owedUntil: string): boolean | null {
  if (deadline === null) return null;
  if (happenedAt !== null && instant(happenedAt) <= deadline) return true;
  return instant(owedUntil) > deadline ? false : null;
}

function cadenceOf(
  history: IncidentHistory,
  now: string,
  deadline: Deadline,
): Pick<CommunicationCompliance, 'cadenceCompliance' | 'judgedIntervals' | 'gaps'> {
  const gaps: CadenceGap[] = [];
  let judgedIntervals = 0;
  const judge = (from: number, to: number, due: number | null) => {
    // `now` before the interval's start (a clock behind the log) leaves nothing to judge.
    if (due === null || to < from) return;
    judgedIntervals += 1;
    if (to > due) {
      gaps.push({
        from: isoInstant(from),
        to: isoInstant(to),
        minutes: (to - from) / 60_000,
        overByMinutes: (to - due) / 60_000,
      });
    }
  };
  history.openPeriods.forEach(({ openedAt, updates, resolvedAt }, period) => {
    const end = instant(resolvedAt ?? now);
    // A reopening owes its first update as nextUpdateDue says; the declaration's first update is
    // firstUpdateWithinTarget's to judge.
    if (period > 0) {
      const from = instant(openedAt);
      const to = updates.length > 0 ? instant(updates[0].occurredAt) : end;
      judge(from, to, deadline(from, 'firstUpdateWithinMinutes'));
    }
    updates.forEach(({ occurredAt }, index) => {
      const from = instant(occurredAt);
      const next = updates[index + 1];
      judge(from, next === undefined ? end : instant(next.occurredAt), deadline(from, 'updateEveryMinutes'));
    });
  });
  return {
    cadenceCompliance: judgedIntervals === 0 ? null : (judgedIntervals - gaps.length) / judgedIntervals,
    judgedIntervals,
    gaps,
  };
}

function nextUpdateDue(history: IncidentHistory, deadline: Deadline): number | null {
  const period = history.openPeriods.at(-1);
  if (period === undefined || period.resolvedAt !== null) return null;
  const last = period.updates.at(-1);
  return last === undefined
    ? deadline(instant(period.openedAt), 'firstUpdateWithinMinutes')
    : deadline(instant(last.occurredAt), 'updateEveryMinutes');
}
