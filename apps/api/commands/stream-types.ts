import {
  incidentDecider,
  incidentStreamId,
  maintenanceDecider,
  maintenanceStreamId,
  type Decider,
  type DomainCommand,
  type DomainEvent,
  type IncidentCommand,
  type IncidentEvent,
  type IncidentState,
  type MaintenanceCommand,
  type MaintenanceEvent,
  type MaintenanceState,
  type Recorded,
} from '../../../libs/domain/index.js';

/** What the state of every stream type tells the command side. */
export interface StreamState {
  /** False until the creating command's events are in. */
  exists: boolean;
  /** Number of events applied: the stream version. */
  version: number;
}

/** A kind of stream written by commands: its naming, its decider, and which command creates one. */
export interface StreamType<
  Command extends DomainCommand = DomainCommand,
  Event extends DomainEvent = DomainEvent,
  State extends StreamState = StreamState,
> {
  /** For messages: "Incident 42 does not exist". */
  label: string;
  streamId(id: string): string;
  decider: Decider<Command, Event, State, Recorded<Event>>;
  /** The command type that starts a stream; every other needs an existing one. */
  creates: Command['type'];
}

export const INCIDENTS: StreamType<IncidentCommand, IncidentEvent, IncidentState> = {
  label: 'Incident',
  streamId: incidentStreamId,
  decider: incidentDecider,
  creates: 'DeclareIncident',
};

export const MAINTENANCES: StreamType<MaintenanceCommand, MaintenanceEvent, MaintenanceState> = {
  label: 'Maintenance',
  streamId: maintenanceStreamId,
  decider: maintenanceDecider,
  creates: 'ScheduleMaintenance',
};
