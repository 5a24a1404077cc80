import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { lookupRefusing, refusalOfUrlHost, RefusedAddressError } from './refused-addresses.js';

/**
 * Ports the Fetch standard calls bad (mail, FTP, SSH, DNS…), which HTTP clients refuse to connect
 * to: another protocol's server could take the request for commands of its own (a POST body read by
 * a mail server as mail). node:http connects to any port, so postJson refuses them itself.
 */
export const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** What one HTTP attempt came to, as the delivery log records it. */
export interface PostOutcome {
  /** The response's status; null when none came (refused, timed out, reset). */
  statusCode: number | null;
  /** Null when the receiver answered 2xx with a small enough body. */
  error: string | null;
  latencyMs: number;
}

export interface PostOptions {
  timeoutMs: number;
  /** The most response bytes read; a longer response is cut off and counts as a failure. */
  maxResponseBytes: number;
  /** Aborts the request (shutdown); the outcome is then an error. */
  signal?: AbortSignal;
}

/**
 * POSTs a JSON body and never throws. Redirects are not followed (a 3xx is a failure: the
 * registered URL is the one to call), the whole exchange has a deadline, and at most
 * `maxResponseBytes` of the response are read: a receiver can neither hold a delivery forever
 * nor make the server buffer a huge answer. Link-local and cloud metadata addresses are refused
 * (refused-addresses.ts), a host name's as the connection is made.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
): Promise<PostOutcome> {
  const started = performance.now();
  // Not AbortSignal.any/timeout: on Node 20, every signal derived from the long-lived shutdown
  // signal stays referenced by it, so memory would grow with every attempt. This request's own
  // controller, a listener removed and a timer cleared afterwards, leave nothing behind.
  const request = new AbortController();
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    request.abort();
  }, options.timeoutMs);
  const stop = () => request.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) request.abort();
  let statusCode: number | null = null;
  let error: string | null = null;
  let exchange: ClientRequest | undefined;
  try {
    const target = new URL(url);
    // As fetch did: node:http would connect to them, and send the credentials (Basic auth).
    if (FETCH_BAD_PORTS.has(Number(target.port))) throw new Error('bad port');
    if (target.username !== '' || target.password !== '') throw new Error('URL includes credentials');
    // Node does not call `lookup` for a host written as an IP address.
    const refusal = refusalOfUrlHost(target);
    if (refusal) throw new RefusedAddressError(refusal);
    exchange = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'incident-ledger',
        ...headers,
      },
      // A connection of its own, closed after the answer: a pooled one could have been opened
      // without lookupRefusing, and none is left open behind an attempt.
      agent: false,
      lookup: lookupRefusing,
      signal: request.signal,
    });
    const response = await send(exchange, body);
    statusCode = response.statusCode!;
    await readAtMost(response, options.maxResponseBytes);
    if (statusCode < 200 || statusCode >= 300) {
      error = `HTTP ${statusCode}${statusCode >= 300 && statusCode < 400 ? ' (redirects are not followed)' : ''}`;
    }
  } catch (caught) {
    error = timedOut ? `no answer within ${options.timeoutMs} ms` : describe(caught);
  } finally {
    exchange?.destroy();
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', stop);
  }
  return { statusCode, error, latencyMs: Math.round(performance.now() - started) };
}

/** Sends the body; resolves with the response once its head has come. */
function send(exchange: ClientRequest, body: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => exchange.on('response', resolve).on('error', reject).end(body));
}

async function readAtMost(response: IncomingMessage, maxBytes: number): Promise<void> {
  let size = 0;
  // Throwing out of the loop destroys the response, which closes the connection.
  for await (const chunk of response) {
    size += (chunk as Buffer).byteLength;
    if (size > maxBytes) throw new Error(`response larger than ${maxBytes} bytes`);
  }
}

/** Node's network errors are named by their code (ECONNREFUSED…), the others by their message. */
function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}
