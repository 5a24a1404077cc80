import { Args, Context, ID, Int, Query, Resolver } from '@nestjs/graphql';
import { ProjectionRunner, type IncidentFilter } from '../../../libs/read-models/index.js';
import { hasRoles, requireRoles } from '../auth/auth.guard.js';
import { INTERNAL_READERS } from '../auth/roles.decorator.js';
import { consistentWithArg, withConsistency, type LedgerContext } from '../graphql/context.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { OptionalInputArg, withoutNulls } from '../graphql/validation.js';
import { toIncidentView } from '../incidents/incident.views.js';
import { ConsistentReads } from './consistent-reads.js';
import {
  CommunicationsLog,
  IncidentConnection,
  IncidentFilterInput,
  IncidentSortEnum,
  ProjectionStatus,
  PublicStatus,
  TimelineEntry,
  TimelineVisibilityEnum,
} from './read-model.graphql-types.js';
import type { IncidentSort, TimelineVisibility } from '../../../libs/read-models/index.js';

/** Queries answered by the read models. */
@Resolver()
export class ReadModelsResolver {
  constructor(
    private readonly reads: ConsistentReads,
    private readonly runner: ProjectionRunner,
  ) {}

  @Query(() => IncidentConnection, {
    description: 'Incidents, a page at a time (Relay connection; cursors stay valid as incidents arrive).',
  })
  async incidents(
    @Context() context: LedgerContext,
    @OptionalInputArg('filter', IncidentFilterInput) filter: IncidentFilterInput | null,
    @Args('sort', { type: () => IncidentSortEnum, defaultValue: 'DECLARED_DESC' }) sort: IncidentSort,
    @Args('first', { type: () => Int, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<IncidentConnection> {
    if (first < 1 || first > 100) throw new BadUserInputError('first must be from 1 to 100');
    const queries = await this.reads.queries(withConsistency(context, consistentWith));
    const page = queries.incidents(toIncidentFilter(filter), sort, first, after ?? undefined);
    const now = new Date().toISOString();
    return {
      edges: page.edges.map(({ cursor, node }) => ({ cursor, node: toIncidentView(node, now) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.edges.at(-1)?.cursor ?? null },
      totalCount: page.totalCount,
    };
  }

  @Query(() => [TimelineEntry], {
    description: 'Every event of an incident as a readable entry, by occurredAt.',
  })
  async timeline(
    @Context() context: LedgerContext,
    @Args('incidentId', { type: () => ID }, uuidPipe('incidentId')) incidentId: string,
    @Args('visibility', { type: () => TimelineVisibilityEnum, defaultValue: 'PUBLIC' })
    visibility: TimelineVisibility,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<TimelineEntry[]> {
    if (visibility === 'ALL') requireRoles(context.req.principal, INTERNAL_READERS);
    const queries = await this.reads.queries(withConsistency(context, consistentWith));
    if (!queries.incident(incidentId)) throw new NotFoundError(`Incident ${incidentId} does not exist`);
    return queries.timeline(incidentId, visibility);
  }

  @Query(() => CommunicationsLog, {
    nullable: true,
    description:
      'Customer updates with their gaps, and the ETA history; to a communicator, the public updates only.',
  })
  async communications(
    @Context() context: LedgerContext,
    @Args('incidentId', { type: () => ID }, uuidPipe('incidentId')) incidentId: string,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<CommunicationsLog | null> {
    const visibility = hasRoles(context.req.principal!, INTERNAL_READERS) ? 'ALL' : 'PUBLIC';
    return (await this.reads.queries(withConsistency(context, consistentWith))).communications(
      incidentId,
      visibility,
    );
  }

  @Query(() => PublicStatus, {
    description: 'What a customer-facing status page needs, and nothing internal.',
  })
  async publicStatus(
    @Context() context: LedgerContext,
    @Args('resolvedWithinHours', { type: () => Int, defaultValue: 24 }) resolvedWithinHours: number,
  ): Promise<PublicStatus> {
    if (resolvedWithinHours < 0 || resolvedWithinHours > 24 * 90) {
      throw new BadUserInputError('resolvedWithinHours must be from 0 to 2160 (90 days)');
    }
    return (await this.reads.queries(context)).publicStatus(new Date().toISOString(), resolvedWithinHours);
  }

  @Query(() => ProjectionStatus, { description: 'How far the read models are behind the event store.' })
  async projectionStatus(): Promise<ProjectionStatus> {
    const { checkpoint, head, lag } = await this.runner.status();
    return {
      checkpoint: checkpoint?.toString() ?? null,
      head: head?.toString() ?? null,
      lag: lag.toString(),
    };
  }
}

function toIncidentFilter(filter: IncidentFilterInput | null): IncidentFilter {
  if (!filter) return {};
  const { declaredFrom, declaredTo, ...rest } = withoutNulls(filter);
  return { ...rest, declaredFrom: declaredFrom?.toISOString(), declaredTo: declaredTo?.toISOString() };
}
