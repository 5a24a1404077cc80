import type { Server } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/**
 * Lets the requests a server took in finish and answer before it shuts down, and runs none that
 * arrive after: those get 503 SHUTTING_DOWN without running, so their callers may safely retry.
 * (Apollo's own drain ends idle sockets, but a request whose bytes were still in flight on one
 * was read and run anyway: its command committed and its answer went nowhere.)
 */
export class HttpDrain {
  private readonly running = new Set<Response>();
  private draining = false;
  private drained: (() => void) | null = null;

  /** The first middleware of the app: counts what runs, refuses what comes once draining. */
  readonly middleware = (_request: Request, response: Response, next: NextFunction): void => {
    if (this.draining) {
      response
        .status(503)
        .set('connection', 'close')
        .json({
          errors: [
            {
              message: 'The server is shutting down; the request did not run: retry it',
              extensions: { code: 'SHUTTING_DOWN' },
            },
          ],
        });
      return;
    }
    this.running.add(response);
    response.once('close', () => {
      this.running.delete(response);
      if (this.running.size === 0) this.drained?.();
    });
    next();
  };

  /** Stops taking connections and waits, up to `timeoutMs`, until no request is running. */
  async drain(server: Server, timeoutMs: number): Promise<void> {
    this.draining = true;
    server.close();
    server.closeIdleConnections();
    // Whatever runs answers with Connection: close, so its client does not send more on it.
    for (const response of this.running) if (!response.headersSent) response.set('connection', 'close');
    if (this.running.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
