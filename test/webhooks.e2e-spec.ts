import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../libs/event-store/sqlite/sqlite-event-store.js';
import { eventually, failingFirst, WebhookReceiver } from '../libs/webhooks/testing/webhook-receiver.js';
import { declareIncident, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

/** Fast retries, so that a test waits milliseconds between attempts, not seconds. */
const FAST_DELIVERY = {
  LEDGER_DELIVERY_BASE_DELAY_MS: '5',
  LEDGER_DELIVERY_MAX_DELAY_MS: '20',
  LEDGER_DELIVERY_MAX_ATTEMPTS: '50',
  LEDGER_DELIVERY_TIMEOUT_MS: '1000',
};
const SECRET = 'whsec-0123456789abcdef';

const REGISTER = `mutation($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) { webhook { id url eventTypes incidentId active } position } }`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(webhookId: $id, first: 100) {
  eventId eventType streamId position status attempts { attempt statusCode error latencyMs } } }`;
const ACKNOWLEDGE = mutation('acknowledgeIncident', 'IncidentActionInput');
const NOTE = mutation('addInternalNote', 'AddInternalNoteInput');

interface Delivered {
  eventId: string;
  type: string;
  streamId: string;
  streamVersion: number;
}

/** The verification recipe of docs/integrations.md, written out as a receiver would. */
function signatureIsValid(secret: string, header: string | string[] | undefined, rawBody: string): boolean {
  if (typeof header !== 'string') return false;
  const fields = Object.fromEntries(header.split(',').map((part) => part.split('=', 2)));
  const expected = createHmac('sha256', secret).update(`${fields.t}.${rawBody}`).digest('hex');
  const fresh = Math.abs(Date.now() / 1000 - Number(fields.t)) <= 300;
  return (
    fresh &&
    /^[0-9a-f]{64}$/.test(fields.v1) &&
    timingSafeEqual(Buffer.from(fields.v1, 'hex'), Buffer.from(expected, 'hex'))
  );
}

async function register(server: LedgerServer, input: Record<string, unknown>) {
  const result = await server.graphql(REGISTER, { input: { secret: SECRET, ...input } }, KEYS.admin);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!.registerWebhook.webhook.id as string;
}

/** Three events on each of `count` incidents; their ids in feed order. */
async function incidentActivity(server: LedgerServer, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const { id } = await declareIncident(server);
    ids.push(id);
    await server.graphql(ACKNOWLEDGE, { input: { incidentId: id } });
    await server.graphql(NOTE, { input: { incidentId: id, note: `note ${n}` } });
  }
  return ids;
}

/** The ids of the incident events after `position`, from the feed. */
async function incidentEventIdsAfter(server: LedgerServer, position: string): Promise<string[]> {
  const result = await server.graphql(
    `query($after: String) { events(after: $after, first: 1000, streamPrefix: "incident-") { edges { node { eventId } } } }`,
    { after: position },
    KEYS.auditor,
  );
  return result.data!.events.edges.map((edge: any) => edge.node.eventId);
}

/** Each distinct event the receiver accepted, in the order it first accepted it. */
function firstAccepted(receiver: WebhookReceiver): Delivered[] {
  const seen = new Set<string>();
  return receiver
    .accepted()
    .map((request) => JSON.parse(request.body) as Delivered)
    .filter((event) => !seen.has(event.eventId) && seen.add(event.eventId));
}

/** Per stream, the versions in the order they were first accepted. */
function versionsByStream(events: Delivered[]): Map<string, number[]> {
  const byStream = new Map<string, number[]>();
  for (const event of events)
    byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event.streamVersion]);
  return byStream;
}

function expectInOrderPerIncident(receiver: WebhookReceiver, incidents: string[]) {
  const byStream = versionsByStream(firstAccepted(receiver));
  for (const id of incidents) {
    const versions = byStream.get(`incident-${id}`)!;
    expect(versions).toEqual(versions.map((_, index) => versions[0] + index));
  }
  // No attempt of an event was made before the previous event of its incident was accepted.
  const accepted = new Set<string>();
  for (const request of receiver.requests) {
    const event = JSON.parse(request.body) as Delivered;
    const previous = receiver.requests.find((other) => {
      const earlier = JSON.parse(other.body) as Delivered;
      return earlier.streamId === event.streamId && earlier.streamVersion === event.streamVersion - 1;
    });
    if (previous) expect(accepted.has(JSON.parse(previous.body).eventId)).toBe(true);
    if (request.status === 200) accepted.add(event.eventId);
  }
}

describe('webhooks', () => {
  const receivers: WebhookReceiver[] = [];
  const receiver = async (answer: Parameters<typeof WebhookReceiver.start>[0]) => {
    const started = await WebhookReceiver.start(answer);
    receivers.push(started);
    return started;
  };
  let server: LedgerServer;

  beforeAll(async () => {
    server = await LedgerServer.start({ env: FAST_DELIVERY });
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((each) => each.stop()));
  });
  afterAll(async () => {
    await server.destroy();
  });

  test('a receiver that fails the first 3 attempts of every delivery still gets every event, in order, signed', async () => {
    const flaky = await receiver(failingFirst(3));
    const registered = await server.graphql(
      REGISTER,
      { input: { url: flaky.url, secret: SECRET } },
      KEYS.admin,
    );
    const { webhook, position } = registered.data!.registerWebhook;
    expect(webhook).toMatchObject({ url: flaky.url, eventTypes: [], incidentId: null, active: true });

    const incidents = await incidentActivity(server, 3);
    const expected = await incidentEventIdsAfter(server, position);
    expect(expected).toHaveLength(9);
    await eventually(() => firstAccepted(flaky).length === expected.length, 'every event accepted');

    expect(
      firstAccepted(flaky)
        .map((event) => event.eventId)
        .sort(),
    ).toEqual([...expected].sort());
    expectInOrderPerIncident(flaky, incidents);
    for (const request of flaky.requests) {
      expect(signatureIsValid(SECRET, request.headers['x-ledger-signature'], request.body)).toBe(true);
      expect(
        signatureIsValid('another-secret-0123456789', request.headers['x-ledger-signature'], request.body),
      ).toBe(false);
    }

    const log = await server.graphql(DELIVERIES, { id: webhook.id }, KEYS.auditor);
    expect(log.errors).toBeUndefined();
    expect(log.data!.webhookDeliveries).toHaveLength(9);
    for (const delivery of log.data!.webhookDeliveries) {
      expect(delivery.status).toBe('DELIVERED');
      expect(
        delivery.attempts.map((attempt: any) => [attempt.attempt, attempt.statusCode, attempt.error]),
      ).toEqual([
        [1, 500, 'HTTP 500'],
        [2, 500, 'HTTP 500'],
        [3, 500, 'HTTP 500'],
        [4, 200, null],
      ]);
      expect(delivery.attempts.every((attempt: any) => attempt.latencyMs >= 0)).toBe(true);
    }
  });

  test('filters by event type and incident', async () => {
    const acknowledgements = await receiver(() => 200);
    const oneIncident = await receiver(() => 200);
    const { id: first } = await declareIncident(server);
    const { id: second } = await declareIncident(server);
    await register(server, { url: acknowledgements.url, eventTypes: ['IncidentAcknowledged'] });
    await register(server, { url: oneIncident.url, incidentId: second });
    await server.graphql(ACKNOWLEDGE, { input: { incidentId: first } });
    await server.graphql(NOTE, { input: { incidentId: first, note: 'first' } });
    await server.graphql(NOTE, { input: { incidentId: second, note: 'second' } });
    await server.graphql(ACKNOWLEDGE, { input: { incidentId: second } });

    await eventually(
      () => acknowledgements.accepted().length === 2 && oneIncident.accepted().length === 2,
      'deliveries',
    );
    const types = (events: Delivered[]) => events.map((event) => `${event.type}@${event.streamId}`);
    expect(types(firstAccepted(acknowledgements)).sort()).toEqual(
      [`IncidentAcknowledged@incident-${first}`, `IncidentAcknowledged@incident-${second}`].sort(),
    );
    expect(types(firstAccepted(oneIncident))).toEqual([
      `InternalNoteAdded@incident-${second}`,
      `IncidentAcknowledged@incident-${second}`,
    ]);
  });

  test('an endpoint that never answers does not hold up another endpoint', async () => {
    const hung = await receiver(() => null);
    const healthy = await receiver(() => 200);
    const hungId = await register(server, { url: hung.url });
    await register(server, { url: healthy.url });

    await incidentActivity(server, 4);
    await eventually(() => firstAccepted(healthy).length === 12, 'the healthy endpoint gets every event');
    expect(hung.requests.length).toBeGreaterThan(0);
    expect(hung.accepted()).toHaveLength(0);

    await eventually(async () => {
      const log = await server.graphql(DELIVERIES, { id: hungId }, KEYS.admin);
      return log.data!.webhookDeliveries.some((delivery: any) =>
        delivery.attempts.some(
          (attempt: any) => attempt.statusCode === null && /no answer within 1000 ms/.test(attempt.error),
        ),
      );
    }, 'the hung attempts to time out in the log');
  });

  test('bad registrations are BAD_USER_INPUT and store nothing; only admins register', async () => {
    const before = await server.graphql('{ webhooks { id } }', {}, KEYS.auditor);
    const webhookEvents = async () =>
      (
        await server.graphql(
          '{ events(streamPrefix: "webhook-", first: 1000) { edges { cursor } } }',
          {},
          KEYS.auditor,
        )
      ).data!.events.edges.length;
    const eventsBefore = await webhookEvents();
    const valid = { url: 'https://hooks.example.com/ledger', secret: SECRET };

    const bad: Array<Record<string, unknown>> = [
      { ...valid, url: 'ftp://hooks.example.com/ledger' },
      { ...valid, url: 'javascript:alert(1)' },
      { ...valid, url: 'hooks.example.com/ledger' },
      { ...valid, url: 'https://user:password@hooks.example.com/ledger' },
      { ...valid, url: 'http://localhost:1/ledger' },
      // Link-local and cloud metadata addresses, deliveries refuse.
      { ...valid, url: 'http://169.254.169.254/latest/meta-data/' },
      { ...valid, url: 'http://[::ffff:169.254.169.254]/' },
      { ...valid, url: 'http://[fe80::1]:8080/ledger' },
      { ...valid, url: 'http://0.0.0.0:3000/ledger' },
      { url: valid.url },
      { ...valid, secret: 'short' },
      { ...valid, eventTypes: ['IncidentDeclared', 'NoSuchEvent'] },
      { ...valid, incidentId: 'not-a-uuid' },
    ];
    for (const input of bad) {
      const result = await server.graphql(REGISTER, { input }, KEYS.admin);
      expect({ input, code: result.errors?.[0]?.extensions?.code }).toEqual({
        input,
        code: 'BAD_USER_INPUT',
      });
    }
    const metadata = await server.graphql(
      REGISTER,
      { input: { ...valid, url: 'http://169.254.169.254/latest/meta-data/' } },
      KEYS.admin,
    );
    expect(metadata.errors?.[0]?.message).toBe(
      'url must not target 169.254.169.254: it is a link-local address (cloud metadata)',
    );
    // Incident ids are the server's: one that does not exist is a mistake, not a webhook to keep.
    const unknownIncident = await server.graphql(
      REGISTER,
      { input: { ...valid, incidentId: randomUUID() } },
      KEYS.admin,
    );
    expect(unknownIncident.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    for (const key of [KEYS.responder, KEYS.communicator, KEYS.auditor]) {
      const result = await server.graphql(REGISTER, { input: valid }, key);
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const removal = await server.graphql(
      `mutation($id: ID!) { removeWebhook(id: $id) { position } }`,
      { id: randomUUID() },
      KEYS.responder,
    );
    expect(removal.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const readByResponder = await server.graphql('{ webhooks { id } }', {}, KEYS.responder);
    expect(readByResponder.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    expect((await server.graphql('{ webhooks { id } }', {}, KEYS.auditor)).data).toEqual(before.data);
    expect(await webhookEvents()).toBe(eventsBefore);
  });

  test('a registration retried with its idempotency key registers one webhook; the key reused otherwise is refused', async () => {
    const input = {
      url: 'https://hooks.example.com/retried',
      secret: SECRET,
      idempotencyKey: 'register-retried',
    };
    const answers = await Promise.all([1, 2, 3].map(() => server.graphql(REGISTER, { input }, KEYS.admin)));
    expect(answers.map((answer) => answer.errors)).toEqual([undefined, undefined, undefined]);
    const [first] = answers;
    for (const answer of answers) expect(answer.data).toEqual(first.data);
    const listed = (await server.graphql('{ webhooks { id url } }', {}, KEYS.auditor)).data!.webhooks;
    expect(listed.filter((webhook: { url: string }) => webhook.url === input.url)).toHaveLength(1);

    for (const other of [
      { ...input, url: 'https://hooks.example.com/elsewhere' },
      // The secret is not in the log; the one kept for the webhook tells the retry apart.
      { ...input, secret: 'another-secret-0123456789' },
    ]) {
      const reused = await server.graphql(REGISTER, { input: other }, KEYS.admin);
      expect(reused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect((await server.graphql('{ webhooks { id } }', {}, KEYS.auditor)).data!.webhooks).toHaveLength(
      listed.length,
    );
  });

  test('a removed webhook gets nothing more', async () => {
    const target = await receiver(() => 200);
    const id = await register(server, { url: target.url });
    await incidentActivity(server, 1);
    await eventually(() => target.accepted().length === 3, 'deliveries before the removal');
    const removed = await server.graphql(
      `mutation($id: ID!) { removeWebhook(id: $id) { webhook { active removedAt } position } }`,
      { id },
      KEYS.admin,
    );
    expect(removed.data!.removeWebhook.webhook.active).toBe(false);
    const [incident] = await incidentActivity(server, 1);
    // A webhook registered after the removal sees these events: once it has them, the removed one had its chance.
    const later = await receiver(() => 200);
    await register(server, { url: later.url });
    await server.graphql(NOTE, { input: { incidentId: incident, note: 'after' } });
    await eventually(() => later.accepted().length === 1, 'the later webhook gets the event');
    expect(target.requests).toHaveLength(3);
  });
});

describe('webhook delivery across a restart', () => {
  test('skips nothing: events queued, failing, or appended while the server was down all arrive, in order', async () => {
    let server = await LedgerServer.start({ env: FAST_DELIVERY });
    let accepting = true;
    const flaky = await WebhookReceiver.start((request, all) =>
      accepting ? failingFirst(3)(request, all) : 503,
    );
    try {
      const id = await register(server, { url: flaky.url });
      const incidents = await incidentActivity(server, 3);
      await eventually(() => firstAccepted(flaky).length >= 1, 'a first delivery');
      // Mid-delivery: from now on every attempt fails until the restart.
      accepting = false;
      const log = async () =>
        (await server.graphql(DELIVERIES, { id }, KEYS.admin)).data!.webhookDeliveries as any[];
      await eventually(
        async () =>
          (await log()).some((delivery) =>
            delivery.attempts.some((attempt: any) => attempt.statusCode === 503),
          ),
        'a refused attempt in the log',
      );
      expect((await log()).some((delivery) => delivery.status !== 'DELIVERED')).toBe(true);
      await server.stop();

      // Another writer (the CLI, a second instance) appends while this server is down.
      const store = SqliteEventStore.open(path.join(server.config.dataDir, 'events.db'));
      for (const incident of incidents) {
        const streamId = `incident-${incident}`;
        const version = await store.streamVersion(streamId);
        await store.appendToStream(streamId, [noteAddedWhileDown()], version);
      }
      await store.close();

      server = await LedgerServer.start({ dataDir: server.config.dataDir, env: FAST_DELIVERY });
      accepting = true;
      const expected = await incidentEventIdsAfter(server, '0');
      expect(expected).toHaveLength(12);
      await eventually(() => firstAccepted(flaky).length === 12, 'every event accepted after the restart');

      expect(
        firstAccepted(flaky)
          .map((event) => event.eventId)
          .sort(),
      ).toEqual([...expected].sort());
      expectInOrderPerIncident(flaky, incidents);
      // Queued once each: the restart resumed from the checkpoint, neither skipping nor repeating.
      expect((await log()).map((delivery) => delivery.eventId).sort()).toEqual([...expected].sort());
    } finally {
      await flaky.stop();
      await server.destroy();
    }
  });
});

describe('a registration cut off by a crash', () => {
  test('between the log and its secret: the secret kept before the append makes the webhook whole at the restart', async () => {
    let server = await LedgerServer.start({ env: FAST_DELIVERY });
    const target = await WebhookReceiver.start(() => 200);
    try {
      const input = { url: target.url, secret: SECRET, idempotencyKey: 'register-cut-off' };
      const first = await server.graphql(REGISTER, { input }, KEYS.admin);
      const { webhook, position } = first.data!.registerWebhook;
      await server.stop();
      // What a crash right after WebhookRegistered was appended leaves: the secret kept aside, and
      // neither the mutation nor the dispatcher having made it the webhook's.
      const webhooksDb = new Database(path.join(server.config.dataDir, 'webhooks.db'));
      webhooksDb.prepare('DELETE FROM webhooks WHERE id = ?').run(webhook.id);
      webhooksDb.prepare('INSERT INTO registering (id, secret) VALUES (?, ?)').run(webhook.id, SECRET);
      const before = BigInt(position) - 1n;
      webhooksDb.prepare('UPDATE checkpoint SET position = ?').run(before === 0n ? null : String(before));
      webhooksDb.close();

      server = await LedgerServer.start({ dataDir: server.config.dataDir, env: FAST_DELIVERY });

      const [incident] = await incidentActivity(server, 1);
      await eventually(() => target.accepted().length === 3, "the incident's events delivered");
      for (const request of target.accepted()) {
        expect(signatureIsValid(SECRET, request.headers['x-ledger-signature'], request.body)).toBe(true);
      }
      expect(JSON.parse(target.accepted()[0].body).streamId).toBe(`incident-${incident}`);
      // Its retry gets the first registration; another secret under its key is another request.
      expect((await server.graphql(REGISTER, { input }, KEYS.admin)).data).toEqual(first.data);
      const otherSecret = { ...input, secret: 'another-secret-0123456789' };
      expect(
        (await server.graphql(REGISTER, { input: otherSecret }, KEYS.admin)).errors![0].extensions!.code,
      ).toBe('BAD_USER_INPUT');
    } finally {
      await target.stop();
      await server.destroy();
    }
  });

  test('a webhook registered through another data dir is not made active here by a retry', async () => {
    let server = await LedgerServer.start({ env: FAST_DELIVERY });
    try {
      const input = {
        url: 'https://hooks.example.com/elsewhere',
        secret: SECRET,
        idempotencyKey: 'elsewhere',
      };
      const first = await server.graphql(REGISTER, { input }, KEYS.admin);
      await server.stop();
      // Another instance on the same log knows the webhook without its secret: the one that
      // registered it signs its deliveries, this one must not deliver them a second time.
      const webhooksDb = new Database(path.join(server.config.dataDir, 'webhooks.db'));
      webhooksDb.prepare('UPDATE webhooks SET secret = NULL').run();
      webhooksDb.close();
      server = await LedgerServer.start({ dataDir: server.config.dataDir, env: FAST_DELIVERY });

      const retried = await server.graphql(REGISTER, { input }, KEYS.admin);

      expect(retried.errors).toBeUndefined();
      expect(retried.data!.registerWebhook.webhook).toEqual({
        ...first.data!.registerWebhook.webhook,
        active: false,
      });
    } finally {
      await server.destroy();
    }
  });
});

function noteAddedWhileDown() {
  const now = new Date().toISOString();
  return {
    eventId: randomUUID(),
    type: 'InternalNoteAdded',
    schemaVersion: 1,
    data: { note: 'added by another instance while this one was down' },
    occurredAt: now,
    actor: 'alice',
    correlationId: randomUUID(),
    causationId: null,
    idempotencyKey: null,
    requestFingerprint: null,
  };
}
