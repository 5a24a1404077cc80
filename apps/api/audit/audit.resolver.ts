import { Args, ID, Int, Query, Resolver } from '@nestjs/graphql';
import {
  diffIncidentStates,
  eventsAsOf,
  foldIncident,
  incidentAsOf,
  recordExtrasOf,
  verifyStreamEvents,
  type AsOf,
} from '../../../libs/audit/index.js';
import { INTERNAL_READERS, Roles } from '../auth/roles.decorator.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { AsOfClockEnum, type AsOfClock } from '../graphql/enums.js';
import { DateTime } from '../graphql/scalars.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { IncidentStreams } from '../incidents/incident-streams.js';
import { Incident, IncidentEvent } from '../incidents/incident.types.js';
import { toEventView, toIncidentView } from '../incidents/incident.views.js';
import { IntegrityReport, StateChange } from './audit.types.js';

const idArg = ['id', { type: () => ID }, uuidPipe('id')] as const;

/** For auditors: everything here is read from the event store itself. */
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
      'The incident from the events that count: its first `version` ones; or, at an instant, those recorded by `at` (`by: RECORDED_AT`, the default: what the ledger said then) or those that occurred by `at` (`by: OCCURRED_AT`: what we now know had happened by then, entries made after the fact included; `version` then counts those events). Null before it existed. Its `events` are those, as stored.',
  })
  async incidentAsOf(
    @Args(...idArg) id: string,
    @Args('at', { type: () => DateTime, nullable: true }) at: Date | null,
    @Args('version', { type: () => Int, nullable: true }) version: number | null,
    @Args('by', { type: () => AsOfClockEnum, nullable: true }) by: AsOfClock | null,
  ): Promise<Incident | null> {
    if ((at == null) === (version == null))
      throw new BadUserInputError('Give exactly one of `at` and `version`');
    if (by != null && at == null) throw new BadUserInputError('`by` goes with `at`');
    const events = await this.history(id);
    if (version != null && (version < 0 || version > events.length)) {
      throw new BadUserInputError(`version must be from 0 to ${events.length}`);
    }
    const asOf: AsOf =
      version != null
        ? { version }
        : { at: at!.toISOString(), by: by === 'OCCURRED_AT' ? 'occurredAt' : 'recordedAt' };
    const counted = eventsAsOf(events, asOf);
    const state = foldIncident(counted);
    if (!state.exists) return null;
    const asOfInstant = at?.toISOString() ?? counted.at(-1)!.recordedAt;
    const view = toIncidentView({ ...state, ...recordExtrasOf(counted) }, asOfInstant);
    return {
      ...view,
      storedEvents: counted,
      rootCauses: view.rootCauses.map((rootCause) => ({ ...rootCause, storedEvents: counted })),
    };
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
