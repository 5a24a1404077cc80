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
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'incident-ledger', ...headers },
      body,
      redirect: 'manual',
      signal,
    });
    statusCode = response.status;
    await readAtMost(response, options.maxResponseBytes);
    if (!response.ok) {
      error = `HTTP ${response.status}${response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''}`;
    }
  } catch (caught) {
    error = deadline.aborted ? `no answer within ${options.timeoutMs} ms` : describe(caught);
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
