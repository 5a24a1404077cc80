import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ArrayMaxSize, IsBoolean, IsDate, IsIn, IsOptional, MaxLength } from 'class-validator';
import type {
  Channel,
  IncidentStatus,
  ServiceImpact,
  Severity,
  Visibility,
} from '../../../libs/domain/index.js';
import type { IncidentSort, TimelineVisibility } from '../../../libs/read-models/index.js';
import {
  ChannelEnum,
  IncidentStatusEnum,
  ServiceImpactEnum,
  SeverityEnum,
  VisibilityEnum,
} from '../graphql/enums.js';
import { DateTime, JSONScalar } from '../graphql/scalars.js';
import { IsNotBefore } from '../graphql/validation.js';
import { Incident } from '../incidents/incident.types.js';
import { PublicMaintenance } from '../maintenance/maintenance.types.js';

export const IncidentSortEnum = {
  DECLARED_DESC: 'DECLARED_DESC',
  DECLARED_ASC: 'DECLARED_ASC',
  UPDATED_DESC: 'UPDATED_DESC',
  UPDATED_ASC: 'UPDATED_ASC',
} as const satisfies Record<IncidentSort, IncidentSort>;
registerEnumType(IncidentSortEnum, {
  name: 'IncidentSort',
  description: 'DECLARED: by start; UPDATED: by the newest event.',
});

export const TimelineVisibilityEnum = { PUBLIC: 'PUBLIC', ALL: 'ALL' } as const satisfies Record<
  TimelineVisibility,
  TimelineVisibility
>;
registerEnumType(TimelineVisibilityEnum, {
  name: 'TimelineVisibility',
  description: 'PUBLIC: what customers could see; ALL: internal entries too.',
});

@InputType()
export class IncidentFilterInput {
  @Field(() => [IncidentStatusEnum], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(5)
  @IsIn(Object.values(IncidentStatusEnum), { each: true })
  statuses?: IncidentStatus[];
  @Field(() => [SeverityEnum], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(4)
  @IsIn(Object.values(SeverityEnum), { each: true })
  severities?: Severity[];
  @Field(() => String, { nullable: true, description: 'Incidents that list this service.' })
  @IsOptional()
  @MaxLength(100)
  service?: string;
  @Field(() => Boolean, { nullable: true, description: 'true: not yet resolved; false: resolved or closed.' })
  @IsOptional()
  @IsBoolean()
  open?: boolean;
  @Field(() => DateTime, { nullable: true, description: 'Started at or after.' })
  @IsOptional()
  @IsDate()
  declaredFrom?: Date;
  @Field(() => DateTime, { nullable: true, description: 'Started before.' })
  @IsOptional()
  @IsDate()
  @IsNotBefore('declaredFrom')
  declaredTo?: Date;
  @Field(() => String, { nullable: true, description: 'Case-insensitive text in the title.' })
  @IsOptional()
  @MaxLength(200)
  titleContains?: string;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType()
export class IncidentEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Incident) node!: Incident;
}

@ObjectType()
export class IncidentConnection {
  @Field(() => [IncidentEdge]) edges!: IncidentEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'Incidents matching the filter, over all pages.' }) totalCount!: number;
}

@ObjectType({ description: 'One event of an incident as a readable entry.' })
export class TimelineEntry {
  @Field(() => Int) version!: number;
  @Field(() => String) position!: string;
  @Field(() => String) type!: string;
  @Field(() => VisibilityEnum) visibility!: Visibility;
  @Field(() => String, { description: 'What happened, in a sentence.' }) description!: string;
  @Field(() => String) actor!: string;
  @Field(() => DateTime) recordedAt!: string;
  @Field(() => DateTime) occurredAt!: string;
  @Field(() => Boolean, { description: 'Entered after the fact.' }) backdated!: boolean;
  @Field(() => JSONScalar) data!: Record<string, unknown>;
}

