import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { DomainCommand } from '../../../libs/domain/index.js';
import {
  DuplicateIdempotencyKeyError,
  EVENT_STORE,
  VersionConflictError,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../../../libs/event-store/index.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { KeyedQueue } from './keyed-queue.js';
import type { StreamState, StreamType } from './stream-types.js';

export interface ExecutionOptions {
  correlationId: string;
  /** The client's expectedVersion: a mismatch is the client's VERSION_CONFLICT, never retried. */
  expectedVersion?: number;
  idempotencyKey?: string;
  /** Hash of the client's request, to tell a retry (same) from a reused key (different). */
  requestFingerprint?: string;
}

export interface ExecutionResult<State extends StreamState = StreamState> {
  /** The incident's or maintenance's id (the stream id without its prefix). */
  id: string;
  /** The state after the command; on a replayed idempotency key, after the first request's. */
  state: State;
  version: number;
  position: bigint;
  /** On a replayed idempotency key: the stream's events up to the first request's result; else null. */
  firstResultEvents: StoredEvent[] | null;
}

export class ExecuteStreamCommand {
  constructor(
    readonly streamType: StreamType,
    readonly id: string,
    readonly command: DomainCommand,
    readonly options: ExecutionOptions,
  ) {}
}

/** Conflicts with writers in other processes are retried on fresh state this many times. */
const MAX_ATTEMPTS = 10;

/** Load, decide, append: the one handler every command of every stream type goes through. */
@CommandHandler(ExecuteStreamCommand)
export class ExecuteStreamCommandHandler implements ICommandHandler<ExecuteStreamCommand, ExecutionResult> {
  private readonly queue = new KeyedQueue();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  execute({ streamType, id, command, options }: ExecuteStreamCommand): Promise<ExecutionResult> {
    return this.queue.run(streamType.streamId(id), async () => {
      for (let attempt = 1; ; attempt++) {
        const earlier = options.idempotencyKey ? await this.earlierResult(streamType, options) : null;
        if (earlier) return earlier;
        try {
          return await this.decideAndAppend(streamType, id, command, options);
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
    streamType: StreamType,
    id: string,
    command: DomainCommand,
    options: ExecutionOptions,
  ): Promise<ExecutionResult> {
    const streamId = streamType.streamId(id);
    const state = await this.load(streamType, id);
    if (!state.exists && command.type !== streamType.creates) {
      throw new NotFoundError(`${streamType.label} ${id} does not exist`);
    }
    if (options.expectedVersion !== undefined && options.expectedVersion !== state.version) {
      throw new VersionConflictError(streamId, options.expectedVersion, state.version);
    }
    const { actor, occurredAt } = command.metadata;
    const decided = streamType.decider.decide(command, state);
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
      (current, event) => streamType.decider.evolve(current, { ...event, occurredAt, actor }),
      state,
    );
    return { id, state: newState, version: nextVersion, position, firstResultEvents: null };
  }

  private async load(streamType: StreamType, id: string): Promise<StreamState> {
    return fold(streamType, await this.store.readStream(streamType.streamId(id)));
  }

  /** The answer the first request with this idempotency key got, or null if the key is new. */
  private async earlierResult(
    streamType: StreamType,
    options: ExecutionOptions,
  ): Promise<ExecutionResult | null> {
    const earlier: StoredEvent[] = await this.store.findByIdempotencyKey(options.idempotencyKey!);
    const last = earlier.at(-1);
    if (!last) return null;
    // The fingerprint names the mutation, so a key reused on another stream type differs too.
    if (last.requestFingerprint !== options.requestFingerprint) {
      throw new BadUserInputError('This idempotency key was already used for a different request', {
        idempotencyKey: options.idempotencyKey,
      });
    }
    const id = last.streamId.slice(streamType.streamId('').length);
    // The first result whole: the stream as that request left it, not as later ones made it.
    const firstResultEvents = (await this.store.readStream(last.streamId)).slice(0, last.streamVersion);
    return {
      id,
      state: fold(streamType, firstResultEvents),
      version: last.streamVersion,
      position: last.globalPosition,
      firstResultEvents,
    };
  }
}

function fold(streamType: StreamType, events: readonly StoredEvent[]): StreamState {
  return events.reduce(
    (state, { type, data, occurredAt, actor }) =>
      streamType.decider.evolve(state, { type, data, occurredAt, actor }),
    streamType.decider.initialState(),
  );
}
