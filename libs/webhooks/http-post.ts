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
 * nor make the server buffer a huge answer.
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
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'incident-ledger', ...headers },
      body,
      redirect: 'manual',
      signal: request.signal,
    });
    statusCode = response.status;
    await readAtMost(response, options.maxResponseBytes);
    if (!response.ok) {
      error = `HTTP ${response.status}${response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''}`;
    }
  } catch (caught) {
    error = timedOut ? `no answer within ${options.timeoutMs} ms` : describe(caught);
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', stop);
  }
  return { statusCode, error, latencyMs: Math.round(performance.now() - started) };
}

async function readAtMost(response: Response, maxBytes: number): Promise<void> {
  if (!response.body) return;
  let size = 0;
  // Throwing out of the loop cancels the body, which closes the connection.
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`response larger than ${maxBytes} bytes`);
  }
}

/** fetch hides the network error (ECONNREFUSED…) in `cause`. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
