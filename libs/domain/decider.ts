/** The shapes every decider of the domain shares (the incident now; maintenance and others later). */

/** An event as `decide` emits it: the stored `type` and its `data`. */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  type: Type;
  data: Data;
}

/** An event read back from its stream, with the envelope fields that `evolve` needs. */
export type Recorded<Event extends DomainEvent> = Event & {
  /** When it happened in the world (ISO-8601). */
  occurredAt: string;
  actor: string;
};

export interface CommandMetadata {
  /** From authentication, never from the request body. */
  actor: string;
  /** When it happened in the world: what the client said, else `now`. May be earlier than `now`. */
  occurredAt: string;
  /** The server clock, read by the caller: the domain never reads a clock itself. */
  now: string;
}

export interface DomainCommand<Type extends string = string, Data extends object = object> {
  type: Type;
  data: Data;
  metadata: CommandMetadata;
}

export interface Decider<Command, Event, State, RecordedEvent = Event> {
  /** Throws RuleViolation when the command breaks a rule; never has side effects. */
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: RecordedEvent): State;
  initialState(): State;
}
