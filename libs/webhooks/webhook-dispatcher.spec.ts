import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { compileForChildProcess } from '../event-store/testing/compile-for-child-process.js';
import { newEvent } from '../event-store/testing/event-store.contract.js';
import type { DeliveryPolicy } from './delivery-policy.js';
import { crashDuringEachRequest, gapsBetweenRequests } from './testing/crash-loop.js';
import { tearDownDispatcherSpec } from './testing/dispatcher-teardown.js';
import { eventually, failingFirst, WebhookReceiver } from './testing/webhook-receiver.js';
import { IN_PROGRESS, SERVER_STOPPED, type Delivery } from './webhook-db.js';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.js';
import {
  WEBHOOK_REGISTERED,
  WEBHOOK_REMOVED,
  webhookStreamId,
  type WebhookRegisteredData,
} from './webhook-events.js';

describe('WebhookDispatcher', () => {
  const SECRET = 'a-secret-of-sixteen-chars';
  let dir: string;
  let store: SqliteEventStore;
  let receiver: WebhookReceiver;
  let dispatcher: WebhookDispatcher;
  /** Each failed attempt the dispatcher logged as retried, with its delivery as webhooks.db held it then. */
  let retries: { fields: Record<string, string | number>; message: string; stored: Delivery }[];
  /** Each delivery it logged as given up. */
  let givenUp: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webhook-dispatcher-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    receiver = await WebhookReceiver.start(() => 200);
    retries = [];
    givenUp = [];
  });

  afterEach(() => tearDownDispatcherSpec({ dispatcher, receiver, store, dir }));

  function start(maxAttempts = 3): void {
    dispatcher = WebhookDispatcher.open(dir, store, {
      policy: { maxAttempts, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 5_000, concurrency: 1 },
      maxResponseBytes: 1_024,
      onError: (error) => {
        throw error;
      },
      onRetry: (fields, message) => {
        const [stored] = dispatcher.webhooks.deliveries(String(fields.webhookId), 1);
        retries.push({ fields, message, stored });
      },
      onGiveUp: (message) => givenUp.push(message),
    });
    dispatcher.start();
  }

  /** Registers a webhook to the receiver in the log; its id, and `activate` to keep its secret. */
  async function register() {
    const id = randomUUID();
    const data: WebhookRegisteredData = { url: receiver.url, eventTypes: [], incidentId: null };
    await store.appendToStream(webhookStreamId(id), [newEvent({ type: WEBHOOK_REGISTERED, data })], 0);
    const activate = async () => {
      const [registered] = await store.readStream(webhookStreamId(id));
      dispatcher.activate({ id, createdAt: registered.recordedAt, ...data }, SECRET);
    };
    return { id, activate };
  }

  test('deliveries queued before the secret was saved go out once it is, with no further event', async () => {
    start();
    const { id, activate } = await register();
    await store.appendToStream(`incident-${randomUUID()}`, [newEvent({ type: 'IncidentDeclared' })], 0);
    // The follower queues the delivery; without a secret, it cannot be signed and waits.
    await eventually(
      () => dispatcher.webhooks.deliveries(id, 10).length === 1,
      'the delivery to be queued',
      10_000,
    );
    expect(receiver.requests).toHaveLength(0);

    await activate();

    await eventually(() => receiver.requests.length === 1, 'the delivery to arrive', 10_000);
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({ type: 'IncidentDeclared' });
  });

  test('a failed attempt that will be retried is logged once, as it fails: the webhook, the event, the attempt out of how many, the error and when the next is due; not the secret, the signature or the payload', async () => {
    receiver.answer = failingFirst(1);
    start(3);
    const { id, activate } = await register();
    await activate();
    const declared = newEvent({ type: 'IncidentDeclared', data: { title: 'Checkout is down' } });
    const { position } = await store.appendToStream(`incident-${randomUUID()}`, [declared], 0);
    const delivered = () => dispatcher.webhooks.deliveries(id, 1)[0]?.status === 'DELIVERED';
    await eventually(delivered, 'the delivery, at attempt 2');

    const [delivery] = dispatcher.webhooks.deliveries(id, 1);
    expect(delivery.attempts.map((made) => made.statusCode)).toEqual([500, 200]);
    expect(retries).toHaveLength(1);
    const [{ fields, message, stored }] = retries;
    // Logged once the failure was recorded: when the next is due is what webhooks.db says.
    expect(stored.status).toBe('FAILED_WILL_RETRY');
    expect(fields).toEqual({
      webhookId: id,
      deliveryId: delivery.id,
      eventId: declared.eventId,
      eventType: 'IncidentDeclared',
      position: position.toString(),
      attempt: 1,
      maxAttempts: 3,
      error: 'HTTP 500',
      nextAttemptAt: stored.nextAttemptAt,
    });
    expect(message.replace(/\(in \d+\.\d s\)$/, '(in … s)')).toBe(
      `Webhook ${id}, delivery ${delivery.id} of event ${declared.eventId} (IncidentDeclared at position ` +
        `${position}): attempt 1 of 3 failed (HTTP 500); the next is due at ${stored.nextAttemptAt} (in … s)`,
    );
    const logged = JSON.stringify({ fields, message });
    const [failed] = receiver.requests;
    for (const secret of [SECRET, String(failed.headers['x-ledger-signature']), 'Checkout is down']) {
      expect(logged).not.toContain(secret);
    }
    expect(givenUp).toEqual([]);
  });

  test.each([
    ['retried', 3],
    ['given up', 1],
  ])(
    'an attempt that fails once its webhook was removed is not logged as %s: the removal gave the delivery up',
    async (_, maxAttempts) => {
      let answer!: (status: number) => void;
      receiver.answer = () => new Promise<number>((resolve) => (answer = resolve));
      start(maxAttempts);
      const { id, activate } = await register();
      await activate();
      await store.appendToStream(`incident-${randomUUID()}`, [newEvent({ type: 'IncidentDeclared' })], 0);
      await eventually(() => receiver.requests.length === 1, 'attempt 1');
      await store.appendToStream(webhookStreamId(id), [newEvent({ type: WEBHOOK_REMOVED, data: {} })], 1);
      await eventually(
        () => dispatcher.webhooks.deliveries(id, 1)[0].status === 'GAVE_UP',
        'the removal to give the delivery up',
      );

      answer(500);
      await eventually(
        () => dispatcher.webhooks.deliveries(id, 1)[0].attempts[0].statusCode === 500,
        "attempt 1's outcome",
      );
      expect(dispatcher.webhooks.deliveries(id, 1)[0].status).toBe('GAVE_UP');
      expect(retries).toEqual([]);
      expect(givenUp).toEqual([]);
    },
  );
});

