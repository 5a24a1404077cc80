import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { EVENT_STORE, type EventStore } from '../../../libs/event-store/index.js';
import { ProjectionRunner } from '../../../libs/read-models/index.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly projections: ProjectionRunner,
  ) {}

  /**
   * Readiness: the process answers and the event store does. The read models' lag (how far their
   * checkpoint is behind the log's head: events, on the embedded store) is reported for monitoring,
   * not judged: reads can wait for a position they need.
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
    ]);
  }

  /** Liveness: the process answers. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }
}
