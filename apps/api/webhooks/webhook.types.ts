import { Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsIn,
  IsOptional,
  IsUrl,
  IsUUID,
  MaxLength,
  MinLength,
} from 'class-validator';
import { INCIDENT_EVENT_TYPES, MAINTENANCE_EVENT_TYPES } from '../../../libs/domain/index.js';
import { NOTIFICATION_EVENT_TYPES } from '../../../libs/notifications/notification.js';
import type { DeliveryStatus } from '../../../libs/webhooks/webhook-db.js';
import { IdempotencyKeyField } from '../commands/command-input.js';
import { DateTime } from '../graphql/scalars.js';

/** The event types a webhook may ask for. */
export const SUBSCRIBABLE_EVENT_TYPES: readonly string[] = [
  ...INCIDENT_EVENT_TYPES,
  ...MAINTENANCE_EVENT_TYPES,
  ...NOTIFICATION_EVENT_TYPES,
];

export const SECRET_MIN = 16;

export const DeliveryStatusEnum = {
  PENDING: 'PENDING',
  DELIVERED: 'DELIVERED',
  FAILED_WILL_RETRY: 'FAILED_WILL_RETRY',
  GAVE_UP: 'GAVE_UP',
} as const satisfies Record<DeliveryStatus, DeliveryStatus>;
registerEnumType(DeliveryStatusEnum, {
  name: 'WebhookDeliveryStatus',
  description: 'GAVE_UP: every allowed attempt failed, or the webhook was removed first.',
});

@InputType()
export class RegisterWebhookInput {
  @Field(() => String, { description: 'Where deliveries are POSTed: an absolute http:// or https:// URL.' })
  @MaxLength(2_000)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_host: true },
    { message: 'url must be an absolute http:// or https:// URL' },
  )
  url!: string;

  @Field(() => String, {
    description: `Signs every delivery (X-Ledger-Signature); at least ${SECRET_MIN} characters. Never shown again.`,
  })
  @MinLength(SECRET_MIN)
  @MaxLength(256)
  secret!: string;

  @Field(() => [String], { nullable: true, description: 'Only these event types; omitted or empty: all.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE_EVENT_TYPES, { each: true, message: 'eventTypes must hold known event types only' })
  eventTypes?: string[];

  @Field(() => ID, { nullable: true, description: "Only this incident's events." })
  @IsOptional()
  @IsUUID()
  incidentId?: string;

  @IdempotencyKeyField()
  idempotencyKey?: string;
}

@ObjectType()
export class Webhook {
  @Field(() => ID) id!: string;
  @Field(() => String) url!: string;
  @Field(() => [String], { description: 'Empty: every type.' }) eventTypes!: string[];
  @Field(() => ID, { nullable: true }) incidentId!: string | null;
  @Field(() => DateTime) createdAt!: string;
  @Field(() => DateTime, { nullable: true }) removedAt!: string | null;
  @Field(() => Boolean, {
    description: 'Deliveries are being made: not removed, and its secret is known here.',
  })
  active!: boolean;
}

@ObjectType()
export class WebhookPayload {
  @Field(() => Webhook) webhook!: Webhook;
  @Field(() => String, { description: 'The position of the registration (or removal) in the feed.' })
  position!: string;
}

@ObjectType()
export class WebhookDeliveryAttempt {
  @Field(() => Int) attempt!: number;
  @Field(() => DateTime) attemptedAt!: string;
  @Field(() => Int, {
    nullable: true,
    description:
      'Null when no response came (refused, timed out, in progress, or the server stopped during it).',
  })
  statusCode!: number | null;
  @Field(() => String, {
    nullable: true,
    description:
      'Null when the receiver accepted it. An attempt the server stopped during (a crash, a shutdown) says so: ' +
      'the receiver may or may not have got it.',
  })
  error!: string | null;
  @Field(() => Int) latencyMs!: number;
}

@ObjectType()
export class WebhookDelivery {
  @Field(() => ID) id!: string;
  @Field(() => ID) webhookId!: string;
  @Field(() => String) position!: string;
  @Field(() => ID) eventId!: string;
  @Field(() => String) eventType!: string;
  @Field(() => String) streamId!: string;
  @Field(() => ID, { nullable: true }) incidentId!: string | null;
  @Field(() => DeliveryStatusEnum) status!: DeliveryStatus;
  @Field(() => DateTime) createdAt!: string;
  @Field(() => DateTime, { nullable: true }) nextAttemptAt!: string | null;
  @Field(() => [WebhookDeliveryAttempt]) attempts!: WebhookDeliveryAttempt[];
}
