import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { incidentStreamId, type Channel, type CustomerUpdatePublished } from '../domain/index.js';
import {
  VersionConflictError,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../event-store/index.js';
import { tellRetry, type DeliveryLogHooks } from '../webhooks/delivery-log.js';
import { retryDelayMs, type DeliveryPolicy } from '../webhooks/delivery-policy.js';
import { DeliveryPump, type Outbox } from '../webhooks/delivery-pump.js';
import { FeedFollower } from '../feed-follower/feed-follower.js';
import {
  checkpointedBatch,
  openLocalDb,
  readCheckpoint,
  type CheckpointedBatch,
} from '../feed-follower/local-db.js';
import type { ChannelAdapters } from './channel-adapter.js';
import {
  evolveNotification,
  initialNotificationState,
  NOTIFICATION_STREAM_PREFIX,
  notificationId,
  notificationStreamId,
  type NotificationEvent,
  type NotificationState,
  type RecordedNotificationEvent,
} from './notification.js';
import {
  decideNotification,
  type NotificationCommand,
  type RecordAttemptFailure,
} from './notification.decide.js';
import {
  NotificationIndex,
  NOTIFICATIONS_FILE,
  NOTIFICATIONS_SCHEMA,
  NOTIFICATIONS_SCHEMA_VERSION,
  type DueNotification,
} from './notification-index.js';

/** The actor of the notification events: the server itself, not a person. */
export const NOTIFICATION_ACTOR = 'notification-dispatcher';

/** The error of an attempt that got no outcome: the process died during it, or a shutdown cut it off. */
export const SERVER_STOPPED =
  'the server stopped during this attempt: the channel may or may not have got it';

const CHANNELS: Channel[] = ['EMAIL', 'SMS', 'SOCIAL', 'WEBSITE', 'IN_APP', 'WEBHOOK'];
const INCIDENT_STREAM_PREFIX = incidentStreamId('');

export interface NotificationDispatcherOptions extends DeliveryLogHooks {
  policy: DeliveryPolicy;
  adapters: ChannelAdapters;
}

/**
 * Turns every public customer update into one notification per channel it asked for, and
 * delivers them through the channels' adapters. The outbox is the event store itself: each
 * notification is a stream (NotificationQueued, NotificationAttemptFailed, NotificationDelivered,
 * NotificationAbandoned), so its history is hash-chained and audited like the incident's.
 *
 * The follower queues (an append that only succeeds on a new stream, so a batch handled again
 * after a crash queues nothing twice) and indexes the notification streams in notifications.db,
 * with its checkpoint in the same transaction. The pump attempts what the index says is due,
 * judges the outcome against the stream (the truth) and appends it.
 */
export class NotificationDispatcher implements Outbox<DueNotification> {
  readonly index: NotificationIndex;
  private readonly follower: FeedFollower;
  private readonly pump: DeliveryPump<DueNotification>;
  private readonly indexBatch: CheckpointedBatch;

  constructor(
    private readonly store: EventStore,
    private readonly db: Database.Database,
    private readonly options: NotificationDispatcherOptions,
  ) {
    this.index = new NotificationIndex(db);
    this.indexBatch = checkpointedBatch(db, (events) => {
      for (const event of events) {
        if (event.streamId.startsWith(NOTIFICATION_STREAM_PREFIX)) this.index.apply(event);
      }
    });
    this.follower = new FeedFollower(
      store,
      {
        readCheckpoint: () => readCheckpoint(db),
        handleBatch: (events, from) => this.handleBatch(events, from),
      },
      { onError: options.onError },
    );
    this.pump = new DeliveryPump(this, options.policy.concurrency, options.onError);
  }

  /** Opens LEDGER_DATA_DIR/notifications.db (creating it when missing). */
  static open(
    dataDir: string,
    store: EventStore,
    options: NotificationDispatcherOptions,
  ): NotificationDispatcher {
    const db = openLocalDb(
      path.join(dataDir, NOTIFICATIONS_FILE),
      NOTIFICATIONS_SCHEMA,
      NOTIFICATIONS_SCHEMA_VERSION,
    );
    return new NotificationDispatcher(store, db, options);
  }

  assertWithinLog(): Promise<void> {
    return this.follower.assertWithinLog(
      this.db.name,
      'It is an index of the notification streams of the log: delete it (with its -wal and -shm ' +
        'files), and the server indexes them again.',
    );
  }

  start(): void {
    this.follower.start();
    this.pump.start();
  }

  /**
   * Stops following and attempting. Attempts in flight are cut off and recorded as failed ones the
   * server stopped during: each notification is attempted again after the restart, as the next attempt.
   */
  async stop(): Promise<void> {
    await this.follower.stop();
    await this.pump.stop();
  }

  close(): void {
    this.db.close();
  }

  lanes(): string[] {
    return CHANNELS;
  }

  due(lane: string, now: number, limit: number): DueNotification[] {
    return this.index.due(lane as Channel, now, limit);
  }

  nextDueAfter(now: number): number | null {
    return this.index.nextDueAfter(now);
  }

  /**
   * Attempt n is counted in the index (and not given out again before its deadline plus the
   * backoff) before the channel is called; the stream records its outcome when it ends. One the
   * process died during is counted in the index and not in the stream: it is recorded as failed
   * (the server stopped during it) once due again, and the next one is n + 1. So a crash loop
   * neither resends attempt 1 at every start nor keeps the notification (and the updates of its
   * incident behind it on the channel) from ever being abandoned.
   */
  async attempt(due: DueNotification, signal: AbortSignal): Promise<void> {
    const stream = await this.store.readStream(due.streamId);
    const state = stream.reduce(
      (current, event) => evolveNotification(current, event as unknown as RecordedNotificationEvent),
      initialNotificationState(),
    );
    const { policy } = this.options;
    if (state.status !== 'PENDING' || Date.parse(state.nextAttemptAt!) > Date.now()) {
      // The index lags behind the stream (another process recorded an outcome): let it catch up.
      await this.follower.waitFor(stream[stream.length - 1].globalPosition, policy.timeoutMs);
      return;
    }
    const attempt = state.attempts + 1;
    let command: NotificationCommand;
    if (this.index.startedAttempts(due.id) >= attempt) {
      // Started, never recorded: the server stopped during it. Its deadline and backoff are over.
      command = this.failure(attempt, SERVER_STOPPED, Date.now());
    } else {
      // Shutting down while the stream was read: not started, so not counted.
      if (signal.aborted) return;
      const retryDelay = retryDelayMs(policy, attempt);
      this.index.startAttempt(due.id, attempt, Date.now() + policy.timeoutMs + retryDelay);
      command = await this.send(state, attempt, retryDelay, signal);
      // Shutting down cut it off: it counts as a failed attempt, and the next one is made after
      // the restart (at least once).
      if (signal.aborted && command.type === 'RecordAttemptFailure') {
        command = this.failure(attempt, SERVER_STOPPED, Date.now() + retryDelay);
      }
    }
    const position = await this.append(due.streamId, command, state, due.correlationId);
    if (position !== null && command.type === 'RecordAttemptFailure') this.toldFailed(state, command.data);
    // The slot stays taken until the index shows the outcome, so the attempt is not made twice.
    if (position !== null && !signal.aborted) await this.follower.waitFor(position, policy.timeoutMs);
  }

  /** Tells the operator's log of a failed attempt just recorded: retried, or the last one. */
  private toldFailed(state: NotificationState, failed: RecordAttemptFailure['data']): void {
    const described = `Notification ${state.notificationId} of incident ${state.incidentId} on ${state.channel}`;
    if (failed.attempt >= failed.maxAttempts) {
      this.options.onGiveUp?.(
        `${described}: abandoned after ${failed.attempt} attempts; the last: ${failed.error}`,
      );
      return;
    }
    tellRetry(this.options, {
      delivery: {
        notificationId: state.notificationId,
        incidentId: state.incidentId,
        channel: state.channel!,
        updateVersion: state.updateVersion,
      },
      described: `${described} (the customer update at incident version ${state.updateVersion})`,
      attempt: failed.attempt,
      maxAttempts: failed.maxAttempts,
      error: failed.error,
      nextAttemptAt: Date.parse(failed.retryAt),
    });
  }

  /** Sends through the channel's adapter; the outcome as the command that records it. */
  private async send(
    state: NotificationState,
    attempt: number,
    retryDelay: number,
    signal: AbortSignal,
  ): Promise<NotificationCommand> {
    const adapter = this.options.adapters[state.channel!];
    try {
      const { detail } = await adapter.send(
        {
          notificationId: state.notificationId,
          incidentId: state.incidentId,
          channel: state.channel!,
          incidentStatus: state.incidentStatus!,
          message: state.message,
          attempt,
        },
        signal,
      );
      // Stamped once the channel answered: deliveredAt is when the update reached it.
      return {
        type: 'RecordDelivery',
        data: { attempt, adapter: adapter.name, detail },
        metadata: this.metadata(),
      };
    } catch (error) {
      return this.failure(attempt, describe(error), Date.now() + retryDelay);
    }
  }

  private failure(attempt: number, error: string, retryAt: number): NotificationCommand {
    return {
      type: 'RecordAttemptFailure',
      data: {
        attempt,
        error,
        retryAt: new Date(retryAt).toISOString(),
        maxAttempts: this.options.policy.maxAttempts,
      },
      metadata: this.metadata(),
    };
  }

  private async handleBatch(events: StoredEvent[], from: bigint | null): Promise<void> {
    for (const event of events) {
      if (event.type === 'CustomerUpdatePublished' && event.streamId.startsWith(INCIDENT_STREAM_PREFIX)) {
        await this.queueNotifications(event);
      }
    }
    this.indexBatch(events, from);
    this.pump.wake();
  }

  /** One notification per channel of a public update; internal updates are not for customers. */
  private async queueNotifications(update: StoredEvent): Promise<void> {
    const data = update.data as CustomerUpdatePublished['data'];
    if (data.visibility !== 'PUBLIC') return;
    for (const channel of new Set(data.channels)) {
      const id = notificationId(update.eventId, channel);
      const command: NotificationCommand = {
        type: 'QueueNotification',
        data: {
          notificationId: id,
          incidentId: update.streamId.slice(INCIDENT_STREAM_PREFIX.length),
          updateEventId: update.eventId,
          updateVersion: update.streamVersion,
          channel,
          incidentStatus: data.status,
          message: data.message,
        },
        metadata: this.metadata(),
      };
      await this.append(
        notificationStreamId(id),
        command,
        initialNotificationState(),
        update.correlationId,
        update.eventId,
      );
    }
  }

  /**
   * Decides and appends at the stream version the decision was made on. Null when another writer
   * got there first (a batch handled again after a crash, a second server): its outcome stands.
   */
  private async append(
    streamId: string,
    command: NotificationCommand,
    state: NotificationState,
    correlationId: string,
    causationId: string | null = null,
  ): Promise<bigint | null> {
    const events: NotificationEvent[] = decideNotification(command, state);
    const envelopes: NewEvent[] = events.map((event) => ({
      eventId: randomUUID(),
      type: event.type,
      schemaVersion: 1,
      data: event.data as Record<string, unknown>,
      occurredAt: command.metadata.occurredAt,
      actor: NOTIFICATION_ACTOR,
      correlationId,
      causationId,
      idempotencyKey: null,
      requestFingerprint: null,
    }));
    try {
      return (await this.store.appendToStream(streamId, envelopes, state.version)).position;
    } catch (error) {
      if (error instanceof VersionConflictError) return null;
      throw error;
    }
  }

  private metadata() {
    const now = new Date().toISOString();
    return { actor: NOTIFICATION_ACTOR, occurredAt: now, now };
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.slice(0, 500);
}
