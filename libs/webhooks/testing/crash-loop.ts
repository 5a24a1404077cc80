import { spawn, type ChildProcess } from 'node:child_process';
import { eventually, type WebhookReceiver } from './webhook-receiver.js';

/** The time between each request the receiver got and the one before it, in milliseconds. */
export function gapsBetweenRequests(receiver: WebhookReceiver): number[] {
  const arrivals = receiver.requests.map((request) => request.receivedAt);
  return arrivals.slice(1).map((arrival, n) => arrival - arrivals[n]);
}

/**
 * A server that crashes during every attempt: runs `script` (an ES module's source) in a child
 * process `lives` times, and kills each with SIGKILL as soon as `receiver` has had one request more.
 * The children go into `children`, for the caller's cleanup should it fail half-way.
 */
export async function crashDuringEachRequest(
  script: string,
  receiver: WebhookReceiver,
  lives: number,
  children: ChildProcess[],
): Promise<void> {
  for (let life = 1; life <= lives; life++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_, signal) => resolve(signal)),
    );
    await eventually(
      () => {
        if (child.exitCode !== null) throw new Error(`the server exited: ${stderr}`);
        return receiver.requests.length === life;
      },
      `request ${life}`,
      15_000,
    );
    child.kill('SIGKILL');
    const signal = await exit;
    if (signal !== 'SIGKILL' || stderr !== '') {
      throw new Error(`life ${life} ended with ${signal}, and wrote: ${stderr}`);
    }
  }
}
