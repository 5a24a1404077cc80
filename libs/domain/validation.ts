import type { CommandMetadata } from './decider.js';
import { RuleViolation } from './rule-violation.js';

/** The text trimmed; blank text breaks `rule`. */
export function requiredText(value: string, rule: string, what: string): string {
  const text = value.trim();
  if (text === '') throw new RuleViolation(rule, `${what} must not be empty`);
  return text;
}

/** The text trimmed, or null when absent or blank: a blank optional field says nothing. */
export function optionalText(value: string | null | undefined): string | null {
  const text = value?.trim() ?? '';
  return text === '' ? null : text;
}

export function rejectDuplicates<T>(items: readonly T[], rule: string, what: string): void {
  const duplicate = items.find((item, index) => items.indexOf(item) !== index);
  if (duplicate !== undefined) throw new RuleViolation(rule, `${what} ${String(duplicate)} is listed twice`);
}

// An instant without a zone is ambiguous, so the zone (Z or an offset) is required.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an ISO-8601 instant. */
export function instant(iso: string): number {
  const milliseconds = ISO_INSTANT.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(milliseconds)) {
    throw new RuleViolation('invalid-timestamp', `${iso} is not an ISO-8601 instant with a time zone`);
  }
  return milliseconds;
}

/** The canonical form of instants in event data (UTC, milliseconds), so that they sort as strings. */
export function isoInstant(milliseconds: number): string {
  return new Date(milliseconds).toISOString();
}

/** Minutes from one ISO-8601 instant to another (negative when `to` is earlier), as a fraction. */
export function minutesBetween(from: string, to: string): number {
  return (instant(to) - instant(from)) / 60_000;
}

/** The command's occurredAt in milliseconds, once checked that it is not in the future. */
export function occurredAtNotInFuture({ occurredAt, now }: CommandMetadata): number {
  const occurred = instant(occurredAt);
  if (occurred > instant(now)) {
    throw new RuleViolation('occurred-at-in-future', `occurredAt ${occurredAt} is later than now (${now})`);
  }
  return occurred;
}
