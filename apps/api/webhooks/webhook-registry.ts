import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { incidentStreamId } from '../../../libs/domain/index.js';
import {
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
    const id = randomUUID();
    const data: WebhookRegisteredData = {
      url,
      eventTypes: input.eventTypes ?? [],
      incidentId: input.incidentId ?? null,
    };
    const { position } = await this.store.appendToStream(
      webhookStreamId(id),
      [envelope(WEBHOOK_REGISTERED, data, caller)],
      0,
    );
    const [registered] = await this.store.readStream(webhookStreamId(id));
    this.dispatcher.activate({ id, createdAt: registered.recordedAt, ...data }, input.secret);
    return { webhook: this.dispatcher.webhooks.webhook(id)!, position };
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
