import { Inject, Injectable } from '@nestjs/common';
import { incidentStreamId } from '../../../libs/domain/index.js';
import { EVENT_STORE, type EventStore, type StoredEvent } from '../../../libs/event-store/index.js';

/** Reads incident streams as stored, for the auditors' queries. */
@Injectable()
export class IncidentStreams {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** The stream's events, not replayed: what auditors check, tampered ones included. */
  events(incidentId: string): Promise<StoredEvent[]> {
    return this.store.readStream(incidentStreamId(incidentId));
  }
}