describe('an attempt cut off by the server stopping', () => {
  const SECRET = 'a-secret-of-sixteen-chars';
  let dir: string;
  let store: SqliteEventStore;
  let hung: WebhookReceiver;
  const dispatchers: WebhookDispatcher[] = [];
  const children: ReturnType<typeof spawn>[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webhook-cut-off-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    // It never answers.
    hung = await WebhookReceiver.start(() => null);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const dispatcher of dispatchers.splice(0)) {
      await dispatcher.stop();
      dispatcher.close();
    }
    await hung.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the dispatchers told the operator's log of deliveries given up. */
  const givenUp: string[] = [];
  const options = (policy: DeliveryPolicy): WebhookDispatcherOptions => ({
    policy,
    maxResponseBytes: 1_024,
    onError: (error) => {
      throw error;
    },
    onGiveUp: (message) => givenUp.push(message),
  });

  function open(policy: DeliveryPolicy): WebhookDispatcher {
    const dispatcher = WebhookDispatcher.open(dir, store, options(policy));
    dispatchers.push(dispatcher);
    return dispatcher;
  }

  async function closeAll(): Promise<void> {
    for (const dispatcher of dispatchers.splice(0)) {
      await dispatcher.stop();
      dispatcher.close();
    }
  }

  /** Registers the hung receiver (secret kept in webhooks.db), then two events of one incident. */
  async function webhookWithTwoEvents(policy: DeliveryPolicy) {
    const id = randomUUID();
    const data: WebhookRegisteredData = { url: hung.url, eventTypes: [], incidentId: null };
    await store.appendToStream(webhookStreamId(id), [newEvent({ type: WEBHOOK_REGISTERED, data })], 0);
    const [registered] = await store.readStream(webhookStreamId(id));
    const setup = WebhookDispatcher.open(dir, store, options(policy));
    setup.activate({ id, createdAt: registered.recordedAt, ...data }, SECRET);
    setup.close();
    const events = [newEvent({ type: 'IncidentDeclared' }), newEvent({ type: 'IncidentAcknowledged' })];
    await store.appendToStream(`incident-${randomUUID()}`, events, 0);
    return { id, first: events[0].eventId, second: events[1].eventId };
  }

  /** Each request as (event id, X-Ledger-Attempt). */
  const sent = () =>
    hung.requests.map((request) => [
      (JSON.parse(request.body) as { eventId: string }).eventId,
      request.headers['x-ledger-attempt'],
    ]);

  /** The log of a webhook, oldest delivery first, as [status, [attempt, statusCode, error]…]. */
  function logOf(webhooks: { deliveries(id: string, first: number): Delivery[] }, id: string) {
    return webhooks
      .deliveries(id, 10)
      .reverse()
      .map((delivery) => ({
        eventId: delivery.eventId,
        status: delivery.status,
        attempts: delivery.attempts.map((made) => [made.attempt, made.statusCode, made.error]),
      }));
  }

  test('a shutdown records the attempt it cut off: the next, after the restart, is attempt 2; the last one cut off gives up', async () => {
    const policy = { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 200, timeoutMs: 10_000, concurrency: 1 };
    const { id, first, second } = await webhookWithTwoEvents(policy);
    let dispatcher = open(policy);
    dispatcher.start();
    await eventually(() => hung.requests.length === 1, 'attempt 1', 10_000);

    // In flight: shown as under way, not as stopped.
    expect(logOf(dispatcher.webhooks, id)).toEqual([
      { eventId: first, status: 'PENDING', attempts: [[1, null, IN_PROGRESS]] },
      { eventId: second, status: 'PENDING', attempts: [] },
    ]);
    await dispatcher.stop();
    const stoppedAt = Date.now();
    expect(logOf(dispatcher.webhooks, id)).toEqual([
      { eventId: first, status: 'FAILED_WILL_RETRY', attempts: [[1, null, SERVER_STOPPED]] },
      { eventId: second, status: 'PENDING', attempts: [] },
    ]);
    // Retried after the backoff of attempt 1 (the attempt ended at the shutdown).
    const retryAt = Date.parse(dispatcher.webhooks.deliveries(id, 10)[1].nextAttemptAt!);
    expect(retryAt).toBeLessThanOrEqual(stoppedAt + policy.maxDelayMs);
    await closeAll();

    dispatcher = open(policy);
    dispatcher.start();
    await eventually(() => hung.requests.length === 2, 'attempt 2 after the restart', 10_000);
    await closeAll();
    expect(logOf(open(policy).webhooks, id)).toEqual([
      {
        eventId: first,
        status: 'GAVE_UP',
        attempts: [
          [1, null, SERVER_STOPPED],
          [2, null, SERVER_STOPPED],
        ],
      },
      { eventId: second, status: 'PENDING', attempts: [] },
    ]);
    expect(givenUp).toHaveLength(1);
    expect(givenUp[0]).toMatch(
      new RegExp(
        `^Webhook ${id}: gave up delivering event ${first} \\(delivery [0-9a-f-]{36}\\) after 2 attempts`,
      ),
    );
    expect(givenUp[0].endsWith(`; the last: ${SERVER_STOPPED}`)).toBe(true);
    await closeAll();

    dispatcher = open(policy);
    dispatcher.start();
    await eventually(() => hung.requests.length === 3, "the incident's next event", 10_000);
    expect(sent()).toEqual([
      [first, '1'],
      [first, '2'],
      [second, '1'],
    ]);
  });

  test('a server killed (SIGKILL) during every attempt: each counts, the next waits for the deadline and the backoff, the last gives up and the next event goes', async () => {
    const policy = { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 300, timeoutMs: 1_500, concurrency: 1 };
    const { id, first, second } = await webhookWithTwoEvents(policy);
    const build = join(dir, 'build');
    compileForChildProcess(
      ['libs/webhooks/webhook-dispatcher.ts', 'libs/event-store/sqlite/sqlite-event-store.ts'],
      build,
    );
    // The server: the dispatcher following the store, until killed.
    const script = `
      import { SqliteEventStore } from ${JSON.stringify(join(build, 'libs/event-store/sqlite/sqlite-event-store.js'))};
      import { WebhookDispatcher } from ${JSON.stringify(join(build, 'libs/webhooks/webhook-dispatcher.js'))};
      const store = SqliteEventStore.open(${JSON.stringify(join(dir, 'events.db'))});
      WebhookDispatcher.open(${JSON.stringify(dir)}, store, {
        policy: ${JSON.stringify(policy)},
        maxResponseBytes: 1024,
        onError: (error) => console.error(error),
      }).start();`;

    await crashDuringEachRequest(script, hung, 4, children);

    expect(sent()).toEqual([
      [first, '1'],
      [first, '2'],
      [first, '3'],
      [second, '1'],
    ]);
    // A crash loop backs off: nothing went before the cut-off attempt's deadline had passed.
    for (const gap of gapsBetweenRequests(hung)) expect(gap).toBeGreaterThanOrEqual(policy.timeoutMs - 50);
    expect(logOf(open(policy).webhooks, id)).toEqual([
      {
        eventId: first,
        status: 'GAVE_UP',
        attempts: [1, 2, 3].map((attempt) => [attempt, null, SERVER_STOPPED]),
      },
      { eventId: second, status: 'FAILED_WILL_RETRY', attempts: [[1, null, SERVER_STOPPED]] },
    ]);
  }, 60_000);
});
