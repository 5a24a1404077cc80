import { Field, ID, InputType } from '@nestjs/graphql';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsDate,
  IsIn,
  IsOptional,
  IsUUID,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import type { Channel, MaintenanceStatus } from '../../../libs/domain/index.js';
import {
  CommandInput,
  StreamActionInput,
  REASON_MAX,
  SERVICE_NAME,
  SERVICES_MAX,
  TEXT_MAX,
  TITLE_MAX,
} from '../commands/command-input.js';
import { ChannelEnum, MaintenanceStatusEnum } from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';
import { IsNotBefore } from '../graphql/validation.js';

const SERVICE_NAME_MESSAGE = 'each service name must be 1-100 letters, digits, spaces or ._/&()-';

@InputType()
export class AdvanceNoticeInput {
  @Field(() => [ChannelEnum])
  @ArrayMaxSize(6)
  @IsIn(Object.values(ChannelEnum), { each: true })
  channels!: Channel[];
  @Field(() => String) @MaxLength(TEXT_MAX) message!: string;
}

@InputType()
export class ScheduleMaintenanceInput extends CommandInput {
  @Field(() => String) @MaxLength(TITLE_MAX) title!: string;
  @Field(() => DateTime) @IsDate() windowStart!: Date;
  @Field(() => DateTime) @IsDate() windowEnd!: Date;
  @Field(() => [String], { description: 'The services it affects, by name (at least one).' })
  @ArrayMinSize(1)
  @ArrayMaxSize(SERVICES_MAX)
  @ArrayUnique()
  @Matches(SERVICE_NAME, { each: true, message: SERVICE_NAME_MESSAGE })
  services!: string[];
  @Field(() => AdvanceNoticeInput, {
    nullable: true,
    description: 'What customers were told ahead, and where.',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => AdvanceNoticeInput)
  advanceNotice?: AdvanceNoticeInput;
}

/** Start, and any other transition that needs nothing but the maintenance. */
@InputType()
export class MaintenanceActionInput extends StreamActionInput {
  @Field(() => ID) @IsUUID() maintenanceId!: string;
}

@InputType()
export class RescheduleMaintenanceInput extends MaintenanceActionInput {
  @Field(() => DateTime) @IsDate() windowStart!: Date;
  @Field(() => DateTime) @IsDate() windowEnd!: Date;
  @Field(() => String) @MaxLength(REASON_MAX) reason!: string;
}

@InputType()
export class CancelMaintenanceInput extends MaintenanceActionInput {
  @Field(() => String) @MaxLength(REASON_MAX) reason!: string;
}

@InputType()
export class CompleteMaintenanceInput extends MaintenanceActionInput {
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(TEXT_MAX) summary?: string;
}

@InputType()
export class MaintenanceFilterInput {
  @Field(() => [MaintenanceStatusEnum], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(4)
  @IsIn(Object.values(MaintenanceStatusEnum), { each: true })
  statuses?: MaintenanceStatus[];
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(100) service?: string;
  @Field(() => DateTime, { nullable: true, description: 'Windows that end after this…' })
  @IsOptional()
  @IsDate()
  windowFrom?: Date;
  @Field(() => DateTime, { nullable: true, description: '…and start before this (overlap).' })
  @IsOptional()
  @IsDate()
  @IsNotBefore('windowFrom')
  windowTo?: Date;
}
