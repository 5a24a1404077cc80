import { rmSync } from 'node:fs';
import type { WebhookReceiver } from './webhook-receiver.js';

/** What a dispatcher's spec opened, in a temp dir of its own. */
export interface DispatcherSpecParts {
  dispatcher: { stop(): Promise<void>; close(): void };
  receiver: WebhookReceiver;
  store: { close(): Promise<void> };
  dir: string;
}

/**
 * Ends a dispatcher's spec in order: the dispatcher first, while its receiver and store are still
 * there for the attempts it cuts off to end and be recorded; then the receiver, the store, and the
 * temp dir with their files.
 */
export async function tearDownDispatcherSpec({ dispatcher, receiver, store, dir }: DispatcherSpecParts) {
  await dispatcher.stop();
  dispatcher.close();
  await receiver.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
