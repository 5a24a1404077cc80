import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import type { StoredEvent } from '../../../libs/event-store/index.js';
import { DateTime, JSONScalar } from '../graphql/scalars.js';
import type { IncidentRole, IncidentStatus, ServiceImpact, Severity } from '../../../libs/domain/index.js';
import { IncidentRoleEnum, IncidentStatusEnum, ServiceImpactEnum, SeverityEnum } from '../graphql/enums.js';
import {
  CompensationGrant,
  CustomerFeedback,
  Postmortem,
  PreventiveMeasure,
  RootCause,
} from './post-incident.types.js';

@ObjectType({ description: 'One stored event with its full envelope.' })
export class IncidentEvent {
  @Field(() => ID) eventId!: string;
  @Field(() => String) type!: string;
  @Field(() => Int) schemaVersion!: number;
  @Field(() => String) streamId!: string;
  @Field(() => Int, { description: 'The stream version this event brought the incident to.' })
  version!: number;
  @Field(() => String, { description: 'Global position in the log (a decimal string).' }) position!: string;
  @Field(() => String) actor!: string;
  @Field(() => DateTime, { description: 'Server clock when stored; authoritative.' }) recordedAt!: string;
  @Field(() => DateTime, { description: 'When it happened in the world.' }) occurredAt!: string;
  @Field(() => Boolean, {
    description:
      'Recorded after the fact: occurredAt more than a minute before recordedAt (as in the timeline).',
  })
  backdated!: boolean;
  @Field(() => String) correlationId!: string;
  @Field(() => String, { nullable: true }) causationId!: string | null;
  @Field(() => String, { nullable: true }) idempotencyKey!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Hash of the request that carried the idempotency key.',
  })
  requestFingerprint!: string | null;
  @Field(() => JSONScalar) data!: Record<string, unknown>;
  @Field(() => String, { description: "SHA-256 over the previous event's hash and this event's content." })
  hash!: string;
}

@ObjectType()
export class AffectedService {
  @Field(() => String) service!: string;
  @Field(() => ServiceImpactEnum) impact!: ServiceImpact;
}

@ObjectType()
export class RoleAssignment {
  @Field(() => IncidentRoleEnum) role!: IncidentRole;
  @Field(() => String) assignee!: string;
}

@ObjectType()
export class Workaround {
  @Field(() => ID) workaroundId!: string;
  @Field(() => String) description!: string;
  @Field(() => DateTime) offeredAt!: string;
  @Field(() => DateTime, { nullable: true }) withdrawnAt!: string | null;
  @Field(() => String, { nullable: true }) withdrawalReason!: string | null;
  @Field(() => Boolean) active!: boolean;
}

@ObjectType()
export class Incident {
  @Field(() => ID) id!: string;
  @Field(() => String) title!: string;
  @Field(() => String, { nullable: true }) summary!: string | null;
  @Field(() => IncidentStatusEnum) status!: IncidentStatus;
  @Field(() => SeverityEnum) severity!: Severity;
  @Field(() => Int, { description: 'Number of events in the incident stream.' }) version!: number;
  @Field(() => [AffectedService]) services!: AffectedService[];
  @Field(() => [RoleAssignment]) roles!: RoleAssignment[];
  @Field(() => DateTime, { description: 'When the incident started (occurredAt of its declaration).' })
  startedAt!: string;
  @Field(() => String) declaredBy!: string;
  @Field(() => DateTime, { nullable: true }) acknowledgedAt!: string | null;
  @Field(() => String, { nullable: true }) acknowledgedBy!: string | null;
  @Field(() => DateTime, { nullable: true }) estimatedResolutionAt!: string | null;
  @Field(() => Int, { description: 'How often the resolution estimate was revised after the first.' })
  etaRevisions!: number;
  @Field(() => [Workaround]) workarounds!: Workaround[];
  @Field(() => DateTime, {
    nullable: true,
    description:
      "occurredAt of the latest PUBLIC customer update (in the world's time: a backdated one does not replace a newer one).",
  })
  lastCustomerUpdateAt!: string | null;
  @Field(() => DateTime, {
    nullable: true,
    description:
      'When the latest public update promised the next one (its nextUpdateInMinutes); null if it promised none, and once resolved. What the communication policy demands is communicationCompliance.nextUpdateDueAt.',
  })
  nextUpdateDueAt!: string | null;
  @Field(() => DateTime, { nullable: true }) mitigatedAt!: string | null;
  @Field(() => DateTime, { nullable: true }) resolvedAt!: string | null;
  @Field(() => String, { nullable: true }) resolutionSummary!: string | null;
  @Field(() => Int) reopenCount!: number;
  @Field(() => DateTime, {
    nullable: true,
    description: 'occurredAt of the newest event (null in a payload the read models had not caught up with).',
  })
  lastUpdatedAt!: string | null;
  @Field(() => Int, {
    nullable: true,
    description: 'PUBLIC customer updates so far (null like lastUpdatedAt).',
  })
  customerUpdateCount!: number | null;
  @Field(() => Float, { nullable: true, description: 'From the start to the first acknowledgement.' })
  minutesToAcknowledge!: number | null;
  @Field(() => Float, {
    nullable: true,
    description:
      "From the start to the first mitigation, or to the first resolution when none came before it: the incident's time to mitigate (docs/metrics.md); null before either, and like lastUpdatedAt.",
  })
  minutesToMitigate!: number | null;
  @Field(() => Float, { description: 'From the start to the resolution, or to now while unresolved.' })
  minutesOpen!: number;
  // The post-incident record: fields of PostIncidentResolver, which withholds it from communicators.
  rootCauses!: RootCause[];
  preventiveMeasures!: PreventiveMeasure[];
  postmortem!: Postmortem | null;
  compensations!: CompensationGrant[];
  feedback!: CustomerFeedback[];
  averageRating!: number | null;
  @Field(() => DateTime, { nullable: true }) closedAt!: string | null;
  @Field(() => Int, { description: 'The communication policy version the incident is judged by.' })
  communicationPolicyVersion!: number;
  @Field(() => Int, { description: 'The compensation policy version its grants are judged by.' })
  compensationPolicyVersion!: number;
  /**
   * The events this view was folded from, as the event store holds them (incidentAsOf): then its
   * `events` and its root causes' histories are these, not the read models' copies.
   */
  storedEvents?: readonly StoredEvent[];
}

@ObjectType()
export class IncidentPayload {
  @Field(() => Incident, {
    description:
      'The incident after this mutation (as it is now, at least as of `position`); on a replayed idempotency key, as the first request left it.',
  })
  incident!: Incident;
  @Field(() => Int, {
    description:
      "The incident's version after this mutation (the first request's, on a replayed idempotency key).",
  })
  version!: number;
  @Field(() => String, {
    description:
      "Global position of the last event appended (the first request's, on a replay), a decimal string.",
  })
  position!: string;
}
