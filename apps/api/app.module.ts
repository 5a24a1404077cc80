import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Global, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { GraphQLModule } from '@nestjs/graphql';
import { LoggerModule } from 'nestjs-pino';
import { DataDirLock } from '../../libs/data-dir/data-dir-lock.js';
import { AccountabilityModule } from './accountability/accountability.module.js';
import { AuditModule } from './audit/audit.module.js';
import { ApiKeyRing } from './auth/api-key-ring.js';
import { AuthModule } from './auth/auth.module.js';
import { CommandsModule } from './commands/commands.module.js';
import { GraphQLErrorsFilter } from './graphql/graphql-errors.filter.js';
import { graphqlOptions } from './graphql/graphql-options.js';
import { SubscriptionServer } from './graphql/subscription-server.js';
import { LEDGER_CONFIG, type LedgerConfig } from './config/ledger-config.js';
import { EventStoreModule } from './event-store/event-store.module.js';
import { FeedModule } from './feed/feed.module.js';
import { HealthModule } from './health/health.module.js';
import { IncidentsModule } from './incidents/incidents.module.js';
import { MaintenanceModule } from './maintenance/maintenance.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { ReadModelsModule } from './read-models/read-models.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

const REQUEST_ID = /^[\w.:-]{1,100}$/;

/** A caller's X-Request-Id when it is sane, else a new one; echoed back and logged with every line. */
function requestId(request: IncomingMessage, response: ServerResponse): string {
  const given = request.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  response.setHeader('x-request-id', id);
  return id;
}

@Global()
@Module({})
class ConfigModule {
  static with(config: LedgerConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: LEDGER_CONFIG, useValue: config }],
      exports: [LEDGER_CONFIG],
    };
  }
}

/**
 * Holds the data directory's lock (see createApp) while the app runs. Global, and imported first: Nest
 * shuts such modules down last, once every file of the data dir is closed.
 */
@Global()
@Module({})
class DataDirLockModule implements OnApplicationShutdown {
  constructor(private readonly lock: DataDirLock) {}

  static holding(lock: DataDirLock): DynamicModule {
    return { module: DataDirLockModule, providers: [{ provide: DataDirLock, useValue: lock }] };
  }

  onApplicationShutdown(): void {
    this.lock.release();
  }
}

@Module({})
export class AppModule {
  static with(config: LedgerConfig, lock: DataDirLock): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DataDirLockModule.holding(lock),
        ConfigModule.with(config),
        LoggerModule.forRoot({
          pinoHttp: { level: config.logLevel, genReqId: requestId, redact: ['req.headers.authorization'] },
        }),
        CqrsModule.forRoot(),
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          inject: [ApiKeyRing],
          useFactory: graphqlOptions,
        }),
        EventStoreModule,
        AuthModule,
        CommandsModule,
        HealthModule,
        ReadModelsModule,
        FeedModule,
        AuditModule,
        IncidentsModule,
        AccountabilityModule,
        MaintenanceModule,
        WebhooksModule,
        NotificationsModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: GraphQLErrorsFilter }, SubscriptionServer],
    };
  }
}
