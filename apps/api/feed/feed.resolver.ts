import { Inject } from '@nestjs/common';
import { Args, Context, ID, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import { incidentStreamId } from '../../../libs/domain/index.js';
import { EVENT_STORE, type EventStore, type StoredEvent } from '../../../libs/event-store/index.js';
import type { Principal } from '../auth/api-key-ring.js';
import { hasRoles } from '../auth/auth.guard.js';
import { INTERNAL_READERS, Roles, WEBHOOK_READERS } from '../auth/roles.decorator.js';
import { parsePosition, type LedgerContext } from '../graphql/context.js';
import { BadUserInputError, NotFoundError } from '../graphql/errors.js';
import { uuidPipe } from '../graphql/uuid.pipe.js';
import { IncidentEvent } from '../incidents/incident.types.js';
import { toEventView } from '../incidents/incident.views.js';
import {
  WEBHOOK_REGISTERED,
  WEBHOOK_REMOVED,
  WEBHOOK_STREAM_PREFIX,
} from '../../../libs/webhooks/webhook-events.js';
import { SUBSCRIBABLE_EVENT_TYPES } from '../webhooks/webhook.types.js';
import { boundedFeed } from './bounded-feed.js';
import { streamFromVersion } from './stream-from-version.js';
import { EventConnection } from './feed.types.js';

/** Read pages of this size while filtering the feed… */
const SCAN_PAGE = 500;
/** …and examine at most this many events per request, so a sparse filter cannot scan the whole log. */
const SCAN_LIMIT = 10_000;

interface FeedFilter {
  streamPrefix?: string | null;
  types?: string[] | null;
}

/** Every type the log holds: a filter on another (a misspelling, say) would match nothing, for ever. */
const FEED_EVENT_TYPES = new Set([...SUBSCRIBABLE_EVENT_TYPES, WEBHOOK_REGISTERED, WEBHOOK_REMOVED]);

/**
 * The filter as a predicate; refuses types the log cannot hold. Webhook registrations are left out
 * for callers who may not read them (a receiver's URL may carry its credential).
 */
function matches({ streamPrefix, types }: FeedFilter, principal: Principal): (event: StoredEvent) => boolean {
  const webhooksReadable = hasRoles(principal, WEBHOOK_READERS);
  const unknown = (types ?? []).filter((type) => !FEED_EVENT_TYPES.has(type));
  if (unknown.length > 0) {
    throw new BadUserInputError(`types: no event is of type ${unknown.join(', ')}`, {
      knownTypes: [...FEED_EVENT_TYPES],
    });
  }
  // A set: the store tests the filter of every live subscription against every new event.
  const typeSet = types?.length ? new Set(types) : null;
  return (event) =>
    (!streamPrefix || event.streamId.startsWith(streamPrefix)) &&
    (!typeSet || typeSet.has(event.type)) &&
    (webhooksReadable || !event.streamId.startsWith(WEBHOOK_STREAM_PREFIX));
}

const afterArg = {
  type: () => String,
  nullable: true,
  description: 'A cursor (position); omit to start from the beginning.',
} as const;
const prefixArg = {
  type: () => String,
  nullable: true,
  description: 'Only streams whose id starts with this, e.g. "incident-".',
} as const;
const typesArg = { type: () => [String], nullable: true, description: 'Only these event types.' } as const;

/**
 * The cursor's position; refused beyond the store's head: it cannot have come from this feed, and
 * resuming from it would skip every event stored up to it.
 */
async function cursorOf(store: EventStore, after: string | null | undefined): Promise<bigint | null> {
  if (!after) return null;
  const position = parsePosition(after, 'after');
  const head = (await store.headPosition()) ?? 0n;
  if (position > head) {
    throw new BadUserInputError(`after ${position} is beyond the feed's newest position (${head})`, {
      head: head.toString(),
    });
  }
  return position;
}

/** The global event feed for integrations: a query to page through it, subscriptions to follow it. */
@Resolver()
export class FeedResolver {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Roles(...INTERNAL_READERS)
  @Query(() => EventConnection, {
    description: 'The global feed in position order; resuming from any cursor misses nothing.',
  })
  async events(
    @Args('after', afterArg) after: string | null,
    // Nullable as DESIGN.md's contract has it (`first: Int = 100`): null means the default.
    @Args('first', { type: () => Int, nullable: true, defaultValue: 100 }) firstOrNull: number | null,
    @Args('streamPrefix', prefixArg) streamPrefix: string | null,
    @Args('types', typesArg) types: string[] | null,
    @Context() context: LedgerContext,
  ): Promise<EventConnection> {
    const first = firstOrNull ?? 100;
    if (first < 1 || first > 1_000) throw new BadUserInputError('first must be from 1 to 1000');
    const wanted = matches({ streamPrefix, types }, context.req.principal!);
    const edges: EventConnection['edges'] = [];
    let position = await cursorOf(this.store, after);
    let scanned = 0;
    let more = true;
    while (edges.length < first && scanned < SCAN_LIMIT && more) {
      const page = await this.store.readAll(position, SCAN_PAGE);
      more = page.length === SCAN_PAGE;
      for (const event of page) {
        position = event.globalPosition;
        scanned++;
        if (!wanted(event)) continue;
        edges.push({ cursor: position.toString(), node: toEventView(event) });
        if (edges.length === first) {
          more = more || event !== page.at(-1);
          break;
        }
      }
    }
    return { edges, pageInfo: { hasNextPage: more, endCursor: position?.toString() ?? null } };
  }

  @Roles(...INTERNAL_READERS)
  @Subscription(() => IncidentEvent, {
    name: 'events',
    description: 'Every event after the cursor (catch-up), then each new one as it is stored.',
    resolve: (event: StoredEvent) => toEventView(event),
  })
  followEvents(
    @Args('after', afterArg) after: string | null,
    @Args('streamPrefix', prefixArg) streamPrefix: string | null,
    @Args('types', typesArg) types: string[] | null,
    @Context() context: LedgerContext,
  ): AsyncIterator<StoredEvent> {
    const wanted = matches({ streamPrefix, types }, context.req.principal!);
    const store = this.store;
    return boundedFeed(async function* (signal) {
      const from = await cursorOf(store, after);
      // The store tests the filter as it reads: events it refuses cost this subscription nothing.
      yield* store.subscribe(from, { signal, filter: wanted });
    });
  }

  @Roles(...INTERNAL_READERS)
  @Subscription(() => IncidentEvent, {
    description: "The incident's events from its first (or after `afterVersion`), then each new one.",
    resolve: (event: StoredEvent) => toEventView(event),
  })
  incidentEvents(
    @Args('incidentId', { type: () => ID }, uuidPipe('incidentId')) incidentId: string,
    @Args('afterVersion', { type: () => Int, defaultValue: 0 }) afterVersion: number,
  ): AsyncIterator<StoredEvent> {
    if (afterVersion < 0) throw new BadUserInputError('afterVersion must not be negative');
    const streamId = incidentStreamId(incidentId);
    const store = this.store;
    return boundedFeed(
      async function* (signal) {
        // Incident ids are the server's: one that does not exist now never will.
        const current = await store.streamVersion(streamId);
        if (current === 0) throw new NotFoundError(`Incident ${incidentId} does not exist`);
        // Like a cursor beyond the feed's head: it cannot have come from this stream, and
        // following from it would skip the versions up to it.
        if (afterVersion > current) {
          throw new BadUserInputError(
            `afterVersion ${afterVersion} is beyond the incident's version (${current})`,
            {
              version: current,
            },
          );
        }
        yield* streamFromVersion(store, streamId, afterVersion, signal);
      },
      { resumeBy: 'version' },
    );
  }
}
