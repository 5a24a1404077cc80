import { randomUUID } from 'node:crypto';
import { Args, Context, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { WebhookDispatcher } from '../../../libs/webhooks/webhook-dispatcher.js';
import type { Principal } from '../auth/api-key-ring.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles, WEBHOOK_READERS } from '../auth/roles.decorator.js';
import type { LedgerContext } from '../graphql/context.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { WebhookRegistry, type WebhookChange } from './webhook-registry.js';
import { RegisterWebhookInput, Webhook, WebhookDelivery, WebhookPayload } from './webhook.types.js';

/** Webhooks: admins register and remove them; admins and auditors read them and their delivery log. */
@Resolver()
export class WebhooksResolver {
  constructor(
    private readonly registry: WebhookRegistry,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  @Mutation(() => WebhookPayload, { description: 'Starts signed deliveries of the events after this one.' })
  @Roles('admin')
  async registerWebhook(
    @Args('input') input: RegisterWebhookInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ): Promise<WebhookPayload> {
    return toPayload(await this.registry.register(input, caller(principal, context)));
  }

  @Mutation(() => WebhookPayload, { description: 'Stops deliveries; the ones still open are given up.' })
  @Roles('admin')
  async removeWebhook(
    @Args('id', { type: () => ID }, uuidPipe('id')) id: string,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ): Promise<WebhookPayload> {
    return toPayload(await this.registry.remove(id, caller(principal, context)));
  }

  @Query(() => [Webhook], { description: 'Every webhook registered on this server, oldest first.' })
  @Roles(...WEBHOOK_READERS)
  webhooks(): Webhook[] {
    return this.dispatcher.webhooks.webhooks();
  }

  @Query(() => [WebhookDelivery], {
    description: 'The delivery log of a webhook, newest first: each event queued for it and every attempt.',
  })
  @Roles(...WEBHOOK_READERS)
  webhookDeliveries(
    @Args('webhookId', { type: () => ID }, uuidPipe('webhookId')) webhookId: string,
    @Args('first', { type: () => Int, defaultValue: 50 }) first: number,
  ): WebhookDelivery[] {
    if (first < 1 || first > 200) throw new BadUserInputError('first must be from 1 to 200');
    if (!this.dispatcher.webhooks.webhook(webhookId))
      throw new NotFoundError(`Webhook ${webhookId} does not exist`);
    return this.dispatcher.webhooks.deliveries(webhookId, first);
  }
}

function caller(principal: Principal, context: LedgerContext) {
  return {
    actor: principal.actor,
    correlationId: String((context.req as { id?: unknown }).id ?? randomUUID()),
  };
}

function toPayload({ webhook, position }: WebhookChange): WebhookPayload {
  return { webhook, position: position.toString() };
}
