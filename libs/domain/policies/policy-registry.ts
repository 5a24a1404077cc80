import { RuleViolation } from '../rule-violation.js';

/**
 * A policy is data with a version. A published version never changes: a change is a new version,
 * and every incident keeps the version it was declared under, so that a later version never
 * changes how a past incident is judged.
 */
export interface VersionedPolicy {
  readonly version: number;
}

/** The versions of one kind of policy. */
export interface PolicyRegistry<Policy extends VersionedPolicy> {
  /** The version for new incidents: the highest one. */
  readonly currentVersion: number;
  readonly versions: readonly number[];
  /** The policy of that version; throws RuleViolation `unknown-<kind>-policy-version` when there is none. */
  get(version: number): Policy;
}

/**
 * Incidents declared before versions were recorded (IncidentDeclared without the field) were
 * declared under version 1, the only one there was; reading them as "current" instead would let
 * a later version re-judge them.
 */
export const UNRECORDED_POLICY_VERSION = 1;

/** `kind` names the rule: "communication" → `unknown-communication-policy-version`. Policies are frozen. */
export function policyRegistry<Policy extends VersionedPolicy>(
  kind: string,
  policies: readonly Policy[],
): PolicyRegistry<Policy> {
  const byVersion = new Map(policies.map((policy) => [policy.version, deepFreeze(policy)]));
  if (
    byVersion.size !== policies.length ||
    policies.some(({ version }) => !Number.isInteger(version) || version < 1)
  ) {
    throw new Error(`${kind} policy versions must be distinct whole numbers from 1 up`);
  }
  const versions = [...byVersion.keys()].sort((a, b) => a - b);
  if (versions.length === 0) throw new Error(`No ${kind} policy`);
  return {
    currentVersion: versions.at(-1)!,
    versions,
    get(version: number): Policy {
      const policy = byVersion.get(version);
      if (policy === undefined) {
        throw new RuleViolation(
          `unknown-${kind}-policy-version`,
          `There is no ${kind} policy version ${version} (known: ${versions.join(', ')})`,
        );
      }
      return policy;
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    Object.values(value).forEach(deepFreeze);
  }
  return value;
}
