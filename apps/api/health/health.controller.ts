import { statfs } from 'node:fs/promises';
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { EVENT_STORE, type EventStore } from '../../../libs/event-store/index.js';
import { ProjectionRunner } from '../../../libs/read-models/index.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly projections: ProjectionRunner,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  /**
   * Readiness: the process answers, the event store does, and the data dir's filesystem has room
   * (full, every append fails: better out of a load balancer before). The read models' lag (how far
   * their checkpoint is behind the log's head: events, on the embedded store) is reported for
   * monitoring, not judged: reads can wait for a position they need.
   */
  @Get()
  @HealthCheck()
  ready() {
    return this.health.check([
      () =>
        this.indicators
          .check('eventStore')
          .attempt(() => this.store.ping())
          .withTimeout(2_000),
      () =>
        this.indicators
          .check('readModels')
          // Reported, never judged: when it cannot be read (the store is down), null, and the
          // event store's own check says why.
          .attempt(async () => ({
            lag: await this.projections.status().then(
              ({ lag }) => Number(lag),
              () => null,
            ),
          }))
          .withTimeout(2_000),
      () =>
        this.indicators
          .check('disk')
          .attempt(() => freeSpace(this.config))
          .withTimeout(2_000),
    ]);
  }

  /** Liveness: the process answers. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }
}

/** The free space of the data dir's filesystem (the embedded store, the read models and the dispatchers' files). */
async function freeSpace({ dataDir, minFreeDiskMb }: LedgerConfig): Promise<{ freeMb: number }> {
  const { bavail, bsize } = await statfs(dataDir);
  const freeMb = Math.floor((bavail * bsize) / 2 ** 20);
  if (freeMb < minFreeDiskMb) {
    throw new Error(
      `${freeMb} MiB free on the filesystem of LEDGER_DATA_DIR, under LEDGER_MIN_FREE_DISK_MB ` +
        `(${minFreeDiskMb}): appends will soon fail`,
    );
  }
  return { freeMb };
}
