import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { newEvent } from '../event-store/testing/event-store.contract.js';
import { WebhookReceiver } from './testing/webhook-receiver.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WEBHOOK_REGISTERED, webhookStreamId, type WebhookRegisteredData } from './webhook-events.js';

/** Polls until `done` holds; fails after 10 s with what it waited for. */
async function until(done: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('WebhookDispatcher', () => {
  let dir: string;
  let store: SqliteEventStore;
  let receiver: WebhookReceiver;
  let dispatcher: WebhookDispatcher;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webhook-dispatcher-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    receiver = await WebhookReceiver.start(() => 200);
    dispatcher = WebhookDispatcher.open(dir, store, {
      policy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 1_000, concurrency: 1 },
      maxResponseBytes: 1_024,
      onError: (error) => {
        throw error;
      },
    });
    dispatcher.start();
  });

  afterEach(async () => {
    await dispatcher.stop();
    dispatcher.close();
    await receiver.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('deliveries queued before the secret was saved go out once it is, with no further event', async () => {
    const id = randomUUID();
    const data: WebhookRegisteredData = { url: receiver.url, eventTypes: [], incidentId: null };
    await store.appendToStream(webhookStreamId(id), [newEvent({ type: WEBHOOK_REGISTERED, data })], 0);
    await store.appendToStream(`incident-${randomUUID()}`, [newEvent({ type: 'IncidentDeclared' })], 0);
    // The follower queues the delivery; without a secret, it cannot be signed and waits.
    await until(() => dispatcher.webhooks.deliveries(id, 10).length === 1, 'the delivery to be queued');
    expect(receiver.requests).toHaveLength(0);

    const [registered] = await store.readStream(webhookStreamId(id));
    dispatcher.activate({ id, createdAt: registered.recordedAt, ...data }, 'a-secret-of-sixteen-chars');

    await until(() => receiver.requests.length === 1, 'the delivery to arrive');
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({ type: 'IncidentDeclared' });
  });
});
