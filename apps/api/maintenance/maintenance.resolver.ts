import { randomUUID } from 'node:crypto';
import { Args, Context, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { MaintenanceCommand, MaintenanceState } from '../../../libs/domain/index.js';
import { ConsistencyTimeoutError } from '../../../libs/read-models/index.js';
import type { Principal } from '../auth/api-key-ring.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { RESPONDERS, Roles } from '../auth/roles.decorator.js';
import type { ExecutionResult } from '../commands/execute-stream-command.js';
import type { CommandInput } from '../commands/command-input.js';
import { CommandSender } from '../commands/command-sender.js';
import { MAINTENANCES } from '../commands/stream-types.js';
import {
  consistentWithArg,
  requireConsistency,
  withConsistency,
  type LedgerContext,
} from '../graphql/context.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { OptionalInputArg, withoutNulls } from '../graphql/validation.js';
import { ConsistentReads } from '../read-models/consistent-reads.js';
import {
  CancelMaintenanceInput,
  CompleteMaintenanceInput,
  MaintenanceActionInput,
  MaintenanceFilterInput,
  RescheduleMaintenanceInput,
  ScheduleMaintenanceInput,
} from './maintenance.inputs.js';
import { Maintenance, MaintenancePayload } from './maintenance.types.js';

type CommandBody = Pick<MaintenanceCommand, 'type' | 'data'>;

/** A maintenance in the read model: scheduled, so its window and scheduling are set. */
const asMaintenance = (record: MaintenanceState | null) => record as Maintenance | null;

/** Scheduled maintenance: mutations through the CommandSender, queries from the read model. */
@Resolver(() => Maintenance)
export class MaintenanceResolver {
  constructor(
    private readonly commands: CommandSender,
    private readonly reads: ConsistentReads,
  ) {}

  @Query(() => Maintenance, { nullable: true, description: 'The maintenance; null if unknown.' })
  async maintenance(
    @Context() context: LedgerContext,
    @Args('id', { type: () => ID }, uuidPipe('id')) id: string,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<Maintenance | null> {
    return asMaintenance(
      (await this.reads.maintenances(withConsistency(context, consistentWith))).maintenance(id),
    );
  }

  @Query(() => [Maintenance], {
    description:
      'Maintenances by status, service and window overlap, the earliest window first (at most 500).',
  })
  async maintenances(
    @Context() context: LedgerContext,
    @OptionalInputArg('filter', MaintenanceFilterInput) filter: MaintenanceFilterInput | null,
    @Args('consistentWith', consistentWithArg) consistentWith: string | null,
  ): Promise<Maintenance[]> {
    const { windowFrom, windowTo, ...rest } = withoutNulls(filter ?? {});
    const queries = await this.reads.maintenances(withConsistency(context, consistentWith));
    return queries
      .maintenances({ ...rest, windowFrom: windowFrom?.toISOString(), windowTo: windowTo?.toISOString() })
      .map((record) => asMaintenance(record)!);
  }

  @Mutation(() => MaintenancePayload)
  @Roles(...RESPONDERS)
  scheduleMaintenance(
    @Args('input') input: ScheduleMaintenanceInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const maintenanceId = randomUUID();
    const { title, windowStart, windowEnd, services, advanceNotice } = input;
    return this.send('scheduleMaintenance', maintenanceId, input, principal, context, {
      type: 'ScheduleMaintenance',
      data: {
        maintenanceId,
        title,
        windowStart: windowStart.toISOString(),
        windowEnd: windowEnd.toISOString(),
        services,
        advanceNotice: advanceNotice ?? null,
      },
    });
  }

  @Mutation(() => MaintenancePayload)
  @Roles(...RESPONDERS)
  rescheduleMaintenance(
    @Args('input') input: RescheduleMaintenanceInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    const { windowStart, windowEnd, reason } = input;
    return this.send('rescheduleMaintenance', input.maintenanceId, input, principal, context, {
      type: 'RescheduleMaintenance',
      data: { windowStart: windowStart.toISOString(), windowEnd: windowEnd.toISOString(), reason },
    });
  }

  @Mutation(() => MaintenancePayload)
  @Roles(...RESPONDERS)
  cancelMaintenance(
    @Args('input') input: CancelMaintenanceInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.send('cancelMaintenance', input.maintenanceId, input, principal, context, {
      type: 'CancelMaintenance',
      data: { reason: input.reason },
    });
  }

  @Mutation(() => MaintenancePayload)
  @Roles(...RESPONDERS)
  startMaintenance(
    @Args('input') input: MaintenanceActionInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.send('startMaintenance', input.maintenanceId, input, principal, context, {
      type: 'StartMaintenance',
      data: {},
    });
  }

  @Mutation(() => MaintenancePayload)
  @Roles(...RESPONDERS)
  completeMaintenance(
    @Args('input') input: CompleteMaintenanceInput,
    @CurrentPrincipal() principal: Principal,
    @Context() context: LedgerContext,
  ) {
    return this.send('completeMaintenance', input.maintenanceId, input, principal, context, {
      type: 'CompleteMaintenance',
      data: { summary: input.summary },
    });
  }

  /**
   * Runs the command, then answers with the maintenance from the read model once it includes what
   * was written (the write side's state if the read model lags past the consistency timeout).
   */
  private async send(
    mutation: string,
    maintenanceId: string,
    input: CommandInput & { expectedVersion?: number },
    principal: Principal,
    context: LedgerContext,
    body: CommandBody,
  ): Promise<MaintenancePayload> {
    const result = await this.commands.send(
      MAINTENANCES,
      { mutation, id: maintenanceId, input, principal, context },
      body,
    );
    requireConsistency(context, result.position);
    return {
      maintenance: await this.maintenanceAfter(context, result),
      version: result.version,
      position: result.position.toString(),
    };
  }

  /**
   * The payload's maintenance: the read model's once it includes the write; the write side's state
   * if the read model lags beyond the consistency timeout, or on a replayed idempotency key (the
   * maintenance as the first request left it).
   */
  private async maintenanceAfter(
    context: LedgerContext,
    result: ExecutionResult<MaintenanceState>,
  ): Promise<Maintenance> {
    if (result.firstResultEvents === null) {
      try {
        const record = (await this.reads.maintenances(context)).maintenance(result.id);
        if (record) return asMaintenance(record)!;
      } catch (error) {
        if (!(error instanceof ConsistencyTimeoutError)) throw error;
      }
    }
    return asMaintenance(result.state)!;
  }
}
