import { Args, Context, Float, ID, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import { DEFAULT_RECURRENCE_WINDOW_DAYS, type MetricsGroupBy } from '../../../libs/domain/index.js';
import type { OverdueUpdate as OverdueUpdateRecord } from '../../../libs/read-models/index.js';
import { INTERNAL_READERS, Roles } from '../auth/roles.decorator.js';
import { consistentWithArg, withConsistency, type LedgerContext } from '../graphql/context.js';
import { MetricsGroupByEnum } from '../graphql/enums.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { DateTime } from '../graphql/scalars.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { OptionalInputArg } from '../graphql/validation.js';
import { followsPolicy } from '../incidents/post-incident.views.js';
import { ConsistentReads } from '../read-models/consistent-reads.js';
import {
  CompensationFilterInput,
  PreventiveMeasureFilterInput,
  RootCauseFilterInput,
} from './accountability.inputs.js';
import {
  CommunicationCompliance,
  CompensationLedger,
  IncidentFeedback,
  MetricsGroup,
  OverdueUpdate,
  PostmortemList,
  PreventiveMeasureList,
  RootCauseCatalog,
  SeverityFeedback,
} from './accountability.types.js';
import { OverdueUpdatesWatcher } from './overdue-updates.watcher.js';

/** The most catalog entries one answer holds. */
const MAX_FIRST = 500;
const firstArg = {
  type: () => Int,
  defaultValue: 100,
  description: `How many entries to return (1 to ${MAX_FIRST}); the counts cover every match.`,
} as const;
const fromArg = { type: () => DateTime, nullable: true, description: 'At or after.' } as const;
const toArg = { type: () => DateTime, nullable: true, description: 'Before.' } as const;

/** The range [from, to) as ISO instants; refused when `to` comes before `from`. */
function isoRange(from: Date | null, to: Date | null): { from?: string; to?: string } {
  if (from && to && to.getTime() < from.getTime()) {
    throw new BadUserInputError('to must not be before from');
  }
  return { from: from?.toISOString(), to: to?.toISOString() };
}

function checkFirst(first: number): number {
  if (first < 1 || first > MAX_FIRST) throw new BadUserInputError(`first must be from 1 to ${MAX_FIRST}`);
  return first;
}

function checkWindowDays(days: number): number {
  if (!(days >= 0 && days <= 3_650))
    throw new BadUserInputError('recurrenceWindowDays must be from 0 to 3650');
  return days;
}

/**
 * Holding incidents to account: metrics, communication compliance, overdue updates and the
 * post-incident catalogs, from the read models. Internal catalogs are for responders and auditors.
 */
@Resolver()
export class AccountabilityResolver {
  constructor(
    private readonly reads: ConsistentReads,
    private readonly watcher: OverdueUpdatesWatcher,
  ) {}

  @Query(() => CommunicationCompliance, {
    description:
      "How the incident's communication measured up, now, to the policy version it was declared under.",
  })
  async communicationCompliance(
    @Context() context: LedgerContext,
    @Args('incidentId', { type: () => ID }, uuidPipe('incidentId')) incidentId: string,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<CommunicationCompliance> {
    const queries = await this.reads.accountability(withConsistency(context, consistentWith));
    const compliance = queries.communicationCompliance(incidentId, new Date().toISOString());
    if (compliance === null) throw new NotFoundError(`Incident ${incidentId} does not exist`);
    return compliance;
  }

  @Query(() => [MetricsGroup], {
    description: 'Incident metrics over the incidents started in [from, to), grouped (docs/metrics.md).',
  })
  async incidentMetrics(
    @Context() context: LedgerContext,
    @Args('from', fromArg) from: Date | null,
    @Args('to', toArg) to: Date | null,
    // Nullable as DESIGN.md's contract has it: null means NONE.
    @Args('groupBy', { type: () => MetricsGroupByEnum, nullable: true, defaultValue: 'NONE' })
    groupBy: MetricsGroupBy | null,
    @Args('recurrenceWindowDays', {
      type: () => Float,
      defaultValue: DEFAULT_RECURRENCE_WINDOW_DAYS,
      description: 'A cause recurs when its category hit the same service within this many days before.',
    })
    recurrenceWindowDays: number,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<MetricsGroup[]> {
    const queries = await this.reads.accountability(withConsistency(context, consistentWith));
    return queries.incidentMetrics(
      {
        ...isoRange(from, to),
        groupBy: groupBy ?? 'NONE',
        recurrenceWindowDays: checkWindowDays(recurrenceWindowDays),
      },
      new Date().toISOString(),
    );
  }

  @Query(() => [OverdueUpdate], {
    description: 'Open incidents whose next customer update is late right now, the longest overdue first.',
  })
  async overdueUpdates(@Context() context: LedgerContext): Promise<OverdueUpdate[]> {
    return (await this.reads.accountability(context)).overdueUpdates(new Date().toISOString());
  }

  @Subscription(() => OverdueUpdate, {
    description: "An incident's customer update, the moment it becomes overdue.",
    resolve: (update: OverdueUpdateRecord) => update,
  })
  updateOverdue(): AsyncIterator<OverdueUpdateRecord> {
    return this.watcher.follow();
  }

  @Query(() => RootCauseCatalog, {
    description: 'Root causes across incidents, newest first, with recurrences.',
  })
  @Roles(...INTERNAL_READERS)
  async rootCauses(
    @Context() context: LedgerContext,
    @OptionalInputArg('filter', RootCauseFilterInput) filter: RootCauseFilterInput | null,
    @Args('recurrenceWindowDays', { type: () => Float, defaultValue: DEFAULT_RECURRENCE_WINDOW_DAYS })
    recurrenceWindowDays: number,
    @Args('first', firstArg) first: number,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<RootCauseCatalog> {
    const queries = await this.reads.accountability(withConsistency(context, consistentWith));
    return queries.rootCauses(filter ?? {}, checkWindowDays(recurrenceWindowDays), checkFirst(first));
  }

  @Query(() => PreventiveMeasureList, { description: 'Preventive measures, the earliest due first.' })
  @Roles(...INTERNAL_READERS)
  async preventiveMeasures(
    @Context() context: LedgerContext,
    @OptionalInputArg('filter', PreventiveMeasureFilterInput) filter: PreventiveMeasureFilterInput | null,
    @Args('first', firstArg) first: number,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<PreventiveMeasureList> {
    const queries = await this.reads.accountability(withConsistency(context, consistentWith));
    const { dueFrom, dueTo, ...rest } = filter ?? {};
    return queries.preventiveMeasures(
      { ...rest, dueFrom: dueFrom?.toISOString(), dueTo: dueTo?.toISOString() },
      new Date().toISOString(),
      checkFirst(first),
    );
  }

  @Query(() => PostmortemList, { description: 'Postmortems published in [from, to), the latest first.' })
  @Roles(...INTERNAL_READERS)
  async postmortems(
    @Context() context: LedgerContext,
    @Args('from', fromArg) from: Date | null,
    @Args('to', toArg) to: Date | null,
    @Args('first', firstArg) first: number,
  ): Promise<PostmortemList> {
    const range = isoRange(from, to);
    const queries = await this.reads.accountability(context);
    return queries.postmortems(range.from, range.to, checkFirst(first));
  }

  @Query(() => CompensationLedger, {
    description: 'Compensation grants across incidents, the latest first, with totals per segment.',
  })
  @Roles(...INTERNAL_READERS)
  async compensations(
    @Context() context: LedgerContext,
    @OptionalInputArg('filter', CompensationFilterInput) filter: CompensationFilterInput | null,
    @Args('first', firstArg) first: number,
  ): Promise<CompensationLedger> {
    const queries = await this.reads.accountability(context);
    const { grantedFrom, grantedTo, segment } = filter ?? {};
    const ledger = queries.compensations(
      { segment, grantedFrom: grantedFrom?.toISOString(), grantedTo: grantedTo?.toISOString() },
      checkFirst(first),
    );
    return {
      ...ledger,
      grants: ledger.grants.map((grant) => ({ ...grant, followsPolicy: followsPolicy(grant) })),
    };
  }

  @Query(() => IncidentFeedback, { description: "The incident's customer feedback and its average rating." })
  @Roles(...INTERNAL_READERS)
  async customerFeedback(
    @Context() context: LedgerContext,
    @Args('incidentId', { type: () => ID }, uuidPipe('incidentId')) incidentId: string,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<IncidentFeedback> {
    const feedback = (
      await this.reads.accountability(withConsistency(context, consistentWith))
    ).incidentFeedback(incidentId);
    if (feedback === null) throw new NotFoundError(`Incident ${incidentId} does not exist`);
    return feedback;
  }

  @Query(() => [SeverityFeedback], {
    description: 'Average customer rating per (current) severity, over the incidents started in [from, to).',
  })
  @Roles(...INTERNAL_READERS)
  async feedbackBySeverity(
    @Context() context: LedgerContext,
    @Args('from', fromArg) from: Date | null,
    @Args('to', toArg) to: Date | null,
  ): Promise<SeverityFeedback[]> {
    const range = isoRange(from, to);
    return (await this.reads.accountability(context)).feedbackBySeverity(range.from, range.to);
  }
}
