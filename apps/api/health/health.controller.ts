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
   * Readiness: the process answers and the event store does. The read models' lag (events not yet
   * in them) is reported for monitoring, not judged: reads can wait for a position they need.
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
      async () => {
        const { lag } = await this.projections.status();
        return this.indicators.check('readModels').up({ lag: Number(lag) });
      },
    ]);
  }

  /** Liveness: the process answers. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }
}
