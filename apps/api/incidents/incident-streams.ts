import { Inject, Injectable } from '@nestjs/common';
import {
  evolveStored,
  incidentStreamId,
  initialIncidentState,
  type IncidentState,
} from '../../../libs/domain/index.js';
import { EVENT_STORE, type EventStore, type StoredEvent } from '../../../libs/event-store/index.js';

export interface LoadedIncident {
  state: IncidentState;
  events: StoredEvent[];
}

/** Reads incident streams and replays them into state. */
@Injectable()
export class IncidentStreams {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async load(incidentId: string): Promise<LoadedIncident> {
    const events = await this.events(incidentId);
    return { state: events.reduce(evolveStored, initialIncidentState()), events };
  }

  /** The stream's events as stored, not replayed: what auditors check, tampered ones included. */
  events(incidentId: string): Promise<StoredEvent[]> {
    return this.store.readStream(incidentStreamId(incidentId));
  }
}
