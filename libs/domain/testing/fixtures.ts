import type { CommandMetadata, Recorded } from '../decider.js';
import type { DomainEvent } from '../decider.js';

/** The fixed moment the specs' incidents start at. */
export const START = '2024-05-01T10:00:00.000Z';

/** START plus that many minutes (fractions too), in the canonical UTC form. */
export function minutesAfterStart(minutes: number): string {
  return new Date(Date.parse(START) + minutes * 60_000).toISOString();
}

/** The event as read back from its stream. */
export function recorded<Event extends DomainEvent>(
  event: Event,
  occurredAt = START,
  actor = 'alice',
): Recorded<Event> {
  return { ...event, occurredAt, actor } as Recorded<Event>;
}

export function commandMetadata(occurredAt: string, now: string, actor = 'bob'): CommandMetadata {
  return { actor, occurredAt, now };
}
