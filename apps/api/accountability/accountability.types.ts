import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import type { Channel, IncidentStatus, Severity } from '../../../libs/domain/index.js';
import { ChannelEnum, IncidentStatusEnum, SeverityEnum } from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';
import {
  CompensationGrant,
  CustomerFeedback,
  Postmortem,
  PreventiveMeasure,
  RootCauseAnalysis,
} from '../incidents/post-incident.types.js';

@ObjectType({
  description:
    'A cadence interval that ended after its deadline: the cadence from a public update, or the first-update target from a reopening.',
})
export class CadenceGap {
  @Field(() => DateTime) from!: string;
  @Field(() => DateTime) to!: string;
  @Field(() => Float) minutes!: number;
  @Field(() => Float, { description: 'How much later than its deadline it ended.' })
  overByMinutes!: number;
}

@ObjectType()
export class UpdateMissingChannels {
  @Field(() => DateTime) occurredAt!: string;
  @Field(() => [ChannelEnum]) missingChannels!: Channel[];
}

@ObjectType({
  description:
    'How the communication measured up to the policy version the incident was declared under (docs/metrics.md).',
})
export class CommunicationCompliance {
  @Field(() => Int) policyVersion!: number;
  @Field(() => Boolean, { nullable: true, description: 'null: nothing owed, or not yet due.' })
  acknowledgedWithinTarget!: boolean | null;
  @Field(() => Boolean, { nullable: true }) firstUpdateWithinTarget!: boolean | null;
  @Field(() => Float, {
    nullable: true,
    description: 'Share (0…1) of the judged intervals within the cadence.',
  })
  cadenceCompliance!: number | null;
  @Field(() => Int) judgedIntervals!: number;
  @Field(() => [CadenceGap]) gaps!: CadenceGap[];
  @Field(() => [ChannelEnum], { description: 'Required channels some public update left out.' })
  missingRequiredChannels!: Channel[];
  @Field(() => [UpdateMissingChannels]) updatesMissingChannels!: UpdateMissingChannels[];
  @Field(() => DateTime, { nullable: true, description: 'When the policy demands the next public update.' })
  nextUpdateDueAt!: string | null;
  @Field(() => Boolean) overdue!: boolean;
}

@ObjectType({ description: 'Averages over the incidents of a group, in minutes (docs/metrics.md).' })
export class IncidentMetrics {
  @Field(() => Int) incidentCount!: number;
  @Field(() => Float, { nullable: true }) mttaMinutes!: number | null;
  @Field(() => Float, { nullable: true }) timeToFirstUpdateMinutes!: number | null;
  @Field(() => Float, { nullable: true }) timeToMitigateMinutes!: number | null;
  @Field(() => Float, { nullable: true }) mttrMinutes!: number | null;
  @Field(() => Float, { nullable: true }) cadenceCompliance!: number | null;
  @Field(() => Float, { nullable: true }) finalEtaErrorMinutes!: number | null;
  @Field(() => Float, { nullable: true }) firstEtaErrorMinutes!: number | null;
  @Field(() => Float, { nullable: true }) etaRevisions!: number | null;
  @Field(() => Float, { nullable: true }) recurrenceRate!: number | null;
  @Field(() => Int) overduePreventiveMeasures!: number;
}

@ObjectType()
export class MetricsGroup {
  @Field(() => String) key!: string;
  @Field(() => IncidentMetrics) metrics!: IncidentMetrics;
}

@ObjectType({ description: 'An open incident whose next customer update, as its policy demands, is late.' })
export class OverdueUpdate {
  @Field(() => ID) incidentId!: string;
  @Field(() => String) title!: string;
  @Field(() => SeverityEnum) severity!: Severity;
  @Field(() => IncidentStatusEnum) status!: IncidentStatus;
  @Field(() => DateTime, { nullable: true }) lastCustomerUpdateAt!: string | null;
  @Field(() => DateTime) nextUpdateDueAt!: string;
  @Field(() => Float) overdueByMinutes!: number;
}

@ObjectType({
  description: "A root cause in the catalog: the incident's current analysis, and its recurrences.",
})
export class RootCauseEntry extends RootCauseAnalysis {
  @Field(() => ID) incidentId!: string;
  @Field(() => DateTime) incidentStartedAt!: string;
  @Field(() => ID) rootCauseId!: string;
  @Field(() => DateTime) identifiedAt!: string;
  @Field(() => String) identifiedBy!: string;
  @Field(() => Int) revisions!: number;
  @Field(() => DateTime, { nullable: true }) revisedAt!: string | null;
  @Field(() => String, { nullable: true }) revisionReason!: string | null;
  @Field(() => [ID], {
    description:
      'Incidents started earlier, within the recurrence window, with a cause of this category on a shared service.',
  })
  recurrenceOf!: string[];
}

@ObjectType()
export class RootCauseCatalog {
  @Field(() => Int) totalCount!: number;
  @Field(() => Int) recurringCount!: number;
  @Field(() => [RootCauseEntry]) entries!: RootCauseEntry[];
}

@ObjectType()
export class PreventiveMeasureEntry extends PreventiveMeasure {
  @Field(() => ID) incidentId!: string;
}

@ObjectType()
export class PreventiveMeasureList {
  @Field(() => Int) totalCount!: number;
  @Field(() => Int) overdueCount!: number;
  @Field(() => Float, {
    nullable: true,
    description: 'Completed ÷ not cancelled, over the matching measures.',
  })
  completionRate!: number | null;
  @Field(() => [PreventiveMeasureEntry]) measures!: PreventiveMeasureEntry[];
}

@ObjectType()
export class PostmortemEntry extends Postmortem {
  @Field(() => ID) incidentId!: string;
}

@ObjectType()
export class PostmortemList {
  @Field(() => Int) totalCount!: number;
  @Field(() => [PostmortemEntry]) postmortems!: PostmortemEntry[];
}

@ObjectType()
export class CompensationEntry extends CompensationGrant {
  @Field(() => ID) incidentId!: string;
}

@ObjectType()
export class AmountTotal {
  @Field(() => String) currency!: string;
  @Field(() => Float) amount!: number;
}

@ObjectType({ description: 'The grants to one segment; segment null: grants to single customers.' })
export class SegmentTotal {
  @Field(() => String, { nullable: true }) segment!: string | null;
  @Field(() => Int) grants!: number;
  @Field(() => Int) incidents!: number;
  @Field(() => Float, { nullable: true }) averageCreditPercent!: number | null;
  @Field(() => [AmountTotal]) amounts!: AmountTotal[];
  @Field(() => Int, { description: 'Grants other than the percent the policy suggested (each justified).' })
  outsidePolicy!: number;
}

@ObjectType()
export class CompensationLedger {
  @Field(() => [SegmentTotal]) totals!: SegmentTotal[];
  @Field(() => Int) totalCount!: number;
  @Field(() => [CompensationEntry]) grants!: CompensationEntry[];
}

@ObjectType()
export class IncidentFeedback {
  @Field(() => ID) incidentId!: string;
  @Field(() => Int) responses!: number;
  @Field(() => Float, { nullable: true }) averageRating!: number | null;
  @Field(() => [CustomerFeedback]) feedback!: CustomerFeedback[];
}

@ObjectType()
export class SeverityFeedback {
  @Field(() => SeverityEnum) severity!: Severity;
  @Field(() => Int) incidents!: number;
  @Field(() => Int) responses!: number;
  @Field(() => Float) averageRating!: number;
}
