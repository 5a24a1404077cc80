import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import type { Channel } from '../../../libs/domain/index.js';
import type { NotificationStatus } from '../../../libs/notifications/notification.js';
import { ChannelEnum } from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';

export const NotificationStatusEnum = {
  PENDING: 'PENDING',
  DELIVERED: 'DELIVERED',
  ABANDONED: 'ABANDONED',
} as const satisfies Record<NotificationStatus, NotificationStatus>;
registerEnumType(NotificationStatusEnum, {
  name: 'NotificationStatus',
  description:
    'PENDING: not yet accepted by the channel (retrying); ABANDONED: every allowed attempt failed.',
});

@ObjectType({ description: 'A customer update on one channel: whether and when it reached the channel.' })
export class NotificationDelivery {
  @Field(() => ID) notificationId!: string;
  @Field(() => ChannelEnum) channel!: Channel;
  @Field(() => NotificationStatusEnum) status!: NotificationStatus;
  @Field(() => Int, { description: 'Attempts started, the one in progress included.' }) attempts!: number;
  @Field(() => DateTime) queuedAt!: string;
  @Field(() => DateTime, { nullable: true }) nextAttemptAt!: string | null;
  @Field(() => DateTime, { nullable: true }) deliveredAt!: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      'The error of the last attempt that failed: kept once a later attempt delivered the notification, so ' +
      'not necessarily a current problem (see lastErrorAt). Null while no attempt has failed.',
  })
  lastError!: string | null;
  @Field(() => DateTime, {
    nullable: true,
    description:
      'When the attempt of lastError failed: before deliveredAt when a later attempt delivered it. For an ' +
      'attempt the server stopped during, when that was recorded (at the shutdown, or after the restart). ' +
      'Null while no attempt has failed, and for a failure recorded by a release before this field.',
  })
  lastErrorAt!: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      'The adapter that delivered it: smtp, webhook, or log (a stand-in: nothing left the server).',
  })
  adapter!: string | null;
}
