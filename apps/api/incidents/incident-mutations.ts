import { Injectable } from '@nestjs/common';
import { recordExtrasOf } from '../../../libs/audit/index.js';
import { ConsistencyTimeoutError } from '../../../libs/read-models/index.js';
import type { IncidentCommand, IncidentState } from '../../../libs/domain/index.js';
import type { Principal } from '../auth/api-key-ring.js';
import type { CommandInput } from '../commands/command-input.js';
import { CommandSender } from '../commands/command-sender.js';
import type { ExecutionResult } from '../commands/execute-stream-command.js';
import { INCIDENTS } from '../commands/stream-types.js';
import { requireConsistency, type LedgerContext } from '../graphql/context.js';
import { ConsistentReads } from '../read-models/consistent-reads.js';
import type { Incident, IncidentPayload } from './incident.types.js';
import { toIncidentView } from './incident.views.js';

export type IncidentCommandBody = Pick<IncidentCommand, 'type' | 'data'>;

/** What every incident mutation does once its resolver has mapped the input to a command. */
@Injectable()
export class IncidentMutations {
  constructor(
    private readonly commands: CommandSender,
    private readonly reads: ConsistentReads,
  ) {}

  /** Stamps who and when (from the key and the server clock), then runs the command. */
  async send(
    mutation: string,
    incidentId: string,
    input: CommandInput & { expectedVersion?: number },
    principal: Principal,
    context: LedgerContext,
    body: IncidentCommandBody,
  ): Promise<IncidentPayload> {
    const result = await this.commands.send(
      INCIDENTS,
      { mutation, id: incidentId, input, principal, context },
      body,
    );
    return {
      incident: await this.consistentIncident(context, result),
      version: result.version,
      position: result.position.toString(),
    };
  }

  /**
   * The payload's incident from the read models, once they include what was just written, so that
   * the payload and every later read of this request agree. If they lag more than the consistency
   * timeout, the write side's state answers instead: the command is done and must not look failed.
   * A replayed idempotency key answers the incident as the first request left it, as incidentAsOf
   * would show it at that version.
   */
  private async consistentIncident(
    context: LedgerContext,
    result: ExecutionResult<IncidentState>,
  ): Promise<Incident> {
    requireConsistency(context, result.position);
    if (result.firstResultEvents !== null) {
      const { recordedAt } = result.firstResultEvents[result.firstResultEvents.length - 1];
      return toIncidentView({ ...result.state, ...recordExtrasOf(result.firstResultEvents) }, recordedAt);
    }
    const now = new Date().toISOString();
    try {
      const record = (await this.reads.queries(context)).incident(result.id);
      if (record) return toIncidentView(record, now);
    } catch (error) {
      if (!(error instanceof ConsistencyTimeoutError)) throw error;
    }
    return toIncidentView(result.state, now);
  }
}
