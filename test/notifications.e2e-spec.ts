import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SMTPServer } from 'smtp-server';
import { eventually, WebhookReceiver } from '../libs/webhooks/testing/webhook-receiver.js';
import { declareIncident, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

const POST = mutation('postStatusUpdate', 'PostStatusUpdateInput');
const WEBHOOK_SECRET = 'notify-secret-0123456789';
const COMMUNICATIONS = `query($id: ID!) { communications(incidentId: $id) {
  updates { version message channels deliveries { channel status attempts adapter deliveredAt lastError lastErrorAt } } } }`;

interface Email {
  raw: string;
  messageId: string;
}

/** A real SMTP server that turns away the first try of every message (451), then accepts it. */
async function startSmtpServer() {
  const accepted: Email[] = [];
  const refused = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => {
        const messageId = /^Message-ID:\s*(\S+)/im.exec(raw)?.[1] ?? '';
        if (!refused.has(messageId)) {
          refused.add(messageId);
          const busy = Object.assign(new Error('Try again later'), { responseCode: 451 });
          callback(busy);
          return;
        }
        accepted.push({ raw, messageId });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    accepted,
    url: `smtp://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('customer notification dispatch', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let receiver: WebhookReceiver;
  let server: LedgerServer;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    receiver = await WebhookReceiver.start(() => 200);
    server = await LedgerServer.start({
      env: {
        LEDGER_SMTP_URL: smtp.url,
        LEDGER_SMTP_FROM: 'status@example.com',
        LEDGER_SMTP_TO: 'customers@example.com',
        LEDGER_NOTIFICATION_WEBHOOK_URL: receiver.url,
        LEDGER_NOTIFICATION_WEBHOOK_SECRET: WEBHOOK_SECRET,
        LEDGER_DELIVERY_BASE_DELAY_MS: '5',
        LEDGER_DELIVERY_MAX_DELAY_MS: '20',
        LEDGER_DELIVERY_TIMEOUT_MS: '2000',
      },
    });
  });
  afterAll(async () => {
    await server.destroy();
    await receiver.stop();
    await smtp.stop();
  });

  test('each public update goes out once per channel it asked for; the communications log shows which and when', async () => {
    const { id } = await declareIncident(server);
    const updates = [
      { message: 'Checkout fails for some EU customers. We are investigating.', channels: ['EMAIL', 'SMS'] },
      { message: 'Internal: the rollback is under way.', channels: ['EMAIL'], visibility: 'INTERNAL' },
      {
        message: 'We found the cause: a bad deploy. Paying by invoice works meanwhile.',
        channels: ['WEBSITE', 'WEBHOOK'],
      },
      {
        message: 'A fix is rolling out. Next update within 30 minutes.',
        channels: ['EMAIL', 'WEBHOOK', 'IN_APP'],
      },
    ];
    for (const update of updates) {
      const result = await server.graphql(
        POST,
        { input: { incidentId: id, status: 'INVESTIGATING', ...update } },
        KEYS.communicator,
      );
      expect(result.errors).toBeUndefined();
    }

    const log = async () =>
      (await server.graphql(COMMUNICATIONS, { id }, KEYS.auditor)).data!.communications.updates as any[];
    await eventually(
      async () =>
        (await log()).flatMap((update) => update.deliveries).filter((d: any) => d.status === 'DELIVERED')
          .length === 7,
      'seven notifications delivered',
    );

    // Email: one per public update that asked for it, with its text, after one refused try each.
    expect(smtp.accepted).toHaveLength(2);
    expect(smtp.accepted[0].raw).toContain(updates[0].message);
    expect(smtp.accepted[1].raw).toContain(updates[3].message);
    expect(smtp.accepted[0].raw).toMatch(/^To: customers@example\.com/m);
    expect(smtp.accepted.some((email) => email.raw.includes('rollback is under way'))).toBe(false);

    // Webhook channel: signed, in the order of the updates.
    expect(receiver.accepted().map((request) => JSON.parse(request.body).message)).toEqual([
      updates[2].message,
      updates[3].message,
    ]);
    for (const request of receiver.accepted()) {
      const { t, v1 } = Object.fromEntries(
        String(request.headers['x-ledger-signature'])
          .split(',')
          .map((part) => part.split('=')),
      );
      expect(v1).toBe(createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${request.body}`).digest('hex'));
    }

    const byMessage = new Map((await log()).map((update) => [update.message, update.deliveries]));
    const summary = (message: string) =>
      byMessage
        .get(message)
        .map((d: any) => [d.channel, d.status, d.attempts, d.adapter, d.deliveredAt !== null]);
    expect(summary(updates[0].message)).toEqual([
      ['EMAIL', 'DELIVERED', 2, 'smtp', true],
      ['SMS', 'DELIVERED', 1, 'log', true],
    ]);
    expect(summary(updates[1].message)).toEqual([]);
    expect(summary(updates[2].message)).toEqual([
      ['WEBHOOK', 'DELIVERED', 1, 'webhook', true],
      ['WEBSITE', 'DELIVERED', 1, 'log', true],
    ]);
    expect(summary(updates[3].message)).toEqual([
      ['EMAIL', 'DELIVERED', 2, 'smtp', true],
      ['IN_APP', 'DELIVERED', 1, 'log', true],
      ['WEBHOOK', 'DELIVERED', 1, 'webhook', true],
    ]);
    // Delivered, it still shows why attempt 1 failed: the last failed attempt's error, and when.
    const email = byMessage.get(updates[0].message)[0];
    expect(email.lastError).toMatch(/451|Try again later/);
    expect(email.lastErrorAt <= email.deliveredAt).toBe(true);

    // The outbox is in the event store, one stream per notification, written by the dispatcher.
    const feed = await server.graphql(
      `{ events(streamPrefix: "notification-", first: 100) { edges { node { type streamId actor } } } }`,
      {},
      KEYS.auditor,
    );
    const events = feed.data!.events.edges.map((edge: any) => edge.node);
    const count = (type: string) => events.filter((event: any) => event.type === type).length;
    expect([
      count('NotificationQueued'),
      count('NotificationAttemptFailed'),
      count('NotificationDelivered'),
    ]).toEqual([7, 2, 7]);
    expect(new Set(events.map((event: any) => event.actor))).toEqual(new Set(['notification-dispatcher']));
  });

  test('deliveredAt is when the channel answered, not when the attempt began', async () => {
    const { id } = await declareIncident(server);
    let answeredAt = '';
    receiver.answer = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      answeredAt = new Date().toISOString();
      return 200;
    };
    try {
      const posted = await server.graphql(
        POST,
        {
          input: {
            incidentId: id,
            status: 'INVESTIGATING',
            message: 'Looking into it.',
            channels: ['WEBHOOK'],
          },
        },
        KEYS.communicator,
      );
      expect(posted.errors).toBeUndefined();
      const delivery = async () =>
        (await server.graphql(COMMUNICATIONS, { id }, KEYS.communicator)).data!.communications.updates[0]
          .deliveries[0];
      await eventually(async () => (await delivery())?.status === 'DELIVERED', 'the delivery');
      expect((await delivery()).deliveredAt >= answeredAt).toBe(true);
    } finally {
      receiver.answer = () => 200;
    }
  });
});
