import { Args, Context, ID, Int, Query, Resolver } from '@nestjs/graphql';
import {
  diffIncidentStates,
  incidentAsOf,
  recordExtrasOf,
  verifyStreamEvents,
} from '../../../libs/audit/index.js';
import { INTERNAL_READERS, Roles } from '../auth/roles.decorator.js';
import { requireConsistency, type LedgerContext } from '../graphql/context.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { DateTime } from '../graphql/scalars.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { IncidentStreams } from '../incidents/incident-streams.js';
import { Incident, IncidentEvent } from '../incidents/incident.types.js';
import { toEventView, toIncidentView } from '../incidents/incident.views.js';
import { IntegrityReport, StateChange } from './audit.types.js';

const idArg = ['id', { type: () => ID }, uuidPipe('id')] as const;

/**
 * For auditors: everything here is read from the event store itself (the `events` of an
 * incidentAsOf come from the read models, once they have caught up with it).
 */
@Resolver()
export class AuditResolver {
  constructor(private readonly streams: IncidentStreams) {}

  /** As stored: a stream changed outside the ledger may not replay, but it must still verify (as broken). */
  private async history(id: string) {
    const events = await this.streams.events(id);
    if (events.length === 0) throw new NotFoundError(`Incident ${id} does not exist`);
    return events;
  }

  @Query(() => Incident, {
    nullable: true,
    description:
      'The incident as the ledger showed it at an instant (events recorded up to `at`) or after its first `version` events; null before it existed.',
  })
  async incidentAsOf(
    @Context() context: LedgerContext,
    @Args(...idArg) id: string,
    @Args('at', { type: () => DateTime, nullable: true }) at: Date | null,
    @Args('version', { type: () => Int, nullable: true }) version: number | null,
  ): Promise<Incident | null> {
    if ((at == null) === (version == null))
      throw new BadUserInputError('Give exactly one of `at` and `version`');
    const events = await this.history(id);
    if (version != null && (version < 0 || version > events.length)) {
      throw new BadUserInputError(`version must be from 0 to ${events.length}`);
    }
    const state = incidentAsOf(events, version != null ? { version } : { at: at!.toISOString() });
    if (!state.exists) return null;
    const last = events[state.version - 1];
    // Its `events` field reads the read models: they must have the events it shows.
    requireConsistency(context, last.globalPosition);
    const asOfInstant = at?.toISOString() ?? last.recordedAt;
    // The events counted are the stream's first `state.version`.
    return toIncidentView({ ...state, ...recordExtrasOf(events.slice(0, state.version)) }, asOfInstant);
  }

  @Roles(...INTERNAL_READERS)
  @Query(() => [IncidentEvent], {
    description: 'Every event of the incident with its full envelope, from the event store.',
  })
  async auditTrail(
    @Args('incidentId', { type: () => ID }, uuidPipe('incidentId')) incidentId: string,
  ): Promise<IncidentEvent[]> {
    return (await this.history(incidentId)).map(toEventView);
  }

  // Every change of the state, internal ones included (a post-incident record, an internal update's
  // time): for the roles that read the internal log.
  @Roles(...INTERNAL_READERS)
  @Query(() => [StateChange], { description: 'What changed in the incident between two versions.' })
  async incidentDiff(
    @Args(...idArg) id: string,
    @Args('fromVersion', { type: () => Int }) fromVersion: number,
    @Args('toVersion', { type: () => Int }) toVersion: number,
  ): Promise<StateChange[]> {
    const events = await this.history(id);
    for (const version of [fromVersion, toVersion]) {
      if (version < 0 || version > events.length)
        throw new BadUserInputError(`versions must be from 0 to ${events.length}`);
    }
    return diffIncidentStates(
      incidentAsOf(events, { version: fromVersion }),
      incidentAsOf(events, { version: toVersion }),
    );
  }

  @Query(() => IntegrityReport, {
    description: "Recomputes the incident's hash chain from its stored events.",
  })
  async verifyIncidentIntegrity(@Args(...idArg) id: string): Promise<IntegrityReport> {
    return verifyStreamEvents(await this.history(id));
  }
}
