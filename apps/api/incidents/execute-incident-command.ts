import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  decide,
  evolve,
  incidentStreamId,
  type IncidentCommand,
  type IncidentState,
} from '../../../libs/domain/index.js';
import {
  DuplicateIdempotencyKeyError,
  EVENT_STORE,
  VersionConflictError,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../../../libs/event-store/index.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { IncidentStreams } from './incident-streams.js';
import { KeyedQueue } from './keyed-queue.js';

export interface ExecutionOptions {
  correlationId: string;
  /** The client's expectedVersion: a mismatch is the client's VERSION_CONFLICT, never retried. */
  expectedVersion?: number;
  idempotencyKey?: string;
  /** Hash of the client's request, to tell a retry (same) from a reused key (different). */
  requestFingerprint?: string;
}

export interface ExecutionResult {
  incidentId: string;
  state: IncidentState;
  version: number;
  position: bigint;
}

export class ExecuteIncidentCommand {
  constructor(
    readonly incidentId: string,
    readonly command: IncidentCommand,
    readonly options: ExecutionOptions,
  ) {}
}

/** Conflicts with writers in other processes are retried on fresh state this many times. */
const MAX_ATTEMPTS = 10;

/** Load, decide, append: the one handler every incident command goes through. */
@CommandHandler(ExecuteIncidentCommand)
export class ExecuteIncidentCommandHandler implements ICommandHandler<
  ExecuteIncidentCommand,
  ExecutionResult
> {
  private readonly queue = new KeyedQueue();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly streams: IncidentStreams,
  ) {}

  execute({ incidentId, command, options }: ExecuteIncidentCommand): Promise<ExecutionResult> {
    return this.queue.run(incidentId, async () => {
      for (let attempt = 1; ; attempt++) {
        const earlier = options.idempotencyKey ? await this.earlierResult(options) : null;
        if (earlier) return earlier;
        try {
          return await this.decideAndAppend(incidentId, command, options);
        } catch (error) {
          // Another request took the key meanwhile: answer as it did, once its events are readable.
          const keyTaken = error instanceof DuplicateIdempotencyKeyError;
          const conflict = error instanceof VersionConflictError && options.expectedVersion === undefined;
          if (!(keyTaken || conflict) || attempt >= MAX_ATTEMPTS) throw error;
          await sleep(Math.random() * 5 * attempt);
        }
      }
    });
  }

  private async decideAndAppend(
    incidentId: string,
    command: IncidentCommand,
    options: ExecutionOptions,
  ): Promise<ExecutionResult> {
    const streamId = incidentStreamId(incidentId);
    const { state } = await this.streams.load(incidentId);
    if (!state.exists && command.type !== 'DeclareIncident') {
      throw new NotFoundError(`Incident ${incidentId} does not exist`);
    }
    if (options.expectedVersion !== undefined && options.expectedVersion !== state.version) {
      throw new VersionConflictError(streamId, options.expectedVersion, state.version);
    }
    const { actor, occurredAt } = command.metadata;
    const decided = decide(command, state);
    const envelopes: NewEvent[] = decided.map((event) => ({
      eventId: randomUUID(),
      type: event.type,
      schemaVersion: 1,
      data: event.data as Record<string, unknown>,
      occurredAt,
      actor,
      correlationId: options.correlationId,
      causationId: null,
      idempotencyKey: options.idempotencyKey ?? null,
      requestFingerprint: options.requestFingerprint ?? null,
    }));
    const { nextVersion, position } = await this.store.appendToStream(streamId, envelopes, state.version);
    const newState = decided.reduce(
      (current, event) => evolve(current, { ...event, occurredAt, actor }),
      state,
    );
    return { incidentId, state: newState, version: nextVersion, position };
  }

  /** The answer the first request with this idempotency key got, or null if the key is new. */
  private async earlierResult(options: ExecutionOptions): Promise<ExecutionResult | null> {
    const earlier: StoredEvent[] = await this.store.findByIdempotencyKey(options.idempotencyKey!);
    const last = earlier.at(-1);
    if (!last) return null;
    if (last.requestFingerprint !== options.requestFingerprint) {
      throw new BadUserInputError('This idempotency key was already used for a different request', {
        idempotencyKey: options.idempotencyKey,
      });
    }
    const incidentId = last.streamId.slice(incidentStreamId('').length);
    const { state } = await this.streams.load(incidentId);
    return { incidentId, state, version: last.streamVersion, position: last.globalPosition };
  }
}
