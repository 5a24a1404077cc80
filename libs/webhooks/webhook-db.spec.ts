import { describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { WEBHOOKS_SCHEMA, WebhookDb, type NewDelivery } from './webhook-db.js';

const NOW = 1_000_000;
const WEBHOOK = {
  id: 'w1',
  url: 'https://hooks.example.com/',
  eventTypes: [],
  incidentId: null,
  createdAt: 'x',
};

/** A webhooks.db in memory, with every statement WebhookDb prepares. */
function webhookDb() {
  const db = new Database(':memory:');
  db.exec(WEBHOOKS_SCHEMA);
  const statements: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    statements.push(source);
    return prepare(source);
  }) as typeof db.prepare;
  const webhooks = new WebhookDb(db);
  webhooks.startListening(WEBHOOK);
  webhooks.saveSecret(WEBHOOK, 'a-long-enough-secret');
  let seq = 0;
  const deliver = (streamId: string, nextAttemptAt = NOW): string => {
    const id = `d${++seq}`;
    const delivery: NewDelivery = {
      id,
      webhookId: WEBHOOK.id,
      position: String(seq),
      eventId: `e${seq}`,
      eventType: 'InternalNoteAdded',
      streamId,
      incidentId: null,
      body: '{}',
      nextAttemptAt,
      createdAt: 'x',
    };
    webhooks.insertDelivery(delivery);
    return id;
  };
  const close = (id: string) => {
    webhooks.startAttempt(id, 1, 'x', NOW + 1_000);
    webhooks.finishAttempt(id, { attempt: 1, statusCode: 200, error: null, latencyMs: 1 }, 'DELIVERED', NOW);
  };
  return { db, webhooks, deliver, close, statements };
}

describe('the due deliveries of a webhook', () => {
  it('are the oldest open delivery of each stream, when due, oldest first', () => {
    const { webhooks, deliver, close } = webhookDb();
    const a1 = deliver('incident-a');
    deliver('incident-a');
    const b1 = deliver('incident-b', NOW + 1);
    deliver('incident-b');
    const c1 = deliver('incident-c');
    close(c1);
    const c2 = deliver('incident-c');
    const d1 = deliver('incident-d');

    expect(webhooks.due(WEBHOOK.id, NOW, 10).map((due) => due.id)).toEqual([a1, c2, d1]);
    expect(webhooks.due(WEBHOOK.id, NOW, 2).map((due) => due.id)).toEqual([a1, c2]);
    expect(webhooks.due(WEBHOOK.id, NOW + 1, 10).map((due) => due.id)).toEqual([a1, b1, c2, d1]);
    webhooks.markRemoved(WEBHOOK, 'x');
    expect(webhooks.due(WEBHOOK.id, NOW, 10)).toEqual([]);
  });

  it('are found without reading the delivered history or the open backlog behind each stream', () => {
    const { db, statements } = webhookDb();
    const due = statements.find((source) => source.includes('@now') && source.includes('@limit'))!;
    const plan = db
      .prepare<[{ webhookId: string; now: number; limit: number }], { detail: string }>(
        `EXPLAIN QUERY PLAN ${due}`,
      )
      .all({ webhookId: WEBHOOK.id, now: NOW, limit: 10 })
      .map((step) => step.detail);
    const deliveryReads = plan.filter((detail) => / (deliveries|d|e) /.test(`${detail} `));
    expect(deliveryReads.length).toBeGreaterThan(0);
    // Only the index of open deliveries by stream, searched per stream, and single rows by key.
    for (const detail of deliveryReads) {
      expect(detail).toMatch(
        /USING INDEX deliveries_open_by_stream \(webhook_id=\? AND stream_id[=>]\?\)|USING INDEX deliveries_open_by_stream \(webhook_id=\?\)$|INTEGER PRIMARY KEY/,
      );
    }
  });
});
