import { createHash } from 'node:crypto';
import type { StoredEvent } from './event-store.js';

/** The "previous hash" of a stream's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every depth, so that the same content always gives the
 * same bytes whatever order it was built in. Undefined members are dropped, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/** The fields an event's hash covers: everything but its global position (store-specific) and the hash. */
export type HashedContent = Omit<StoredEvent, 'globalPosition' | 'hash'>;

export function hashedContent(event: HashedContent): HashedContent {
  const {
    eventId,
    type,
    schemaVersion,
    data,
    occurredAt,
    actor,
    correlationId,
    causationId,
    idempotencyKey,
    requestFingerprint,
    streamId,
    streamVersion,
    recordedAt,
  } = event;
  return {
    eventId,
    type,
    schemaVersion,
    data,
    occurredAt,
    actor,
    correlationId,
    causationId,
    idempotencyKey,
    requestFingerprint,
    streamId,
    streamVersion,
    recordedAt,
  };
}

/** hash = SHA-256(previous hash in the stream ‖ canonical content of this event), hex. */
export function chainHash(previousHash: string, event: HashedContent): string {
  return createHash('sha256')
    .update(previousHash)
    .update(canonicalJson(hashedContent(event)))
    .digest('hex');
}
