import { describe, expect, it } from '@jest/globals';
import { RuleViolation } from '../rule-violation.js';
import { minutesAfterStart, START } from '../testing/fixtures.js';
import {
  communicationPolicy,
  COMMUNICATION_POLICIES,
  COMMUNICATION_POLICY_V1,
  CURRENT_COMMUNICATION_POLICY_VERSION,
} from './communication-policy.js';
import {
  compensationPolicy,
  compensationSegments,
  COMPENSATION_POLICY_V1,
  CURRENT_COMPENSATION_POLICY_VERSION,
  suggestCompensation,
  suggestCompensationFor,
} from './compensation-policy.js';
import { policyRegistry } from './policy-registry.js';

function ruleOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof RuleViolation) return error.rule;
    throw error;
  }
  throw new Error('expected a RuleViolation');
}

describe('policies', () => {
  describe('communication policy', () => {
    it('version 1 holds the default targets', () => {
      expect(CURRENT_COMMUNICATION_POLICY_VERSION).toBe(1);
      const { perSeverity } = communicationPolicy(1);
      expect(
        Object.fromEntries(
          Object.entries(perSeverity).map(([severity, targets]) => [
            severity,
            targets && [
              targets.acknowledgeWithinMinutes,
              targets.firstUpdateWithinMinutes,
              targets.updateEveryMinutes,
            ],
          ]),
        ),
      ).toEqual({ SEV1: [5, 15, 30], SEV2: [15, 30, 60], SEV3: [60, 120, 240], SEV4: null });
      expect(perSeverity.SEV1?.requiredChannels).toEqual(['EMAIL', 'SMS', 'WEBSITE']);
    });

    it('refuses an unknown version', () =>
      expect(ruleOf(() => communicationPolicy(2))).toBe('unknown-communication-policy-version'));

    it('cannot be changed in place', () => {
      expect(() => {
        (COMMUNICATION_POLICY_V1.perSeverity.SEV1!.requiredChannels as string[]).push('SOCIAL');
      }).toThrow(TypeError);
      expect(COMMUNICATION_POLICIES.versions).toEqual([1]);
    });
  });

  describe('policyRegistry', () => {
    const v = (version: number) => ({ version, note: `v${version}` });

    it('makes the highest version current and finds every version', () => {
      const registry = policyRegistry('test', [v(2), v(1), v(3)]);
      expect(registry.currentVersion).toBe(3);
      expect(registry.versions).toEqual([1, 2, 3]);
      expect(registry.get(2)).toEqual(v(2));
      expect(ruleOf(() => registry.get(4))).toBe('unknown-test-policy-version');
    });

    it('refuses versions listed twice or not whole numbers from 1 up, and an empty registry', () => {
      expect(() => policyRegistry('test', [v(1), v(1)])).toThrow();
      expect(() => policyRegistry('test', [v(0)])).toThrow();
      expect(() => policyRegistry('test', [v(1.5)])).toThrow();
      expect(() => policyRegistry('test', [])).toThrow();
    });
  });

  describe('compensation policy', () => {
    it('version 1 is current and knows three segments', () => {
      expect(CURRENT_COMPENSATION_POLICY_VERSION).toBe(1);
      expect(compensationPolicy(1)).toBe(COMPENSATION_POLICY_V1);
      expect(compensationSegments(COMPENSATION_POLICY_V1)).toEqual(['ENTERPRISE', 'BUSINESS', 'STANDARD']);
      expect(ruleOf(() => compensationPolicy(7))).toBe('unknown-compensation-policy-version');
    });

    it.each([
      [0, 'ENTERPRISE', 0],
      [29.9, 'ENTERPRISE', 0],
      [30, 'ENTERPRISE', 10],
      [30, 'BUSINESS', 5],
      [30, 'STANDARD', 0],
      [119, 'BUSINESS', 5],
      [120, 'ENTERPRISE', 25],
      [120, 'STANDARD', 5],
      [480, 'ENTERPRISE', 50],
      [10_000, 'BUSINESS', 25],
      [600, null, 10],
      [600, 'constructor', 10],
    ])('suggests for %p minutes and %p: %p %', (minutes, segment, percent) =>
      expect(suggestCompensation(COMPENSATION_POLICY_V1, minutes, segment)).toBe(percent),
    );

    it('suggests for an incident by its own version and outage, once resolved', () => {
      const incident = { startedAt: START, resolvedAt: minutesAfterStart(150), compensationPolicyVersion: 1 };
      expect(suggestCompensationFor(incident, 'ENTERPRISE')).toEqual({
        policyVersion: 1,
        outageMinutes: 150,
        suggestedPercent: 25,
      });
      expect(suggestCompensationFor({ ...incident, resolvedAt: null }, 'ENTERPRISE')).toBeNull();
    });
  });
});
