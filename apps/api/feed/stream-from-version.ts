import type { EventStore, StoredEvent } from '../../../libs/event-store/index.js';

/** Events per read of an incident's history: a subscriber holds at most one such page besides its read-ahead. */
export const HISTORY_PAGE = 500;

/**
 * The stream's events after `afterVersion`: its history read page by page (the events wait in the
 * log, not in memory, while the subscriber takes them), then each new one as it is stored. `signal`
 * ends the following; a boundedFeed, its reader, stops taking history events once it aborts.
 */
export async function* streamFromVersion(
  store: EventStore,
  streamId: string,
  afterVersion: number,
  signal: AbortSignal,
  pageSize = HISTORY_PAGE,
): AsyncGenerator<StoredEvent> {
  // The head is read before the stream, so that an event stored in between is either in the
  // history or after `from`: none is missed, and the version check drops any seen twice.
  const head = (await store.headPosition()) ?? 0n;
  let version = afterVersion;
  let from = head;
  for (;;) {
    const page = await store.readStream(streamId, version + 1, pageSize);
    for (const event of page) {
      version = event.streamVersion;
      if (event.globalPosition > from) from = event.globalPosition;
      yield event;
    }
    if (page.length < pageSize) break;
  }
  const ofTheStream = (event: StoredEvent) => event.streamId === streamId;
  for await (const event of store.subscribe(from, { signal, filter: ofTheStream })) {
    if (event.streamVersion <= version) continue;
    version = event.streamVersion;
    yield event;
  }
}
