import path from 'node:path';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../../../libs/event-store/index.js';
import { SqliteEventStore } from '../../../libs/event-store/sqlite/sqlite-event-store.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';

/**
 * The event store the configuration names: KurrentDB when EVENTSTORE_URL is set, else embedded
 * SQLite. The KurrentDB client (gRPC) is loaded only when it is used.
 */
/** The embedded store's file in LEDGER_DATA_DIR. */
export const EVENT_STORE_FILE = 'events.db';

export async function openEventStore(
  config: Pick<LedgerConfig, 'dataDir' | 'eventStoreUrl'>,
): Promise<EventStore> {
  if (!config.eventStoreUrl) return SqliteEventStore.open(path.join(config.dataDir, EVENT_STORE_FILE));
  const { KurrentDbEventStore } =
    await import('../../../libs/event-store/kurrentdb/kurrentdb-event-store.js');
  return KurrentDbEventStore.connect(config.eventStoreUrl);
}

@Global()
@Module({
  providers: [{ provide: EVENT_STORE, inject: [LEDGER_CONFIG], useFactory: openEventStore }],
  exports: [EVENT_STORE],
})
export class EventStoreModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** After the HTTP server stopped taking requests: let in-flight appends commit, then close. */
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
