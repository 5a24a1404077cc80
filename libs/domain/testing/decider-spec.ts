import assert from 'node:assert/strict';
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';

/**
 * Given/When/Then for deciders:
 *
 *   const given = DeciderSpecification.for(incidentDecider);
 *   given([declared]).when(acknowledge).then([{ type: 'IncidentAcknowledged', data: {} }]);
 *   given([]).when(acknowledge).thenThrows('incident-not-found');
 *
 * Events, state and command are deep-frozen on the way, so a decide or evolve that mutates its
 * input fails the spec instead of passing by accident. Assertions use node:assert, so the helper
 * works under any test runner.
 */
export const DeciderSpecification = {
  for<Command, Event, State, RecordedEvent>(decider: Decider<Command, Event, State, RecordedEvent>) {
    return (givenEvents: RecordedEvent[]) => ({
      when(command: Command) {
        const decide = () =>
          decider.decide(
            deepFreeze(command),
            givenEvents.reduce(
              (state, event) => deepFreeze(decider.evolve(state, deepFreeze(event))),
              deepFreeze(decider.initialState()),
            ),
          );
        return {
          then(expectedEvents: Event[]): void {
            assert.deepStrictEqual(decide(), expectedEvents);
          },
          thenThrows(rule: string): void {
            let events: Event[];
            try {
              events = decide();
            } catch (error) {
              if (!(error instanceof RuleViolation)) throw error;
              assert.equal(error.rule, rule, `expected rule ${rule}, got ${error.rule}: ${error.message}`);
              return;
            }
            assert.fail(`expected rule ${rule}, got events ${JSON.stringify(events)}`);
          },
        };
      },
    });
  },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    Object.values(value).forEach(deepFreeze);
  }
  return value;
}
