import { Transform } from 'class-transformer';
import { Field, ID, InputType, Int } from '@nestjs/graphql';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import type {
  Channel,
  IncidentRole,
  IncidentStatus,
  ServiceImpact,
  Severity,
  Visibility,
} from '../../../libs/domain/index.js';
import {
  ChannelEnum,
  IncidentRoleEnum,
  IncidentStatusEnum,
  ServiceImpactEnum,
  SeverityEnum,
  VisibilityEnum,
} from '../graphql/enums.js';
import {
  CommandInput,
  StreamActionInput,
  NAME_MAX,
  REASON_MAX,
  SERVICE_NAME,
  SERVICES_MAX,
  TEXT_MAX,
  TITLE_MAX,
} from '../commands/command-input.js';
import { DateTime } from '../graphql/scalars.js';

@InputType()
export class DeclareIncidentInput extends CommandInput {
  @Field(() => String) @MaxLength(TITLE_MAX) title!: string;
  @Field(() => SeverityEnum) @IsIn(Object.values(SeverityEnum)) severity!: Severity;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(TEXT_MAX) summary?: string;

  @Field(() => [String], { nullable: true, description: 'Affected services, by name.' })
  @IsOptional()
  @ArrayMaxSize(SERVICES_MAX)
  @ArrayUnique()
  @Matches(SERVICE_NAME, {
    each: true,
    message: 'each service name must be 1-100 letters, digits, spaces or ._/&()-',
  })
  services?: string[];
}

/** Acknowledge and any other action that needs nothing but the incident. */
@InputType()
export class IncidentActionInput extends StreamActionInput {
  @Field(() => ID) @IsUUID() incidentId!: string;
}

@InputType()
export class AssignRoleInput extends IncidentActionInput {
  @Field(() => IncidentRoleEnum) @IsIn(Object.values(IncidentRoleEnum)) role!: IncidentRole;
  @Field(() => String) @MaxLength(NAME_MAX) assignee!: string;
}

@InputType()
export class ChangeSeverityInput extends IncidentActionInput {
  @Field(() => SeverityEnum) @IsIn(Object.values(SeverityEnum)) severity!: Severity;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(REASON_MAX) reason?: string;
}

@InputType()
export class ChangeServiceImpactInput extends IncidentActionInput {
  @Field(() => String)
  @Matches(SERVICE_NAME, { message: 'service must be 1-100 letters, digits, spaces or ._/&()-' })
  service!: string;
  @Field(() => ServiceImpactEnum) @IsIn(Object.values(ServiceImpactEnum)) impact!: ServiceImpact;
}

@InputType()
export class PostStatusUpdateInput extends IncidentActionInput {
  @Field(() => IncidentStatusEnum) @IsIn(Object.values(IncidentStatusEnum)) status!: IncidentStatus;
  @Field(() => String, { description: 'Plain language, for customers.' })
  @MaxLength(TEXT_MAX)
  message!: string;
  @Field(() => [ChannelEnum])
  @ArrayMaxSize(6)
  @IsIn(Object.values(ChannelEnum), { each: true })
  channels!: Channel[];

  // Nullable as DESIGN.md's contract has it (`Visibility = PUBLIC`): null means the default.
  @Field(() => VisibilityEnum, { nullable: true, defaultValue: 'PUBLIC' })
  @Transform(({ value }: { value: unknown }) => value ?? 'PUBLIC')
  @IsIn(Object.values(VisibilityEnum))
  visibility!: Visibility;

  @Field(() => Int, { nullable: true, description: 'When the next update will come, in minutes.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_080)
  nextUpdateInMinutes?: number;
}

@InputType()
export class AddInternalNoteInput extends IncidentActionInput {
  @Field(() => String) @MaxLength(TEXT_MAX) note!: string;
}

@InputType()
export class SetResolutionEstimateInput extends IncidentActionInput {
  @Field(() => DateTime) @IsDate() estimatedResolutionAt!: Date;
  @Field(() => String, { description: 'Why this estimate (or why it changed).' })
  @MaxLength(REASON_MAX)
  reason!: string;
}

@InputType()
export class OfferWorkaroundInput extends IncidentActionInput {
  @Field(() => String, { description: 'What customers can do meanwhile.' })
  @MaxLength(TEXT_MAX)
  description!: string;
}

@InputType()
export class WithdrawWorkaroundInput extends IncidentActionInput {
  @Field(() => ID) @IsUUID() workaroundId!: string;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(REASON_MAX) reason?: string;
}

@InputType()
export class MitigateIncidentInput extends IncidentActionInput {
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(TEXT_MAX) summary?: string;
}

@InputType()
export class ResolveIncidentInput extends IncidentActionInput {
  @Field(() => String, { description: 'How it was resolved.' }) @MaxLength(TEXT_MAX) summary!: string;
}

@InputType()
export class ReopenIncidentInput extends IncidentActionInput {
  @Field(() => String) @MaxLength(REASON_MAX) reason!: string;
}
