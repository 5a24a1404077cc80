import {
  Global,
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../../../libs/event-store/index.js';
import { openReadModels, ProjectionRunner, type ReadModels } from '../../../libs/read-models/index.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { ConsistentReads, READ_MODELS } from './consistent-reads.js';
import { ReadModelsResolver } from './read-models.resolver.js';

/** The read models (LEDGER_DATA_DIR/read-models.db) and the runner that keeps them up to date. */
@Global()
@Module({
  providers: [
    {
      provide: READ_MODELS,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig) => openReadModels(config.dataDir),
    },
    {
      provide: ProjectionRunner,
      inject: [EVENT_STORE, READ_MODELS],
      useFactory: (store: EventStore, readModels: ReadModels) => new ProjectionRunner(store, readModels.db),
    },
    ConsistentReads,
    ReadModelsResolver,
  ],
  exports: [ConsistentReads, ProjectionRunner],
})
export class ReadModelsModule
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Projections');

  constructor(
    private readonly runner: ProjectionRunner,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner.onError((error) =>
      this.logger.error({ err: error }, 'Projection batch failed; retrying from the checkpoint'),
    );
    // Before it starts: whether the read models begin ahead of the log (refused) or behind it.
    await this.runner.assertWithinLog();
    await this.reportCatchUp();
    this.runner.start();
  }

  /**
   * Says so when the read models start behind the log (new, or emptied by a schema change): until
   * they catch up, queries answer from part of it. And says when they have.
   */
  private async reportCatchUp(): Promise<void> {
    const { checkpoint, head, lag } = await this.runner.status();
    if (head === null || lag <= 0n) return;
    this.logger.warn(
      { checkpoint: checkpoint?.toString() ?? null, head: head.toString(), lag: lag.toString() },
      'Read models behind the event store: catching up; until then queries answer from part of the log',
    );
    const unsubscribe = this.runner.onProgress(({ checkpoint: reached }) => {
      if (reached < head) return;
      unsubscribe();
      this.logger.log({ head: head.toString() }, 'Read models caught up with the event store');
    });
  }

  /**
   * Before the event store closes. Requests still waiting for consistency then time out and
   * mutations answer from the write side (see IncidentsResolver), so nothing acknowledged is lost.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  /** After the HTTP server has finished its last request. */
  onApplicationShutdown(): void {
    this.readModels.close();
  }
}
