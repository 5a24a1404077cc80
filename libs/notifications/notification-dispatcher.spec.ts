import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { Channel } from '../domain/index.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { compileForChildProcess } from '../event-store/testing/compile-for-child-process.js';
import { newEvent } from '../event-store/testing/event-store.contract.js';
import type { DeliveryLogHooks } from '../webhooks/delivery-log.js';
import type { DeliveryPolicy } from '../webhooks/delivery-policy.js';
import { crashDuringEachRequest, gapsBetweenRequests } from '../webhooks/testing/crash-loop.js';
import { tearDownDispatcherSpec } from '../webhooks/testing/dispatcher-teardown.js';
import { eventually, WebhookReceiver } from '../webhooks/testing/webhook-receiver.js';
import { LogChannelAdapter } from './log-channel-adapter.js';
import { NotificationDispatcher, SERVER_STOPPED } from './notification-dispatcher.js';
import { notificationId, notificationStreamId } from './notification.js';
import { WebhookChannelAdapter } from './webhook-channel-adapter.js';

const SECRET = 'notify-secret-0123456789';

/**
 * A dispatcher on `dir` whose WEBHOOK channel posts to `url` (the others write to no log), telling
 * `log` what it would tell the operator's.
 */
function webhookChannelDispatcher(
  dir: string,
  store: SqliteEventStore,
  url: string,
  policy: DeliveryPolicy,
  log: Omit<DeliveryLogHooks, 'onError'>,
): NotificationDispatcher {
  const nowhere = new LogChannelAdapter(() => undefined);
  const webhook = new WebhookChannelAdapter({
    url,
    secret: SECRET,
    timeoutMs: policy.timeoutMs,
    maxResponseBytes: 1_024,
  });
  return NotificationDispatcher.open(dir, store, {
    policy,
    adapters: {
      EMAIL: nowhere,
      SMS: nowhere,
      SOCIAL: nowhere,
      WEBSITE: nowhere,
      IN_APP: nowhere,
      WEBHOOK: webhook,
    },
    onError: (error) => {
      throw error;
    },
    ...log,
  });
}

/** Two public updates of one incident for the WEBHOOK channel; their notification ids. */
async function twoUpdates(store: SqliteEventStore): Promise<[string, string]> {
  const update = (message: string) =>
    newEvent({
      type: 'CustomerUpdatePublished',
      data: {
        status: 'INVESTIGATING',
        message,
        channels: ['WEBHOOK'] satisfies Channel[],
        visibility: 'PUBLIC',
        nextUpdateAt: null,
      },
    });
  const updates = [update('We are looking into it.'), update('Still looking.')];
  await store.appendToStream(`incident-${randomUUID()}`, updates, 0);
  return [notificationId(updates[0].eventId, 'WEBHOOK'), notificationId(updates[1].eventId, 'WEBHOOK')];
}

