import type { StoredEvent } from '../event-store/index.js';
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
 * Ports the Fetch standard calls bad (mail, FTP, SSH, DNS…): fetch refuses to connect to them, so
 * every delivery to such a URL would fail.
 */
const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * The URL, normalised, if it is an absolute http(s) URL without credentials, on a port fetch
 * connects to, and not written with an address deliveries refuse (link-local, cloud metadata:
 * refused-addresses.ts). Credentials are refused because the URL is recorded in the log and listed
 * to admins; the secret signs instead.
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
