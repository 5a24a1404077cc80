import { existsSync } from 'node:fs';
import path from 'node:path';
import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../../../libs/event-store/index.js';
import { SqliteEventStore } from '../../../libs/event-store/sqlite/sqlite-event-store.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';

/**
 * The event store the configuration names: KurrentDB when EVENTSTORE_URL is set, else embedded
 * SQLite. The KurrentDB client (gRPC) is loaded only when it is used.
 */
/** The embedded store's file in LEDGER_DATA_DIR. */
export const EVENT_STORE_FILE = 'events.db';

/** The KurrentDB server of EVENTSTORE_URL did not answer when the store was opened. */
export class EventStoreUnreachableError extends Error {
  constructor(server: string, reason: string) {
    super(
      `the KurrentDB server of EVENTSTORE_URL (${server}) does not answer (${reason}): is it running there?`,
    );
  }
}

export async function openEventStore(
  config: Pick<LedgerConfig, 'dataDir' | 'eventStoreUrl'>,
): Promise<EventStore> {
  if (!config.eventStoreUrl) {
    const file = path.join(config.dataDir, EVENT_STORE_FILE);
    // Right on a first start; a mistyped LEDGER_DATA_DIR would otherwise serve an empty ledger unsaid.
    if (!existsSync(file))
      new Logger('EventStore').warn(`No event store in ${path.resolve(file)}: creating a new, empty one`);
    return SqliteEventStore.open(file);
  }
  const { KurrentDbEventStore } =
    await import('../../../libs/event-store/kurrentdb/kurrentdb-event-store.js');
  const store = KurrentDbEventStore.connect(config.eventStoreUrl);
  // The client connects lazily: asked now, an unreachable server is named at once, instead of
  // failing the first read with the client's bare "UnavailableError".
  try {
    await store.ping();
  } catch (error) {
    await store.close();
    throw new EventStoreUnreachableError(
      store.server,
      error instanceof Error ? error.message : String(error),
    );
  }
  return store;
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
