import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { EventStore, StoredEvent } from '../event-store/index.js';
import { tellRetry, type DeliveryLogHooks } from './delivery-log.js';
import { retryDelayMs, type DeliveryPolicy } from './delivery-policy.js';
import { DeliveryPump, type Outbox } from './delivery-pump.js';
import { FeedFollower } from '../feed-follower/feed-follower.js';
import { postJson, type PostOutcome } from './http-post.js';
import {
  checkpointedBatch,
  openLocalDb,
  readCheckpoint,
  type CheckpointedBatch,
} from '../feed-follower/local-db.js';
import { SIGNATURE_HEADER, signWebhook } from './signature.js';
import {
  WEBHOOKS_FILE,
  WEBHOOKS_SCHEMA,
  WEBHOOKS_SCHEMA_VERSION,
  SERVER_STOPPED,
  WebhookDb,
  type DueDelivery,
  type Registration,
} from './webhook-db.js';
import {
  deliveryBody,
  incidentIdOf,
  WEBHOOK_REGISTERED,
  WEBHOOK_REMOVED,
  WEBHOOK_STREAM_PREFIX,
  type WebhookRegisteredData,
} from './webhook-events.js';

export interface WebhookDispatcherOptions extends DeliveryLogHooks {
  policy: DeliveryPolicy;
  /** The most response bytes read from a receiver. */
  maxResponseBytes: number;
}

/**
 * Turns the feed into signed webhook deliveries. The follower queues, for every event, one
 * delivery per matching webhook, and commits them with its checkpoint in one transaction of
 * webhooks.db: a restart neither skips nor queues twice. The pump then attempts them, in order per
 * stream (per incident) and webhook, retrying with backoff; each webhook is its own lane, so a
 * failing receiver only ever delays itself.
 */
export class WebhookDispatcher implements Outbox<DueDelivery> {
  readonly webhooks: WebhookDb;
  private readonly follower: FeedFollower;
  private readonly pump: DeliveryPump<DueDelivery>;
  private readonly queueBatch: CheckpointedBatch;

  constructor(
    store: EventStore,
    private readonly db: Database.Database,
    private readonly options: WebhookDispatcherOptions,
  ) {
    this.webhooks = new WebhookDb(db);
    this.queueBatch = checkpointedBatch(db, (events) => {
      for (const event of events) this.queue(event);
    });
    this.follower = new FeedFollower(
      store,
      {
        readCheckpoint: () => readCheckpoint(db),
        handleBatch: (events, from) => {
          this.queueBatch(events, from);
          this.pump.wake();
        },
      },
      { onError: options.onError },
    );
    this.pump = new DeliveryPump(this, options.policy.concurrency, options.onError);
  }

  /** Opens LEDGER_DATA_DIR/webhooks.db (creating it when missing). */
  static open(dataDir: string, store: EventStore, options: WebhookDispatcherOptions): WebhookDispatcher {
    const db = openLocalDb(path.join(dataDir, WEBHOOKS_FILE), WEBHOOKS_SCHEMA, WEBHOOKS_SCHEMA_VERSION);
    return new WebhookDispatcher(store, db, options);
  }

  assertWithinLog(): Promise<void> {
    return this.follower.assertWithinLog(
      this.db.name,
      'Restore it from the backup that events.db came from (copied before events.db, as the README ' +
        'says, it is never ahead). Without one, delete it (with its -wal and -shm files): the webhooks ' +
        'must then be registered again, as their secrets were only there.',
    );
  }

  start(): void {
    this.follower.start();
    this.pump.start();
  }

  /**
   * Stops following and attempting. Attempts in flight are cut off and recorded as failed ones the
   * server stopped during: each delivery is attempted again after the restart, as the next attempt.
   */
  async stop(): Promise<void> {
    await this.follower.stop();
    await this.pump.stop();
  }

  close(): void {
    this.db.close();
  }

  /**
   * Keeps the secret of a webhook just registered, and lets deliveries the follower queued for it
   * before the secret was known go now instead of at the next event.
   */
  activate(registration: Registration, secret: string): void {
    this.webhooks.saveSecret(registration, secret);
    this.pump.wake();
  }

  lanes(): string[] {
    return this.webhooks.activeIds();
  }

  due(lane: string, now: number, limit: number): DueDelivery[] {
    return this.webhooks.due(lane, now, limit);
  }

  nextDueAfter(now: number): number | null {
    return this.webhooks.nextDueAfter(now);
  }

