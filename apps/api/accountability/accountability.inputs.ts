import { Field, ID, InputType } from '@nestjs/graphql';
import { ArrayMaxSize, IsBoolean, IsDate, IsIn, IsOptional, IsUUID, MaxLength } from 'class-validator';
import type { PreventiveMeasureStatus, RootCauseCategory } from '../../../libs/domain/index.js';
import { NAME_MAX } from '../commands/command-input.js';
import { PreventiveMeasureStatusEnum, RootCauseCategoryEnum } from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';
import { IsNotBefore } from '../graphql/validation.js';

@InputType()
export class RootCauseFilterInput {
  @Field(() => RootCauseCategoryEnum, { nullable: true })
  @IsOptional()
  @IsIn(Object.values(RootCauseCategoryEnum))
  category?: RootCauseCategory;
  @Field(() => String, {
    nullable: true,
    description: 'Causes of incidents that list this service; recurrence is then judged on it alone.',
  })
  @IsOptional()
  @MaxLength(100)
  service?: string;
  @Field(() => Boolean, { nullable: true, description: 'Only causes that are recurrences.' })
  @IsOptional()
  @IsBoolean()
  recurringOnly?: boolean;
}

@InputType()
export class PreventiveMeasureFilterInput {
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(NAME_MAX) owner?: string;
  @Field(() => [PreventiveMeasureStatusEnum], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(4)
  @IsIn(Object.values(PreventiveMeasureStatusEnum), { each: true })
  statuses?: PreventiveMeasureStatus[];
  @Field(() => Boolean, {
    nullable: true,
    description: 'true: past the due date, neither completed nor cancelled; false: the others.',
  })
  @IsOptional()
  @IsBoolean()
  overdue?: boolean;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() incidentId?: string;
  @Field(() => DateTime, { nullable: true, description: 'Due at or after.' })
  @IsOptional()
  @IsDate()
  dueFrom?: Date;
  @Field(() => DateTime, { nullable: true, description: 'Due before.' })
  @IsOptional()
  @IsDate()
  @IsNotBefore('dueFrom')
  dueTo?: Date;
}

@InputType()
export class CompensationFilterInput {
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(NAME_MAX) segment?: string;
  @Field(() => DateTime, { nullable: true, description: 'Granted at or after.' })
  @IsOptional()
  @IsDate()
  grantedFrom?: Date;
  @Field(() => DateTime, { nullable: true, description: 'Granted before.' })
  @IsOptional()
  @IsDate()
  @IsNotBefore('grantedFrom')
  grantedTo?: Date;
}
