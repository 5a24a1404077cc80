import type { Channel, Severity } from '../incident/incident.js';
import { policyRegistry, type PolicyRegistry } from './policy-registry.js';

/** What customers are owed at one severity. */
export interface CommunicationTargets {
  /** From the moment the incident is at this severity (at the earliest its start) to IncidentAcknowledged. */
  acknowledgeWithinMinutes: number;
  /** From the same moment to the first PUBLIC customer update. */
  firstUpdateWithinMinutes: number;
  /** The longest a PUBLIC customer update may be followed by none (the cadence). */
  updateEveryMinutes: number;
  /** Every PUBLIC customer update goes out on each of these. */
  requiredChannels: Channel[];
}

/** Per severity; null: nothing is owed at that severity. */
export interface CommunicationPolicy {
  version: number;
  perSeverity: Record<Severity, CommunicationTargets | null>;
}

/** Version 1: SEV1 5/15/30 minutes, SEV2 15/30/60, SEV3 60/120/240, SEV4 nothing. */
export const COMMUNICATION_POLICY_V1: CommunicationPolicy = {
  version: 1,
  perSeverity: {
    SEV1: {
      acknowledgeWithinMinutes: 5,
      firstUpdateWithinMinutes: 15,
      updateEveryMinutes: 30,
      requiredChannels: ['EMAIL', 'SMS', 'WEBSITE'],
    },
    SEV2: {
      acknowledgeWithinMinutes: 15,
      firstUpdateWithinMinutes: 30,
      updateEveryMinutes: 60,
      requiredChannels: ['EMAIL', 'WEBSITE'],
    },
    SEV3: {
      acknowledgeWithinMinutes: 60,
      firstUpdateWithinMinutes: 120,
      updateEveryMinutes: 240,
      requiredChannels: ['WEBSITE'],
    },
    SEV4: null,
  },
};

/** Every version ever published; add new ones, never edit one. */
export const COMMUNICATION_POLICIES: PolicyRegistry<CommunicationPolicy> = policyRegistry('communication', [
  COMMUNICATION_POLICY_V1,
]);

export const CURRENT_COMMUNICATION_POLICY_VERSION = COMMUNICATION_POLICIES.currentVersion;

/** Throws RuleViolation `unknown-communication-policy-version`. */
export function communicationPolicy(version: number): CommunicationPolicy {
  return COMMUNICATION_POLICIES.get(version);
}