  /**
   * Attempt n is recorded as started (counted, and not due again before its deadline plus the
   * backoff) before the request goes, and its outcome when it ends. An attempt the process dies
   * during stays in the log as one the server stopped during, and the next one is n + 1, after the
   * backoff: a crash loop neither resends attempt 1 at every start nor keeps the delivery (and the
   * events of its stream behind it) from ever being given up.
   */
  async attempt(delivery: DueDelivery, signal: AbortSignal): Promise<void> {
    const { policy } = this.options;
    if (delivery.attempts >= policy.maxAttempts) {
      // The last allowed attempt was started and the server stopped during it.
      this.webhooks.giveUpStopped(delivery.id, delivery.attempts);
      this.toldGivenUp(delivery, delivery.attempts, SERVER_STOPPED);
      return;
    }
    const attempt = delivery.attempts + 1;
    const headers = {
      [SIGNATURE_HEADER]: signWebhook(delivery.secret, delivery.body),
      'X-Ledger-Delivery-Id': delivery.id,
      'X-Ledger-Event-Id': delivery.eventId,
      'X-Ledger-Attempt': String(attempt),
    };
    const retryDelay = retryDelayMs(policy, attempt);
    const attemptedAt = new Date();
    const nextIfCutOff = attemptedAt.getTime() + policy.timeoutMs + retryDelay;
    if (!this.webhooks.startAttempt(delivery.id, attempt, attemptedAt.toISOString(), nextIfCutOff)) return;
    let outcome: PostOutcome = { statusCode: null, error: SERVER_STOPPED, latencyMs: 0 };
    try {
      outcome = await postJson(delivery.url, delivery.body, headers, {
        timeoutMs: policy.timeoutMs,
        maxResponseBytes: this.options.maxResponseBytes,
        signal,
      });
      // Shutting down cut it off: whatever the receiver got, no answer came. It counts as a
      // failed attempt, and the next one is made after the restart (at least once).
      if (signal.aborted && outcome.error !== null) {
        outcome = { statusCode: null, error: SERVER_STOPPED, latencyMs: outcome.latencyMs };
      }
    } finally {
      const delivered = outcome.error === null;
      const status = delivered
        ? 'DELIVERED'
        : attempt >= policy.maxAttempts
          ? 'GAVE_UP'
          : 'FAILED_WILL_RETRY';
      const nextAttemptAt = Date.now() + (status === 'FAILED_WILL_RETRY' ? retryDelay : 0);
      const moved = this.webhooks.finishAttempt(delivery.id, { attempt, ...outcome }, status, nextAttemptAt);
      // Not moved: the webhook was removed during the attempt, and that gave the delivery up.
      if (moved && status === 'GAVE_UP') this.toldGivenUp(delivery, attempt, outcome.error!);
      if (moved && status === 'FAILED_WILL_RETRY') {
        this.toldRetry(delivery, attempt, outcome.error!, nextAttemptAt);
      }
    }
  }

  private toldRetry(delivery: DueDelivery, attempt: number, error: string, nextAttemptAt: number): void {
    tellRetry(this.options, {
      delivery: {
        webhookId: delivery.webhookId,
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        eventType: delivery.eventType,
        position: delivery.position,
      },
      described:
        `Webhook ${delivery.webhookId}, delivery ${delivery.id} of event ${delivery.eventId} ` +
        `(${delivery.eventType} at position ${delivery.position})`,
      attempt,
      maxAttempts: this.options.policy.maxAttempts,
      error,
      nextAttemptAt,
    });
  }

  private toldGivenUp(delivery: DueDelivery, attempts: number, lastError: string): void {
    this.options.onGiveUp?.(
      `Webhook ${delivery.webhookId}: gave up delivering event ${delivery.eventId} (delivery ` +
        `${delivery.id}) after ${attempts} attempts; the last: ${lastError}`,
    );
  }

  private queue(event: StoredEvent): void {
    if (event.streamId.startsWith(WEBHOOK_STREAM_PREFIX)) {
      this.applyRegistration(event);
      return;
    }
    const incidentId = incidentIdOf(event);
    const createdAt = new Date().toISOString();
    for (const webhook of this.webhooks.listening()) {
      if (webhook.eventTypes.length > 0 && !webhook.eventTypes.includes(event.type)) continue;
      if (webhook.incidentId !== null && webhook.incidentId !== incidentId) continue;
      this.webhooks.insertDelivery({
        id: randomUUID(),
        webhookId: webhook.id,
        position: event.globalPosition.toString(),
        eventId: event.eventId,
        eventType: event.type,
        streamId: event.streamId,
        incidentId,
        body: deliveryBody(event),
        nextAttemptAt: Date.now(),
        createdAt,
      });
    }
  }

  /** Registrations take effect at their place in the feed: a webhook gets the events after it. */
  private applyRegistration(event: StoredEvent): void {
    const id = event.streamId.slice(WEBHOOK_STREAM_PREFIX.length);
    if (event.type === WEBHOOK_REGISTERED) {
      this.webhooks.startListening({
        id,
        createdAt: event.recordedAt,
        ...(event.data as WebhookRegisteredData),
      });
    } else if (event.type === WEBHOOK_REMOVED) {
      this.webhooks.stopListening(id, event.recordedAt);
    }
  }
}
