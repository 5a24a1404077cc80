import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { DomainCommand, DomainEvent } from '../../../libs/domain/index.js';
import { canonicalJson } from '../../../libs/event-store/index.js';
import type { Principal } from '../auth/api-key-ring.js';
import type { LedgerContext } from '../graphql/context.js';
import { NotFoundError } from '../graphql/errors.js';
import type { CommandInput } from './command-input.js';
import { ExecuteStreamCommand, type ExecutionResult } from './execute-stream-command.js';
import type { StreamState, StreamType } from './stream-types.js';

/**
 * Turns a mutation into a domain command (the actor from the API key, occurredAt from the client,
 * a fast client clock's few seconds ahead taken as now, or now) and sends it down the CommandBus,
 * so that resolvers stay a mapping of input to command.
 */
@Injectable()
export class CommandSender {
  constructor(private readonly commandBus: CommandBus) {}

  async send<Command extends DomainCommand, Event extends DomainEvent, State extends StreamState>(
    streamType: StreamType<Command, Event, State>,
    request: {
      mutation: string;
      id: string;
      input: CommandInput & { expectedVersion?: number };
      principal: Principal;
      context: LedgerContext;
    },
    body: Pick<Command, 'type' | 'data'>,
  ): Promise<ExecutionResult<State>> {
    const { mutation, id, input, principal, context } = request;
    const now = new Date();
    const command = {
      ...body,
      metadata: {
        actor: principal.actor,
        now: now.toISOString(),
        occurredAt: occurredAtOf(input.occurredAt, now),
      },
    } as Command;
    const result = await this.commandBus.execute<ExecuteStreamCommand, ExecutionResult<State>>(
      new ExecuteStreamCommand(streamType as unknown as StreamType, id, command, {
        correlationId: String((context.req as { id?: unknown }).id ?? randomUUID()),
        expectedVersion: input.expectedVersion,
        idempotencyKey: input.idempotencyKey,
        requestFingerprint: input.idempotencyKey
          ? requestFingerprint(mutation, input, principal.actor)
          : undefined,
      }),
    );
    if (!result.state.exists) throw new NotFoundError(`${streamType.label} ${result.id} does not exist`);
    return result;
  }
}

/**
 * How far ahead of the server's clock a client's may run: an occurredAt up to this far in the
 * future is taken as now (a time picker's "now" on a slightly fast clock); further, the domain
 * refuses it (occurred-at-in-future).
 */
export const CLOCK_SKEW_TOLERANCE_MS = 60_000;

function occurredAtOf(given: Date | undefined, now: Date): string {
  if (given === undefined) return now.toISOString();
  const ahead = given.getTime() - now.getTime();
  return ahead > 0 && ahead <= CLOCK_SKEW_TOLERANCE_MS ? now.toISOString() : given.toISOString();
}

/** Identifies a request for idempotency: same mutation, same caller, same input (the key aside). */
export function requestFingerprint(
  mutation: string,
  input: { idempotencyKey?: string },
  actor: string,
): string {
  const { idempotencyKey: _key, ...rest } = input;
  const plain: unknown = JSON.parse(JSON.stringify(rest)); // Dates to ISO strings
  return createHash('sha256')
    .update(canonicalJson({ mutation, actor, input: plain }))
    .digest('hex');
}
