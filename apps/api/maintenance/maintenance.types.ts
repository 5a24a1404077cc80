import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import type { Channel, MaintenanceState, MaintenanceStatus } from '../../../libs/domain/index.js';
import { ChannelEnum, MaintenanceStatusEnum } from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';

@ObjectType()
export class AdvanceNotice {
  @Field(() => [ChannelEnum]) channels!: Channel[];
  @Field(() => String) message!: string;
}

@ObjectType({ description: 'Maintenance as a status page announces it.' })
export class PublicMaintenance {
  @Field(() => ID) id!: string;
  @Field(() => String) title!: string;
  @Field(() => MaintenanceStatusEnum) status!: MaintenanceStatus;
  @Field(() => DateTime) windowStart!: string;
  @Field(() => DateTime) windowEnd!: string;
  @Field(() => [String]) services!: string[];
}

@ObjectType({ description: 'A scheduled maintenance window (stream maintenance-<id>).' })
export class Maintenance extends PublicMaintenance implements Omit<MaintenanceState, 'exists' | 'id'> {
  @Field(() => AdvanceNotice, { nullable: true }) advanceNotice!: AdvanceNotice | null;
  @Field(() => DateTime) scheduledAt!: string;
  @Field(() => String) scheduledBy!: string;
  @Field(() => Int) rescheduleCount!: number;
  @Field(() => DateTime, { nullable: true, description: 'When it was last rescheduled.' })
  rescheduledAt!: string | null;
  @Field(() => DateTime, { nullable: true }) startedAt!: string | null;
  @Field(() => DateTime, { nullable: true }) completedAt!: string | null;
  @Field(() => String, { nullable: true }) completionSummary!: string | null;
  @Field(() => DateTime, { nullable: true }) cancelledAt!: string | null;
  @Field(() => String, { nullable: true }) cancellationReason!: string | null;
  @Field(() => Int) version!: number;
}

@ObjectType()
export class MaintenancePayload {
  @Field(() => Maintenance) maintenance!: Maintenance;
  @Field(() => Int) version!: number;
  @Field(() => String, { description: 'The global position appended; pass it as consistentWith.' })
  position!: string;
}
