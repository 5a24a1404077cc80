import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import type { StoredEvent } from '../../../libs/event-store/index.js';
import type {
  Channel,
  PreventiveMeasureKind,
  PreventiveMeasurePriority,
  PreventiveMeasureStatus,
  RootCauseCategory,
} from '../../../libs/domain/index.js';
import {
  ChannelEnum,
  PreventiveMeasureKindEnum,
  PreventiveMeasurePriorityEnum,
  PreventiveMeasureStatusEnum,
  RootCauseCategoryEnum,
} from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';

/** The fields of a root-cause analysis, shared by the current one and each of its versions. */
@ObjectType({ isAbstract: true })
export abstract class RootCauseAnalysis {
  @Field(() => RootCauseCategoryEnum) category!: RootCauseCategory;
  @Field(() => String) description!: string;
  @Field(() => [String]) contributingFactors!: string[];
  @Field(() => String, { description: 'What set it off.' }) trigger!: string;
  @Field(() => String, { description: 'How it was detected.' }) detection!: string;
}

@ObjectType({ description: 'One version of a root-cause analysis: its identification or a revision.' })
export class RootCauseRevision extends RootCauseAnalysis {
  @Field(() => Int, { description: 'The incident version that recorded it.' }) version!: number;
  @Field(() => DateTime) at!: string;
  @Field(() => String) by!: string;
  @Field(() => String, { nullable: true, description: 'Why it was revised; null for the identification.' })
  reason!: string | null;
}

@ObjectType({ description: 'A root cause as its latest revision states it.' })
export class RootCause extends RootCauseAnalysis {
  @Field(() => ID) rootCauseId!: string;
  @Field(() => DateTime) identifiedAt!: string;
  @Field(() => String) identifiedBy!: string;
  @Field(() => Int, { description: 'How often it was revised after its identification.' }) revisions!: number;
  @Field(() => DateTime, { nullable: true }) revisedAt!: string | null;
  @Field(() => String, { nullable: true, description: 'Why it was last revised.' })
  revisionReason!: string | null;
  /** Where `history` finds the versions: the incident, as of the version this view shows… */
  incidentId!: string;
  incidentVersion!: number;
  /** …or, for an incident folded from the event store's events (incidentAsOf), those events. */
  storedEvents?: readonly StoredEvent[];
}

@ObjectType()
export class PreventiveMeasure {
  @Field(() => ID) measureId!: string;
  @Field(() => String) title!: string;
  @Field(() => PreventiveMeasureKindEnum) kind!: PreventiveMeasureKind;
  @Field(() => String) owner!: string;
  @Field(() => DateTime) dueDate!: string;
  @Field(() => PreventiveMeasurePriorityEnum) priority!: PreventiveMeasurePriority;
  @Field(() => ID, { nullable: true, description: 'The root cause it addresses, if one.' })
  rootCauseId!: string | null;
  @Field(() => PreventiveMeasureStatusEnum) status!: PreventiveMeasureStatus;
  @Field(() => Boolean, { description: 'Past its due date and neither completed nor cancelled.' })
  overdue!: boolean;
  @Field(() => DateTime) plannedAt!: string;
  @Field(() => DateTime, { nullable: true }) startedAt!: string | null;
  @Field(() => DateTime, { nullable: true }) completedAt!: string | null;
  @Field(() => String, { nullable: true }) evidence!: string | null;
  @Field(() => DateTime, { nullable: true }) cancelledAt!: string | null;
  @Field(() => String, { nullable: true }) cancellationReason!: string | null;
}

@ObjectType()
export class PostmortemLessons {
  @Field(() => [String]) wentWell!: string[];
  @Field(() => [String]) wentWrong!: string[];
  @Field(() => [String]) gotLucky!: string[];
}

@ObjectType()
export class Postmortem {
  @Field(() => String) summary!: string;
  @Field(() => String) customerImpact!: string;
  @Field(() => String) narrative!: string;
  @Field(() => PostmortemLessons) lessons!: PostmortemLessons;
  @Field(() => String, { description: 'For customers, in plain language.' }) customerExplanation!: string;
  @Field(() => DateTime) publishedAt!: string;
  @Field(() => String) publishedBy!: string;
}

@ObjectType({ description: 'A credit or an amount granted to a segment or to one customer.' })
export class CompensationGrant {
  @Field(() => ID) grantId!: string;
  @Field(() => String, { nullable: true }) segment!: string | null;
  @Field(() => String, { nullable: true }) customerId!: string | null;
  @Field(() => Float, { nullable: true }) creditPercent!: number | null;
  @Field(() => Float, { nullable: true }) amount!: number | null;
  @Field(() => String, { nullable: true }) currency!: string | null;
  @Field(() => Int, { description: 'The compensation policy version it was judged by.' })
  policyVersion!: number;
  @Field(() => Float) outageMinutes!: number;
  @Field(() => Float, { description: 'What the policy suggested for this recipient.' })
  suggestedPercent!: number;
  @Field(() => Boolean, { description: 'Exactly the suggested percent.' }) followsPolicy!: boolean;
  @Field(() => String, { nullable: true, description: 'Why it differs from the suggestion.' })
  justification!: string | null;
  @Field(() => DateTime) grantedAt!: string;
  @Field(() => String) grantedBy!: string;
}

@ObjectType()
export class CustomerFeedback {
  @Field(() => ID) feedbackId!: string;
  @Field(() => Int) rating!: number;
  @Field(() => String, { nullable: true }) comment!: string | null;
  @Field(() => ChannelEnum) channel!: Channel;
  @Field(() => String, { nullable: true }) segment!: string | null;
  @Field(() => DateTime) receivedAt!: string;
}

@ObjectType()
export class SegmentCredit {
  @Field(() => String) segment!: string;
  @Field(() => Float) suggestedPercent!: number;
}

@ObjectType({ description: "What the incident's own compensation policy version suggests for its outage." })
export class CompensationSuggestion {
  @Field(() => Int) policyVersion!: number;
  @Field(() => Float, { description: 'From the start to the (final) resolution.' }) outageMinutes!: number;
  @Field(() => String, { description: 'The segment a grant to a single customer is judged against.' })
  defaultSegment!: string;
  @Field(() => [SegmentCredit]) credits!: SegmentCredit[];
}
