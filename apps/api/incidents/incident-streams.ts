import { Inject, Injectable } from '@nestjs/common';
import {
  evolve,
  incidentStreamId,
  initialIncidentState,
  type IncidentEvent,
  type IncidentState,
} from '../../../libs/domain/index.js';
import { EVENT_STORE, type EventStore, type StoredEvent } from '../../../libs/event-store/index.js';

export interface LoadedIncident {
  state: IncidentState;
  events: StoredEvent[];
}

/** Folds a stored event into the incident state: the domain's evolve with the envelope's time and actor. */
export function evolveStored(state: IncidentState, event: StoredEvent): IncidentState {
  const domainEvent = { type: event.type, data: event.data } as IncidentEvent;
  return evolve(state, { ...domainEvent, occurredAt: event.occurredAt, actor: event.actor });
}

/** Reads incident streams and replays them into state. */
@Injectable()
export class IncidentStreams {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async load(incidentId: string): Promise<LoadedIncident> {
    const events = await this.store.readStream(incidentStreamId(incidentId));
    return { state: events.reduce(evolveStored, initialIncidentState()), events };
  }
}
