import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver got it: the raw body, as a signature is computed over it. */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (epoch milliseconds). */
  receivedAt: number;
  /** What the receiver answered; null while it holds the request unanswered. */
  status: number | null;
}

/**
 * Decides the status of a request, at once or later (a slow receiver); null holds it unanswered (a
 * hung receiver).
 */
export type Answer = (
  request: ReceivedRequest,
  all: ReceivedRequest[],
) => number | null | Promise<number | null>;

/** A real local HTTP receiver for the tests: records every request and answers as told. */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];

  private constructor(
    private readonly server: Server,
    public answer: Answer,
  ) {}

  static async start(answer: Answer): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server, answer);
    server.on('request', (request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const received: ReceivedRequest = {
          headers: request.headers,
          body,
          receivedAt: Date.now(),
          status: null,
        };
        receiver.requests.push(received);
        void Promise.resolve(receiver.answer(received, receiver.requests)).then((status) => {
          if (status === null) return;
          received.status = status;
          response.writeHead(status).end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** The requests it answered with 2xx. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((request) => request.status !== null && request.status < 300);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Fails the first `failures` attempts of every delivery (by X-Ledger-Delivery-Id) with 500, then accepts. */
export function failingFirst(failures: number): Answer {
  return (request, all) => {
    const id = request.headers['x-ledger-delivery-id'];
    const earlier = all.filter((other) => other.headers['x-ledger-delivery-id'] === id).length - 1;
    return earlier < failures ? 500 : 200;
  };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
) {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
