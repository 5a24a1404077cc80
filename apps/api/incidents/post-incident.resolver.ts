import { randomUUID } from 'node:crypto';
import { Args, Context, Float, Mutation, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { Principal } from '../auth/api-key-ring.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { hasRoles } from '../auth/auth.guard.js';
import {
  COMMUNICATORS,
  COMPENSATION_GRANTERS,
  INTERNAL_READERS,
  RESPONDERS,
  Roles,
} from '../auth/roles.decorator.js';
import type { LedgerContext } from '../graphql/context.js';
import { ConsistentReads } from '../read-models/consistent-reads.js';
import { IncidentMutations } from './incident-mutations.js';
import { IncidentActionInput } from './incident.inputs.js';
import { Incident, IncidentPayload } from './incident.types.js';
import {
  CancelPreventiveMeasureInput,
  CompletePreventiveMeasureInput,
  GrantCompensationInput,
  IdentifyRootCauseInput,
  PlanPreventiveMeasureInput,
  PreventiveMeasureActionInput,
  PublishPostmortemInput,
  RecordCustomerFeedbackInput,
  ReviseRootCauseInput,
} from './post-incident.inputs.js';
import {
  CompensationGrant,
  CompensationSuggestion,
  CustomerFeedback,
  Postmortem,
  PreventiveMeasure,
  RootCause,
  RootCauseRevision,
} from './post-incident.types.js';
import { toCompensationSuggestion, toRootCauseRevisions } from './post-incident.views.js';

/**
 * The incident after the outage: root causes, preventive measures, postmortem, compensation,
 * feedback and close. Who may do what is the matrix of docs/roles.md.
 */
@Resolver(() => Incident)
export class PostIncidentResolver {
  constructor(private readonly mutations: IncidentMutations) {}

  @ResolveField(() => CompensationSuggestion, {
    nullable: true,
    description:
      "What the incident's own compensation policy version suggests for its outage, for every segment of the policy or the one given; null until resolved.",
  })
  compensationSuggestion(
    @Parent() incident: Incident,
    @Args('segment', { type: () => String, nullable: true }) segment: string | undefined,
  ): CompensationSuggestion | null {
    return toCompensationSuggestion(incident, segment ?? null);
  }

  // A communicator reads of the post-incident record what the public timeline shows of it: root
  // causes, measures, grants and feedback are internal entries, as in the catalogs they are refused
  // (docs/roles.md); the postmortem's customer explanation is on the public timeline.

  @ResolveField(() => [RootCause], { description: 'None to a communicator: internal.' })
  rootCauses(@Parent() incident: Incident, @Context() context: LedgerContext): RootCause[] {
    return internalOr(context, incident.rootCauses, []);
  }

  @ResolveField(() => [PreventiveMeasure], { description: 'None to a communicator: internal.' })
  preventiveMeasures(@Parent() incident: Incident, @Context() context: LedgerContext): PreventiveMeasure[] {
    return internalOr(context, incident.preventiveMeasures, []);
  }

  @ResolveField(() => Postmortem, {
    nullable: true,
    description:
      'Null to a communicator: internal; its customer explanation is on the public timeline (PostmortemPublished).',
  })
  postmortem(@Parent() incident: Incident, @Context() context: LedgerContext): Postmortem | null {
    return internalOr(context, incident.postmortem, null);
  }

  @ResolveField(() => [CompensationGrant], { description: 'None to a communicator: internal.' })
  compensations(@Parent() incident: Incident, @Context() context: LedgerContext): CompensationGrant[] {
    return internalOr(context, incident.compensations, []);
  }

  @ResolveField(() => [CustomerFeedback], { description: 'None to a communicator: internal.' })
  feedback(@Parent() incident: Incident, @Context() context: LedgerContext): CustomerFeedback[] {
    return internalOr(context, incident.feedback, []);
  }

  @ResolveField(() => Float, {
    nullable: true,
    description: 'Of the feedback ratings; null without feedback, and to a communicator.',
  })
  averageRating(@Parent() incident: Incident, @Context() context: LedgerContext): number | null {
    return internalOr(context, incident.averageRating, null);
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  identifyRootCause(
    @Args('input') input: IdentifyRootCauseInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { category, description, contributingFactors, trigger, detection } = input;
    return this.mutations.send('identifyRootCause', input.incidentId, input, principal, context, {
      type: 'IdentifyRootCause',
      data: { rootCauseId: randomUUID(), category, description, contributingFactors, trigger, detection },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  reviseRootCause(
    @Args('input') input: ReviseRootCauseInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { rootCauseId, reason, category, description, contributingFactors, trigger, detection } = input;
    return this.mutations.send('reviseRootCause', input.incidentId, input, principal, context, {
      type: 'ReviseRootCause',
      data: { rootCauseId, reason, category, description, contributingFactors, trigger, detection },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  planPreventiveMeasure(
    @Args('input') input: PlanPreventiveMeasureInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { title, kind, owner, dueDate, priority, rootCauseId } = input;
    return this.mutations.send('planPreventiveMeasure', input.incidentId, input, principal, context, {
      type: 'PlanPreventiveMeasure',
      data: {
        measureId: randomUUID(),
        title,
        kind,
        owner,
        dueDate: dueDate.toISOString(),
        priority,
        rootCauseId,
      },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  startPreventiveMeasure(
    @Args('input') input: PreventiveMeasureActionInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('startPreventiveMeasure', input.incidentId, input, principal, context, {
      type: 'StartPreventiveMeasure',
      data: { measureId: input.measureId },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  completePreventiveMeasure(
    @Args('input') input: CompletePreventiveMeasureInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { measureId, evidence } = input;
    return this.mutations.send('completePreventiveMeasure', input.incidentId, input, principal, context, {
      type: 'CompletePreventiveMeasure',
      data: { measureId, evidence },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  cancelPreventiveMeasure(
    @Args('input') input: CancelPreventiveMeasureInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { measureId, reason } = input;
    return this.mutations.send('cancelPreventiveMeasure', input.incidentId, input, principal, context, {
      type: 'CancelPreventiveMeasure',
      data: { measureId, reason },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  publishPostmortem(
    @Args('input') input: PublishPostmortemInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { summary, customerImpact, narrative, customerExplanation } = input;
    const { wentWell, wentWrong, gotLucky } = input.lessons;
    return this.mutations.send('publishPostmortem', input.incidentId, input, principal, context, {
      type: 'PublishPostmortem',
      data: {
        summary,
        customerImpact,
        narrative,
        lessons: { wentWell, wentWrong, gotLucky },
        customerExplanation,
      },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...COMPENSATION_GRANTERS)
  grantCompensation(
    @Args('input') input: GrantCompensationInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { segment, customerId, creditPercent, amount, currency, justification } = input;
    return this.mutations.send('grantCompensation', input.incidentId, input, principal, context, {
      type: 'GrantCompensation',
      data: { grantId: randomUUID(), segment, customerId, creditPercent, amount, currency, justification },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...COMMUNICATORS)
  recordCustomerFeedback(
    @Args('input') input: RecordCustomerFeedbackInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { rating, comment, channel, segment } = input;
    return this.mutations.send('recordCustomerFeedback', input.incidentId, input, principal, context, {
      type: 'RecordCustomerFeedback',
      data: { feedbackId: randomUUID(), rating, comment, channel, segment },
    });
  }

  @Mutation(() => IncidentPayload)
  @Roles(...RESPONDERS)
  closeIncident(
    @Args('input') input: IncidentActionInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.mutations.send('closeIncident', input.incidentId, input, principal, context, {
      type: 'CloseIncident',
      data: {},
    });
  }
}

/** `value` to the roles that read internal entries; `withheld` to the others (communicators). */
function internalOr<T>(context: LedgerContext, value: T, withheld: T): T {
  return hasRoles(context.req.principal!, INTERNAL_READERS) ? value : withheld;
}

/** A root cause's versions, from the incident's events (those the incident is shown with). */
@Resolver(() => RootCause)
export class RootCauseResolver {
  constructor(private readonly reads: ConsistentReads) {}

  @ResolveField(() => [RootCauseRevision], {
    description: 'Its identification and every revision, oldest first, each with who, when and why.',
  })
  async history(
    @Parent() rootCause: RootCause,
    @Context() context: LedgerContext,
  ): Promise<RootCauseRevision[]> {
    const events =
      rootCause.storedEvents ??
      (await this.reads.eventsOf(context, rootCause.incidentId, rootCause.incidentVersion));
    return toRootCauseRevisions(rootCause, events);
  }
}
