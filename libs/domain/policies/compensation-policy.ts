import type { IncidentState } from '../incident/incident.js';
import { minutesBetween } from '../validation.js';
import { policyRegistry, type PolicyRegistry } from './policy-registry.js';

/** From this outage duration on (inclusive), the credit per customer segment. */
export interface CompensationBand {
  fromOutageMinutes: number;
  /** Credit in percent of the period's fee, per segment the policy knows. */
  creditPercentBySegment: Record<string, number>;
}

/**
 * Service credit by outage duration and customer segment. The outage lasts from the incident's
 * start to its (final) resolution. `bands` ascend by `fromOutageMinutes`, the first from 0, and
 * each band lists every segment of the policy. A grant to a single customer is judged against
 * `defaultSegment`.
 */
export interface CompensationPolicy {
  version: number;
  defaultSegment: string;
  bands: CompensationBand[];
}

/** Version 1: nothing under 30 minutes; then 10/5/0, from 2 h 25/10/5, from 8 h 50/25/10 percent. */
export const COMPENSATION_POLICY_V1: CompensationPolicy = {
  version: 1,
  defaultSegment: 'STANDARD',
  bands: [
    { fromOutageMinutes: 0, creditPercentBySegment: { ENTERPRISE: 0, BUSINESS: 0, STANDARD: 0 } },
    { fromOutageMinutes: 30, creditPercentBySegment: { ENTERPRISE: 10, BUSINESS: 5, STANDARD: 0 } },
    { fromOutageMinutes: 120, creditPercentBySegment: { ENTERPRISE: 25, BUSINESS: 10, STANDARD: 5 } },
    { fromOutageMinutes: 480, creditPercentBySegment: { ENTERPRISE: 50, BUSINESS: 25, STANDARD: 10 } },
  ],
};

/** Every version ever published; add new ones, never edit one. */
export const COMPENSATION_POLICIES: PolicyRegistry<CompensationPolicy> = policyRegistry('compensation', [
  COMPENSATION_POLICY_V1,
]);

export const CURRENT_COMPENSATION_POLICY_VERSION = COMPENSATION_POLICIES.currentVersion;

/** Throws RuleViolation `unknown-compensation-policy-version`. */
export function compensationPolicy(version: number): CompensationPolicy {
  return COMPENSATION_POLICIES.get(version);
}

/** The segments the policy knows (own keys only: segment names are free text). */
export function compensationSegments(policy: CompensationPolicy): string[] {
  return Object.keys(policy.bands[0].creditPercentBySegment);
}

/**
 * The credit in percent the policy gives for an outage of that many minutes. `segment` null (a
 * single customer) or unknown to the policy: the policy's default segment.
 */
export function suggestCompensation(
  policy: CompensationPolicy,
  outageMinutes: number,
  segment: string | null,
): number {
  const band =
    policy.bands.findLast(({ fromOutageMinutes }) => fromOutageMinutes <= outageMinutes) ?? policy.bands[0];
  const known = segment !== null && Object.hasOwn(band.creditPercentBySegment, segment);
  return band.creditPercentBySegment[known ? segment : policy.defaultSegment];
}

export interface CompensationSuggestion {
  policyVersion: number;
  outageMinutes: number;
  suggestedPercent: number;
}

/**
 * What the incident's own policy version suggests for a segment (null: a single customer); null
 * while the incident is not resolved, as the outage's length is not known yet.
 */
export function suggestCompensationFor(
  state: Pick<IncidentState, 'startedAt' | 'resolvedAt' | 'compensationPolicyVersion'>,
  segment: string | null,
): CompensationSuggestion | null {
  if (state.startedAt === null || state.resolvedAt === null) return null;
  const outageMinutes = minutesBetween(state.startedAt, state.resolvedAt);
  return {
    policyVersion: state.compensationPolicyVersion,
    outageMinutes,
    suggestedPercent: suggestCompensation(
      compensationPolicy(state.compensationPolicyVersion),
      outageMinutes,
      segment,
    ),
  };
}
