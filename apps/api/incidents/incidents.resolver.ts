import { randomUUID } from 'node:crypto';
import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { Principal } from '../auth/api-key-ring.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { hasRoles } from '../auth/auth.guard.js';
import { COMMUNICATORS, INTERNAL_READERS, RESPONDERS, Roles } from '../auth/roles.decorator.js';
import { consistentWithArg, withConsistency, type LedgerContext } from '../graphql/context.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { publicData, visibilityOf } from '../../../libs/read-models/index.js';
import { ConsistentReads } from '../read-models/consistent-reads.js';
import {
  AddInternalNoteInput,
  AssignRoleInput,
  ChangeServiceImpactInput,
  ChangeSeverityInput,
  DeclareIncidentInput,
  IncidentActionInput,
  MitigateIncidentInput,
  OfferWorkaroundInput,
  PostStatusUpdateInput,
  ReopenIncidentInput,
  ResolveIncidentInput,
  SetResolutionEstimateInput,
  WithdrawWorkaroundInput,
} from './incident.inputs.js';
import { IncidentMutations } from './incident-mutations.js';
import { Incident, IncidentEvent, IncidentPayload } from './incident.types.js';
import { toEventView, toIncidentView } from './incident.views.js';

/** Incident queries, and the mutations of the outage itself: each maps its input to a domain command. */
@Resolver(() => Incident)
export class IncidentsResolver {
  constructor(
    private readonly mutations: IncidentMutations,
    private readonly reads: ConsistentReads,
  ) {}

  @Query(() => Incident, {
    nullable: true,
    description: 'The incident, from the read models; null if unknown.',
  })
  async incident(
    @Context() context: LedgerContext,
    @Args('id', { type: () => ID }, uuidPipe('id')) id: string,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<Incident | null> {
    const record = (await this.reads.queries(withConsistency(context, consistentWith))).incident(id);
    return record && toIncidentView(record, new Date().toISOString());
  }

  @ResolveField(() => [IncidentEvent], {
    description:
      'Every event of the incident with its full envelope, oldest first; to a communicator, those of the public timeline with their public data.',
  })
  async events(@Parent() incident: Incident, @Context() context: LedgerContext): Promise<IncidentEvent[]> {
    const internal = hasRoles(context.req.principal!, INTERNAL_READERS);
    const events =
      incident.storedEvents ?? (await this.reads.eventsOf(context, incident.id, incident.version));
    return events
      .filter((event) => internal || visibilityOf(event) === 'PUBLIC')
      .map((event) =>
        toEventView(
          internal
            ? event
            : // The request's fingerprint hashes its whole input, the withheld part included.
              { ...event, data: publicData(event.type, event.data), requestFingerprint: null },
        ),
      );
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  declareIncident(
    @Args('input') input: DeclareIncidentInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const incidentId = randomUUID();
    const { title, severity, summary, services } = input;
    return this.mutations.send('declareIncident', incidentId, input, principal, context, {
      type: 'DeclareIncident',
      data: { incidentId, title, severity, summary, services },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  acknowledgeIncident(
    @Args('input') input: IncidentActionInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('acknowledgeIncident', input.incidentId, input, principal, context, {
      type: 'AcknowledgeIncident',
      data: {},
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  assignRole(
    @Args('input') input: AssignRoleInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { role, assignee } = input;
    return this.mutations.send('assignRole', input.incidentId, input, principal, context, {
      type: 'AssignRole',
      data: { role, assignee },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  changeSeverity(
    @Args('input') input: ChangeSeverityInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { severity, reason } = input;
    return this.mutations.send('changeSeverity', input.incidentId, input, principal, context, {
      type: 'ChangeSeverity',
      data: { severity, reason },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  changeServiceImpact(
    @Args('input') input: ChangeServiceImpactInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { service, impact } = input;
    return this.mutations.send('changeServiceImpact', input.incidentId, input, principal, context, {
      type: 'ChangeServiceImpact',
      data: { service, impact },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...COMMUNICATORS)
  postStatusUpdate(
    @Args('input') input: PostStatusUpdateInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { status, message, channels, visibility, nextUpdateInMinutes } = input;
    return this.mutations.send('postStatusUpdate', input.incidentId, input, principal, context, {
      type: 'PostStatusUpdate',
      data: { status, message, channels, visibility, nextUpdateInMinutes },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  addInternalNote(
    @Args('input') input: AddInternalNoteInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('addInternalNote', input.incidentId, input, principal, context, {
      type: 'AddInternalNote',
      data: { note: input.note },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...COMMUNICATORS)
  setResolutionEstimate(
    @Args('input') input: SetResolutionEstimateInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('setResolutionEstimate', input.incidentId, input, principal, context, {
      type: 'SetResolutionEstimate',
      data: { estimatedResolutionAt: input.estimatedResolutionAt.toISOString(), reason: input.reason },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...COMMUNICATORS)
  offerWorkaround(
    @Args('input') input: OfferWorkaroundInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('offerWorkaround', input.incidentId, input, principal, context, {
      type: 'OfferWorkaround',
      data: { workaroundId: randomUUID(), description: input.description },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...COMMUNICATORS)
  withdrawWorkaround(
    @Args('input') input: WithdrawWorkaroundInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { workaroundId, reason } = input;
    return this.mutations.send('withdrawWorkaround', input.incidentId, input, principal, context, {
      type: 'WithdrawWorkaround',
      data: { workaroundId, reason },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  mitigateIncident(
    @Args('input') input: MitigateIncidentInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('mitigateIncident', input.incidentId, input, principal, context, {
      type: 'MitigateIncident',
      data: { summary: input.summary },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  resolveIncident(
    @Args('input') input: ResolveIncidentInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('resolveIncident', input.incidentId, input, principal, context, {
      type: 'ResolveIncident',
      data: { summary: input.summary },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  reopenIncident(
    @Args('input') input: ReopenIncidentInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('reopenIncident', input.incidentId, input, principal, context, {
      type: 'ReopenIncident',
      data: { reason: input.reason },
    });
  }
}