describe('a notification attempt cut off by the server stopping', () => {
  let dir: string;
  let store: SqliteEventStore;
  let hung: WebhookReceiver;
  const dispatchers: NotificationDispatcher[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  /** What the dispatchers told the operator's log of notifications abandoned. */
  const givenUp: string[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'notification-cut-off-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    // It never answers.
    hung = await WebhookReceiver.start(() => null);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await closeAll();
    await hung.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A dispatcher whose WEBHOOK channel posts to the hung receiver. */
  function open(policy: DeliveryPolicy): NotificationDispatcher {
    const dispatcher = webhookChannelDispatcher(dir, store, hung.url, policy, {
      onGiveUp: (message) => givenUp.push(message),
    });
    dispatchers.push(dispatcher);
    return dispatcher;
  }

  async function closeAll(): Promise<void> {
    for (const dispatcher of dispatchers.splice(0)) {
      await dispatcher.stop();
      dispatcher.close();
    }
  }

  /** Each request as (notificationId, attempt). */
  const sent = () =>
    hung.requests.map((request) => {
      const body = JSON.parse(request.body) as { notificationId: string; attempt: number };
      return [body.notificationId, body.attempt];
    });

  /** The outcomes a notification's stream records, as [type, attempt, error]. */
  async function recorded(id: string) {
    return (await store.readStream(notificationStreamId(id))).map((event) => {
      const data = event.data as { attempt?: number; error?: string; lastError?: string };
      return [event.type, data.attempt ?? null, data.error ?? data.lastError ?? null];
    });
  }

  test('a shutdown records the attempt it cut off as failed: the next, after the restart, is attempt 2; the last one cut off abandons it', async () => {
    const policy = { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 200, timeoutMs: 10_000, concurrency: 1 };
    const [first, second] = await twoUpdates(store);
    open(policy).start();
    await eventually(() => hung.requests.length === 1, 'attempt 1', 10_000);
    await closeAll();
    const stoppedAt = Date.now();
    const stream = await store.readStream(notificationStreamId(first));
    expect(await recorded(first)).toEqual([
      ['NotificationQueued', null, null],
      ['NotificationAttemptFailed', 1, SERVER_STOPPED],
    ]);
    // Retried after the backoff of attempt 1 (the attempt ended at the shutdown).
    const retryAt = Date.parse((stream[1].data as { nextAttemptAt: string }).nextAttemptAt);
    expect(retryAt).toBeLessThanOrEqual(stoppedAt + policy.maxDelayMs);

    open(policy).start();
    await eventually(() => hung.requests.length === 2, 'attempt 2 after the restart', 10_000);
    await closeAll();
    expect((await recorded(first)).slice(2)).toEqual([
      ['NotificationAttemptFailed', 2, SERVER_STOPPED],
      ['NotificationAbandoned', null, SERVER_STOPPED],
    ]);
    const { incidentId } = (await store.readStream(notificationStreamId(first)))[0].data;
    expect(givenUp).toEqual([
      `Notification ${first} of incident ${String(incidentId)} on WEBHOOK: abandoned after 2 attempts; the last: ${SERVER_STOPPED}`,
    ]);

    open(policy).start();
    await eventually(() => hung.requests.length === 3, "the incident's next update", 10_000);
    expect(sent()).toEqual([
      [first, 1],
      [first, 2],
      [second, 1],
    ]);
  });

  test('a server killed (SIGKILL) during every attempt: each counts, the next waits for the deadline and the backoff, the last abandons it and the next update goes', async () => {
    const policy = { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 300, timeoutMs: 1_500, concurrency: 1 };
    const [first, second] = await twoUpdates(store);
    const build = join(dir, 'build');
    compileForChildProcess(
      [
        'libs/notifications/notification-dispatcher.ts',
        'libs/notifications/log-channel-adapter.ts',
        'libs/notifications/webhook-channel-adapter.ts',
        'libs/event-store/sqlite/sqlite-event-store.ts',
      ],
      build,
    );
    const module = (path: string) => JSON.stringify(join(build, path));
    // The server: the dispatcher following the store, its WEBHOOK channel to the hung receiver.
    const script = `
      import { SqliteEventStore } from ${module('libs/event-store/sqlite/sqlite-event-store.js')};
      import { NotificationDispatcher } from ${module('libs/notifications/notification-dispatcher.js')};
      import { LogChannelAdapter } from ${module('libs/notifications/log-channel-adapter.js')};
      import { WebhookChannelAdapter } from ${module('libs/notifications/webhook-channel-adapter.js')};
      const store = SqliteEventStore.open(${JSON.stringify(join(dir, 'events.db'))});
      const log = new LogChannelAdapter(() => undefined);
      const webhook = new WebhookChannelAdapter({
        url: ${JSON.stringify(hung.url)},
        secret: ${JSON.stringify(SECRET)},
        timeoutMs: ${policy.timeoutMs},
        maxResponseBytes: 1024,
      });
      NotificationDispatcher.open(${JSON.stringify(dir)}, store, {
        policy: ${JSON.stringify(policy)},
        adapters: { EMAIL: log, SMS: log, SOCIAL: log, WEBSITE: log, IN_APP: log, WEBHOOK: webhook },
        onError: (error) => console.error(error),
      }).start();`;

    await crashDuringEachRequest(script, hung, 4, children);

    expect(sent()).toEqual([
      [first, 1],
      [first, 2],
      [first, 3],
      [second, 1],
    ]);
    // A crash loop backs off: nothing went before the cut-off attempt's deadline had passed.
    for (const gap of gapsBetweenRequests(hung)) expect(gap).toBeGreaterThanOrEqual(policy.timeoutMs - 50);
    expect(await recorded(first)).toEqual([
      ['NotificationQueued', null, null],
      ['NotificationAttemptFailed', 1, SERVER_STOPPED],
      ['NotificationAttemptFailed', 2, SERVER_STOPPED],
      ['NotificationAttemptFailed', 3, SERVER_STOPPED],
      ['NotificationAbandoned', null, SERVER_STOPPED],
    ]);
    // Attempt 1 of the next update was cut off too: counted, its outcome recorded once due again.
    expect(await recorded(second)).toEqual([['NotificationQueued', null, null]]);
    const index = open(policy).index;
    const incidentId = (await store.readStream(notificationStreamId(second)))[0].data.incidentId as string;
    expect(
      [1, 2].flatMap((version) =>
        index.ofUpdate(incidentId, version).map(({ status, attempts }) => ({ status, attempts })),
      ),
    ).toEqual([
      { status: 'ABANDONED', attempts: 3 },
      { status: 'PENDING', attempts: 1 },
    ]);
  }, 60_000);
});

describe('a notification whose first attempt fails', () => {
  let dir: string;
  let store: SqliteEventStore;
  let receiver: WebhookReceiver;
  let dispatcher: NotificationDispatcher;
  let retries: { fields: Record<string, string | number>; message: string }[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'notification-attempt-log-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    // The first request fails, every later one is accepted.
    receiver = await WebhookReceiver.start((_, all) => (all.length === 1 ? 500 : 200));
    retries = [];
    const policy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 5_000, concurrency: 1 };
    dispatcher = webhookChannelDispatcher(dir, store, receiver.url, policy, {
      onRetry: (fields, message) => retries.push({ fields, message }),
      onGiveUp: (message) => {
        throw new Error(`given up: ${message}`);
      },
    });
    dispatcher.start();
  });

  afterEach(() => tearDownDispatcherSpec({ dispatcher, receiver, store, dir }));

  test('a failed attempt that will be retried is logged once, as it fails: the notification, its update, the attempt out of how many, the error and when the next is due; not the secret, the signature or the message', async () => {
    const [first] = await twoUpdates(store);
    await eventually(() => receiver.accepted().length === 2, 'both updates, the first at attempt 2');

    const [queued, failed] = await store.readStream(notificationStreamId(first));
    const { incidentId } = queued.data;
    // Logged once the failure was recorded: when the next is due is what the stream says.
    expect(failed.type).toBe('NotificationAttemptFailed');
    const { nextAttemptAt } = failed.data as { nextAttemptAt: string };
    expect(retries).toEqual([
      {
        fields: {
          notificationId: first,
          incidentId,
          channel: 'WEBHOOK',
          updateVersion: 1,
          attempt: 1,
          maxAttempts: 3,
          error: 'HTTP 500',
          nextAttemptAt,
        },
        message: expect.stringMatching(/\(in \d+\.\d s\)$/),
      },
    ]);
    expect(retries[0].message.replace(/\(in \d+\.\d s\)$/, '(in … s)')).toBe(
      `Notification ${first} of incident ${String(incidentId)} on WEBHOOK (the customer update at incident ` +
        `version 1): attempt 1 of 3 failed (HTTP 500); the next is due at ${nextAttemptAt} (in … s)`,
    );
    const logged = JSON.stringify(retries);
    const [request] = receiver.requests;
    for (const secret of [SECRET, String(request.headers['x-ledger-signature']), 'We are looking into it.']) {
      expect(logged).not.toContain(secret);
    }
  });

  test("delivered at the next attempt, it keeps the failed attempt's error as the last one, with when it failed: before it was delivered", async () => {
    const [first, second] = await twoUpdates(store);
    await eventually(() => receiver.accepted().length === 2, 'both updates, the first at attempt 2');
    const { incidentId } = (await store.readStream(notificationStreamId(first)))[0].data;
    const records = () => [1, 2].flatMap((version) => dispatcher.index.ofUpdate(String(incidentId), version));
    await eventually(
      () => records().filter(({ status }) => status === 'DELIVERED').length === 2,
      'both updates delivered',
    );

    const [, failed, delivered] = await store.readStream(notificationStreamId(first));
    expect([failed.type, delivered.type]).toEqual(['NotificationAttemptFailed', 'NotificationDelivered']);
    expect(
      records().map(({ notificationId, attempts, deliveredAt, lastError, lastErrorAt }) => ({
        notificationId,
        attempts,
        deliveredAt,
        lastError,
        lastErrorAt,
      })),
    ).toEqual([
      {
        notificationId: first,
        attempts: 2,
        deliveredAt: delivered.occurredAt,
        lastError: 'HTTP 500',
        lastErrorAt: failed.occurredAt,
      },
      {
        notificationId: second,
        attempts: 1,
        deliveredAt: expect.any(String),
        lastError: null,
        lastErrorAt: null,
      },
    ]);
  });
});
