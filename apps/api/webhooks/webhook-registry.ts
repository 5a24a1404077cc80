import { randomUUID, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { incidentStreamId } from '../../../libs/domain/index.js';
import {
  DuplicateIdempotencyKeyError,
  EVENT_STORE,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../../../libs/event-store/index.js';
import type { Webhook as WebhookRecord } from '../../../libs/webhooks/webhook-db.js';
import { WebhookDispatcher } from '../../../libs/webhooks/webhook-dispatcher.js';
import {
  checkWebhookUrl,
  InvalidWebhookUrlError,
  WEBHOOK_REGISTERED,
  WEBHOOK_REMOVED,
  webhookStreamId,
  type WebhookRegisteredData,
} from '../../../libs/webhooks/webhook-events.js';
import { requestFingerprint } from '../commands/command-sender.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import type { RegisterWebhookInput } from './webhook.types.js';

export interface WebhookChange {
  webhook: WebhookRecord;
  position: bigint;
}

interface Caller {
  actor: string;
  correlationId: string;
}

/**
 * Registrations are events of stream `webhook-<id>` (who registered what, and when, is audited
 * with everything else); the secret never enters the log: it is kept in webhooks.db only.
 */
@Injectable()
export class WebhookRegistry {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  /**
   * With an idempotency key, a retry gets the webhook the first request registered (a timeout's
   * retry must not register it twice: every event would be delivered twice).
   */
  async register(input: RegisterWebhookInput, caller: Caller): Promise<WebhookChange> {
    let url: string;
    try {
      url = checkWebhookUrl(input.url);
    } catch (error) {
      if (error instanceof InvalidWebhookUrlError) throw new BadUserInputError(error.message);
      throw error;
    }
    // Incident ids are the server's: a webhook for one that does not exist could never fire.
    if (input.incidentId && (await this.store.streamVersion(incidentStreamId(input.incidentId))) === 0) {
      throw new NotFoundError(`Incident ${input.incidentId} does not exist`);
    }
    // The secret never enters the log, nor does a hash of it: a retry's secret is compared with the
    // one kept here.
    const { secret, ...logged } = input;
    const fingerprint = input.idempotencyKey
      ? requestFingerprint('registerWebhook', logged, caller.actor)
      : null;
    const earlier = await this.earlierRegistration(input.idempotencyKey, fingerprint, secret);
    if (earlier) return earlier;
    const id = randomUUID();
    const data: WebhookRegisteredData = {
      url,
      eventTypes: input.eventTypes ?? [],
      incidentId: input.incidentId ?? null,
    };
    // Kept before the log has the registration: a crash after the append loses no secret.
    this.dispatcher.webhooks.noteRegistering(id, secret);
    let position: bigint;
    try {
      ({ position } = await this.store.appendToStream(
        webhookStreamId(id),
        [
          {
            ...envelope(WEBHOOK_REGISTERED, data, caller),
            idempotencyKey: input.idempotencyKey ?? null,
            requestFingerprint: fingerprint,
          },
        ],
        0,
      ));
    } catch (error) {
      this.dispatcher.webhooks.forgetRegistering(id);
      // A concurrent retry registered it first.
      if (!(error instanceof DuplicateIdempotencyKeyError)) throw error;
      return (await this.earlierRegistration(input.idempotencyKey, fingerprint, secret))!;
    }
    const [registered] = await this.store.readStream(webhookStreamId(id));
    this.dispatcher.activate({ id, createdAt: registered.recordedAt, ...data }, secret);
    return { webhook: this.dispatcher.webhooks.webhook(id)!, position };
  }

  /** What the first request with this key registered; null for a new key. */
  private async earlierRegistration(
    key: string | undefined,
    fingerprint: string | null,
    secret: string,
  ): Promise<WebhookChange | null> {
    if (!key) return null;
    const [registered] = await this.store.findByIdempotencyKey(key);
    if (!registered) return null;
    const registration = registrationOf(registered);
    const knownSecret = this.dispatcher.webhooks.secretOf(registration.id);
    if (
      registered.requestFingerprint !== fingerprint ||
      (knownSecret !== null && !sameSecret(knownSecret, secret))
    ) {
      throw new BadUserInputError('This idempotency key was already used for a different request', {
        idempotencyKey: key,
      });
    }
    // Registered here, and not yet made the webhook's (the first request is still on its way, or
    // the dispatcher has not reached it since a crash): the same secret, made so now.
    if (this.dispatcher.webhooks.registeringSecretOf(registration.id) !== null) {
      this.dispatcher.activate(registration, secret);
    }
    return {
      webhook: this.dispatcher.webhooks.webhook(registration.id)!,
      position: registered.globalPosition,
    };
  }

  /** Stops deliveries at once; the ones still open are given up. Removing twice changes nothing. */
  async remove(id: string, caller: Caller): Promise<WebhookChange> {
    const stream = await this.store.readStream(webhookStreamId(id));
    const registered = stream.find((event) => event.type === WEBHOOK_REGISTERED);
    if (!registered) throw new NotFoundError(`Webhook ${id} does not exist`);
    const removed = stream.find((event) => event.type === WEBHOOK_REMOVED);
    const position = removed
      ? removed.globalPosition
      : (
          await this.store.appendToStream(
            webhookStreamId(id),
            [envelope(WEBHOOK_REMOVED, {}, caller)],
            stream.length,
          )
        ).position;
    const removedAt =
      removed?.recordedAt ?? (await this.store.readStream(webhookStreamId(id))).at(-1)!.recordedAt;
    this.dispatcher.webhooks.markRemoved(registrationOf(registered), removedAt);
    return { webhook: this.dispatcher.webhooks.webhook(id)!, position };
  }
}

/** Compared in constant time: how long the comparison takes says nothing of the secret. */
function sameSecret(known: string, given: string): boolean {
  const [a, b] = [Buffer.from(known), Buffer.from(given)];
  return a.length === b.length && timingSafeEqual(a, b);
}

function registrationOf(event: StoredEvent) {
  const id = event.streamId.slice(webhookStreamId('').length);
  return { id, createdAt: event.recordedAt, ...(event.data as WebhookRegisteredData) };
}

function envelope(type: string, data: Record<string, unknown>, caller: Caller): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    occurredAt: new Date().toISOString(),
    actor: caller.actor,
    correlationId: caller.correlationId,
    causationId: null,
    idempotencyKey: null,
    requestFingerprint: null,
  };
}
