import { decide, type IncidentCommand } from '../incident/incident.decide.js';
import { evolve, initialIncidentState, type RecordedIncidentEvent } from '../incident/incident.js';
import { minutesAfterStart } from './fixtures.js';

/** A command without its metadata, at so many minutes after START. */
export type ScriptStep = [minutesAfterStart: number, command: Pick<IncidentCommand, 'type' | 'data'>];

/**
 * The events an incident records when the steps are decided one after the other, each as it
 * happens (occurredAt = now), so that a scripted incident is one the rules accept.
 */
export function scriptIncident(steps: readonly ScriptStep[], actor = 'alice'): RecordedIncidentEvent[] {
  let state = initialIncidentState();
  const events: RecordedIncidentEvent[] = [];
  for (const [minutes, body] of steps) {
    const at = minutesAfterStart(minutes);
    const command = { ...body, metadata: { actor, occurredAt: at, now: at } } as IncidentCommand;
    for (const event of decide(command, state)) {
      const stored = { ...event, occurredAt: at, actor } as RecordedIncidentEvent;
      events.push(stored);
      state = evolve(state, stored);
    }
  }
  return events;
}