@ObjectType()
export class CustomerUpdateEntry {
  @Field(() => Int) version!: number;
  @Field(() => DateTime) occurredAt!: string;
  @Field(() => DateTime) recordedAt!: string;
  @Field(() => String) actor!: string;
  @Field(() => IncidentStatusEnum) status!: IncidentStatus;
  @Field(() => String) message!: string;
  @Field(() => [ChannelEnum]) channels!: Channel[];
  @Field(() => VisibilityEnum) visibility!: Visibility;
  @Field(() => DateTime, { nullable: true }) nextUpdateAt!: string | null;
  @Field(() => Float, { description: 'Since the previous update of the same audience, or since the start.' })
  minutesSincePrevious!: number;
}

@ObjectType()
export class EtaRevision {
  @Field(() => Int) version!: number;
  @Field(() => DateTime) occurredAt!: string;
  @Field(() => String) actor!: string;
  @Field(() => DateTime, { nullable: true }) previousEstimate!: string | null;
  @Field(() => DateTime) estimatedResolutionAt!: string;
  @Field(() => String) reason!: string;
}

@ObjectType()
export class CommunicationsLog {
  @Field(() => ID) incidentId!: string;
  @Field(() => [CustomerUpdateEntry]) updates!: CustomerUpdateEntry[];
  @Field(() => [EtaRevision]) etaHistory!: EtaRevision[];
}

@ObjectType()
export class PublicServiceStatus {
  @Field(() => String) service!: string;
  @Field(() => ServiceImpactEnum) impact!: ServiceImpact;
}

@ObjectType()
export class PublicUpdate {
  @Field(() => IncidentStatusEnum) status!: IncidentStatus;
  @Field(() => String) message!: string;
  @Field(() => DateTime) occurredAt!: string;
}

@ObjectType()
export class PublicWorkaround {
  @Field(() => String) description!: string;
  @Field(() => DateTime) offeredAt!: string;
}

@ObjectType({ description: 'An incident as a status page shows it: no names, nothing internal.' })
export class PublicIncident {
  @Field(() => ID) id!: string;
  @Field(() => String) title!: string;
  @Field(() => IncidentStatusEnum) status!: IncidentStatus;
  @Field(() => SeverityEnum) severity!: Severity;
  @Field(() => DateTime) startedAt!: string;
  @Field(() => DateTime, { nullable: true }) resolvedAt!: string | null;
  @Field(() => DateTime, { nullable: true }) estimatedResolutionAt!: string | null;
  @Field(() => [PublicServiceStatus], {
    description: 'Once resolved, every one is OPERATIONAL: a resolution means the service is restored.',
  })
  services!: PublicServiceStatus[];
  @Field(() => [PublicWorkaround], { description: 'Those not withdrawn, while the incident is open.' })
  workarounds!: PublicWorkaround[];
  @Field(() => [PublicUpdate]) updates!: PublicUpdate[];
}

@ObjectType()
export class PublicStatus {
  @Field(() => [PublicServiceStatus], {
    description:
      'Worst impact per service across open incidents; UNDER_MAINTENANCE for a service in maintenance, unless an incident does worse.',
  })
  services!: PublicServiceStatus[];
  @Field(() => [PublicMaintenance], {
    description: 'Maintenance in progress, or scheduled and not yet over: the earliest window first.',
  })
  maintenances!: PublicMaintenance[];
  @Field(() => [PublicIncident]) openIncidents!: PublicIncident[];
  @Field(() => [PublicIncident]) recentlyResolved!: PublicIncident[];
}

@ObjectType()
export class ProjectionStatus {
  @Field(() => String, { nullable: true, description: 'Position of the last event applied.' }) checkpoint!:
    string | null;
  @Field(() => String, { nullable: true, description: 'Newest position in the event store.' }) head!:
    string | null;
  @Field(() => String, { description: 'head − checkpoint.' }) lag!: string;
}
