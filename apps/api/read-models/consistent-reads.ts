import { Inject, Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import {
  ProjectionRunner,
  type AccountabilityQueries,
  type MaintenanceQueries,
  type ReadModelQueries,
  type ReadModels,
} from '../../../libs/read-models/index.js';
import type { StoredEvent } from '../../../libs/event-store/index.js';
import type { LedgerContext } from '../graphql/context.js';

export const READ_MODELS = Symbol('ReadModels');

/** How long a read waits for the read models to reach its consistency position. */
export const CONSISTENCY_TIMEOUT_MS = 2_000;

/** The read models, once they have caught up with what the request needs to see. */
@Injectable()
export class ConsistentReads {
  constructor(
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
    private readonly runner: ProjectionRunner,
  ) {}

  /** Waits (bounded; ConsistencyTimeoutError after CONSISTENCY_TIMEOUT_MS) for the context's position. */
  async queries(context: LedgerContext): Promise<ReadModelQueries> {
    return (await this.caughtUp(context)).queries;
  }

  /** Metrics, compliance, overdue updates and the post-incident catalogs, as queries() waits. */
  async accountability(context: LedgerContext): Promise<AccountabilityQueries> {
    return (await this.caughtUp(context)).accountability;
  }

  async maintenances(context: LedgerContext): Promise<MaintenanceQueries> {
    return (await this.caughtUp(context)).maintenances;
  }

  /** The accountability queries without waiting: for work outside any request (the overdue watcher). */
  get latestAccountability(): AccountabilityQueries {
    return this.readModels.accountability;
  }

  private async caughtUp(context: LedgerContext): Promise<ReadModels> {
    if (context.consistentWith !== null) {
      await this.runner.waitForPosition(context.consistentWith, CONSISTENCY_TIMEOUT_MS);
    }
    return this.readModels;
  }

  /**
   * The events of an incident up to `upToVersion`, the version of the record the caller answered
   * with (the read models may already hold newer ones), batched with the other incidents of the
   * request into one query.
   */
  async eventsOf(context: LedgerContext, incidentId: string, upToVersion: number): Promise<StoredEvent[]> {
    const queries = await this.queries(context);
    context.eventsLoader ??= new DataLoader(async (ids: readonly string[]) => {
      const byIncident = queries.eventsOf([...ids]);
      return ids.map((id) => byIncident.get(id) ?? []);
    });
    const events = await context.eventsLoader.load(incidentId);
    return events.filter((event) => event.streamVersion <= upToVersion);
  }
}
