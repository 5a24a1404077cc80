import { applyDecorators } from '@nestjs/common';
import { Field, Float, ID, InputType, Int } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsDate,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import type {
  Channel,
  PreventiveMeasureKind,
  PreventiveMeasurePriority,
  RootCauseCategory,
} from '../../../libs/domain/index.js';
import { NAME_MAX, REASON_MAX, TEXT_MAX, TITLE_MAX } from '../commands/command-input.js';
import {
  ChannelEnum,
  PreventiveMeasureKindEnum,
  PreventiveMeasurePriorityEnum,
  RootCauseCategoryEnum,
} from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';
import { IncidentActionInput } from './incident.inputs.js';

// Lists of short texts (contributing factors, lessons): enough for any honest analysis.
const SHORT_TEXTS_MAX = 50;
/** A postmortem's narrative is the one long text we take. */
const NARRATIVE_MAX = 50_000;

/** A list of short texts, each at most REASON_MAX long. */
const ShortTexts = () =>
  applyDecorators(ArrayMaxSize(SHORT_TEXTS_MAX), MaxLength(REASON_MAX, { each: true }));

/** What a root cause says; a revision restates all of it, as the domain's RootCauseRevised does. */
@InputType({ isAbstract: true })
abstract class RootCauseAnalysisInput extends IncidentActionInput {
  @Field(() => RootCauseCategoryEnum)
  @IsIn(Object.values(RootCauseCategoryEnum))
  category!: RootCauseCategory;
  @Field(() => String) @MaxLength(TEXT_MAX) description!: string;
  @Field(() => [String], { nullable: true }) @IsOptional() @ShortTexts() contributingFactors?: string[];
  @Field(() => String, { description: 'What set it off.' }) @MaxLength(REASON_MAX) trigger!: string;
  @Field(() => String, { description: 'How it was detected.' }) @MaxLength(REASON_MAX) detection!: string;
}

@InputType()
export class IdentifyRootCauseInput extends RootCauseAnalysisInput {}

@InputType()
export class ReviseRootCauseInput extends RootCauseAnalysisInput {
  @Field(() => ID) @IsUUID() rootCauseId!: string;
  @Field(() => String, { description: 'Why the analysis changed; the earlier one stays in the log.' })
  @MaxLength(REASON_MAX)
  reason!: string;
}

@InputType()
export class PlanPreventiveMeasureInput extends IncidentActionInput {
  @Field(() => String) @MaxLength(TITLE_MAX) title!: string;
  @Field(() => PreventiveMeasureKindEnum)
  @IsIn(Object.values(PreventiveMeasureKindEnum))
  kind!: PreventiveMeasureKind;
  @Field(() => String, { description: 'Who is held to the due date.' }) @MaxLength(NAME_MAX) owner!: string;
  @Field(() => DateTime) @IsDate() dueDate!: Date;
  @Field(() => PreventiveMeasurePriorityEnum)
  @IsIn(Object.values(PreventiveMeasurePriorityEnum))
  priority!: PreventiveMeasurePriority;
  @Field(() => ID, { nullable: true, description: 'The root cause it addresses, if one.' })
  @IsOptional()
  @IsUUID()
  rootCauseId?: string;
}

/** Start a preventive measure, and what completing or cancelling one needs besides. */
@InputType()
export class PreventiveMeasureActionInput extends IncidentActionInput {
  @Field(() => ID) @IsUUID() measureId!: string;
}

@InputType()
export class CompletePreventiveMeasureInput extends PreventiveMeasureActionInput {
  @Field(() => String, { description: 'A link or text showing it is done.' })
  @MaxLength(TEXT_MAX)
  evidence!: string;
}

@InputType()
export class CancelPreventiveMeasureInput extends PreventiveMeasureActionInput {
  @Field(() => String) @MaxLength(REASON_MAX) reason!: string;
}

@InputType()
export class PostmortemLessonsInput {
  @Field(() => [String], { defaultValue: [] }) @ShortTexts() wentWell!: string[];
  @Field(() => [String], { defaultValue: [] }) @ShortTexts() wentWrong!: string[];
  @Field(() => [String], { defaultValue: [] }) @ShortTexts() gotLucky!: string[];
}

@InputType()
export class PublishPostmortemInput extends IncidentActionInput {
  @Field(() => String) @MaxLength(TEXT_MAX) summary!: string;
  @Field(() => String) @MaxLength(TEXT_MAX) customerImpact!: string;
  @Field(() => String) @MaxLength(NARRATIVE_MAX) narrative!: string;
  @Field(() => PostmortemLessonsInput, { defaultValue: { wentWell: [], wentWrong: [], gotLucky: [] } })
  @ValidateNested()
  @Type(() => PostmortemLessonsInput)
  lessons!: PostmortemLessonsInput;
  @Field(() => String, { description: 'For customers, in plain language.' })
  @MaxLength(TEXT_MAX)
  customerExplanation!: string;
}

/** Which one of recipient and value must be given is the domain's rule (RULE_VIOLATION), not checked here. */
@InputType()
export class GrantCompensationInput extends IncidentActionInput {
  @Field(() => String, { nullable: true, description: 'A customer segment of the policy, e.g. ENTERPRISE.' })
  @IsOptional()
  @MaxLength(NAME_MAX)
  segment?: string;
  @Field(() => String, { nullable: true, description: 'One customer, judged against the default segment.' })
  @IsOptional()
  @MaxLength(NAME_MAX)
  customerId?: string;
  @Field(() => Float, { nullable: true, description: 'A credit in percent of the period fee.' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(100)
  creditPercent?: number;
  @Field(() => Float, { nullable: true, description: 'An amount, with its currency.' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  amount?: number;
  @Field(() => String, { nullable: true, description: 'ISO 4217 code, e.g. EUR.' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a three-letter ISO 4217 code in capitals' })
  currency?: string;
  @Field(() => String, {
    nullable: true,
    description: "Needed whenever the grant is not the policy's suggestion.",
  })
  @IsOptional()
  @MaxLength(REASON_MAX)
  justification?: string;
}

@InputType()
export class RecordCustomerFeedbackInput extends IncidentActionInput {
  @Field(() => Int, { description: 'From 1 (poor) to 5 (excellent).' })
  @IsInt()
  @Min(1)
  @Max(5)
  rating!: number;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(TEXT_MAX) comment?: string;
  @Field(() => ChannelEnum, { description: 'Where the feedback came in.' })
  @IsIn(Object.values(ChannelEnum))
  channel!: Channel;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(NAME_MAX) segment?: string;
}
