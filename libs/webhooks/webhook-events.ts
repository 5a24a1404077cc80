import type { StoredEvent } from '../event-store/index.js';
import { FETCH_BAD_PORTS } from './http-post.js';
import { refusalOfUrlHost } from './refused-addresses.js';

/** Registrations are events of stream `webhook-<id>`, so that who registered what is audited. */
export const WEBHOOK_STREAM_PREFIX = 'webhook-';

export function webhookStreamId(webhookId: string): string {
  return `${WEBHOOK_STREAM_PREFIX}${webhookId}`;
}

/** The secret is not part of it: see WebhookRegistry. */
export interface WebhookRegisteredData extends Record<string, unknown> {
  url: string;
  /** Empty: every type. */
  eventTypes: string[];
  /** Only the events of this incident's stream; null: every stream. */
  incidentId: string | null;
}

export const WEBHOOK_REGISTERED = 'WebhookRegistered';
export const WEBHOOK_REMOVED = 'WebhookRemoved';

/** The incident an event belongs to: the id in its `incident-<id>` stream, else null. */
export function incidentIdOf(event: Pick<StoredEvent, 'streamId'>): string | null {
  return event.streamId.startsWith('incident-') ? event.streamId.slice('incident-'.length) : null;
}

/** A webhook URL is unacceptable (not http(s), with credentials, or at a refused address). */
export class InvalidWebhookUrlError extends Error {
  /** `problem`: what is wrong with the URL, e.g. "must not contain credentials". */
  constructor(readonly problem: string) {
    super(`url ${problem}`);
    this.name = 'InvalidWebhookUrlError';
  }
}

/**
 * The URL, normalised, if it is an absolute http(s) URL without credentials, on a port deliveries
 * connect to (not one of FETCH_BAD_PORTS), and not written with an address they refuse (link-local,
 * cloud metadata: refused-addresses.ts). Credentials are refused because the URL is recorded in
 * the log and listed to admins; the secret signs instead.
 */
export function checkWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidWebhookUrlError('must be an absolute http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidWebhookUrlError(`must use http or https, not ${parsed.protocol.slice(0, -1)}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidWebhookUrlError('must not contain credentials; receivers verify the signature instead');
  }
  if (parsed.port !== '' && FETCH_BAD_PORTS.has(Number(parsed.port))) {
    throw new InvalidWebhookUrlError(`has port ${parsed.port}, one HTTP clients refuse to connect to`);
  }
  const refusal = refusalOfUrlHost(parsed);
  if (refusal) {
    throw new InvalidWebhookUrlError(`must not target ${refusal.address}: it is ${refusal.why}`);
  }
  return parsed.href;
}

/** The JSON body of a delivery: the event's envelope, with its position as a decimal string. */
export function deliveryBody(event: StoredEvent): string {
  return JSON.stringify({ ...event, globalPosition: event.globalPosition.toString() });
}
