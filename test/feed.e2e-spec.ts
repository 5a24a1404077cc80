import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { MAX_REQUEST_BYTES } from '../apps/api/graphql/query-limits.js';
import { SubscriptionServer } from '../apps/api/graphql/subscription-server.js';
import { EVENT_STORE } from '../libs/event-store/index.js';
import type { SqliteEventStore } from '../libs/event-store/sqlite/sqlite-event-store.js';
import { declareIncident, KEYS, LedgerServer, mutation } from './support/ledger-server.js';

const FEED = `query($after: String, $first: Int, $prefix: String, $types: [String!]) {
  events(after: $after, first: $first, streamPrefix: $prefix, types: $types) {
    edges { cursor node { eventId type streamId version position } } pageInfo { hasNextPage endCursor } } }`;

interface Received {
  eventId: string;
  position: string;
  type: string;
  streamId: string;
  version: number;
}

/** A graphql-ws client that collects what one subscription delivers. */
function subscribe(
  server: LedgerServer,
  query: string,
  variables: Record<string, unknown>,
  key: string | null = KEYS.auditor,
) {
  const received: Received[] = [];
  let closeCode: number | undefined;
  let failure: unknown;
  const client: Client = createClient({
    url: `${server.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: false,
    // A refused connection is what some tests are about: they assert closeCode, not a console line.
    onNonLazyError: () => undefined,
    on: { closed: (event) => (closeCode = (event as { code?: number }).code) },
  });
  const done = new Promise<void>((resolve) => {
    client.subscribe<{ events?: Received; incidentEvents?: Received }>(
      { query, variables },
      {
        next: ({ data, errors }) => {
          // A refused operation (its resolver's roles) arrives as a result with errors only.
          if (errors) {
            failure = errors;
            resolve();
          } else received.push((data!.events ?? data!.incidentEvents)!);
        },
        error: (error) => {
          failure = error;
          resolve();
        },
        complete: () => resolve(),
      },
    );
  });
  const until = async (predicate: () => boolean, what: string) => {
    const started = Date.now();
    while (!predicate()) {
      if (failure || closeCode !== undefined)
        throw new Error(
          `subscription ended (${closeCode}) while waiting for ${what}: ${JSON.stringify(failure)}`,
        );
      if (Date.now() - started > 20_000)
        throw new Error(`timed out waiting for ${what}; got ${received.length}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return {
    received,
    until,
    done,
    close: () => client.dispose(),
    closeCode: () => closeCode,
    failure: () => failure,
  };
}

interface Followed {
  received: unknown[];
  /** The errors it ended with: a graphql-ws error message, or a result with errors. */
  failure: unknown;
  completed: boolean;
  unsubscribe: () => void;
}

/** One graphql-ws connection that carries many subscriptions, as a browser tab's client does. */
function connect(server: LedgerServer, key: string = KEYS.auditor) {
  let closeCode: number | undefined;
  const client = createClient({
    url: `${server.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    on: { closed: (event) => (closeCode = (event as { code?: number }).code) },
  });
  return {
    follow(query: string, variables: Record<string, unknown> = {}): Followed {
      const followed: Followed = {
        received: [],
        failure: undefined,
        completed: false,
        unsubscribe: () => {},
      };
      followed.unsubscribe = client.subscribe(
        { query, variables },
        {
          next: ({ data, errors }) => {
            if (errors) followed.failure = errors;
            else followed.received.push(data);
          },
          error: (error) => (followed.failure = error),
          complete: () => (followed.completed = true),
        },
      );
      return followed;
    },
    closeCode: () => closeCode,
    close: () => client.dispose(),
  };
}

/** Waits (up to 20 s) for `predicate`: what the server does in answer, seen from outside. */
async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > 20_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const FOLLOW_ALL = `subscription($after: String) { events(after: $after, streamPrefix: "incident-") { eventId type streamId version position } }`;

describe('the event feed and subscriptions', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  test('paging the feed from any cursor gives every event once, in order; filters by prefix and type', async () => {
    for (let n = 0; n < 5; n++) {
      const { id } = await declareIncident(server);
      await server.graphql(mutation('acknowledgeIncident', 'IncidentActionInput'), {
        input: { incidentId: id },
      });
    }
    const all = (await server.graphql(FEED, { first: 1000 })).data!.events.edges.map(
      (edge: any) => edge.node.position,
    );
    expect(all.map(BigInt)).toEqual([...all.map(BigInt)].sort((a, b) => (a < b ? -1 : 1)));
    const paged: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { edges, pageInfo }: any = (await server.graphql(FEED, { after, first: 3 })).data!.events;
      paged.push(...edges.map((edge: any) => edge.cursor));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(paged).toEqual(all);
    const acks = (
      await server.graphql(FEED, { first: 1000, prefix: 'incident-', types: ['IncidentAcknowledged'] })
    ).data!.events.edges;
    expect(acks).toHaveLength(5);
    expect(acks.every((edge: any) => edge.node.type === 'IncidentAcknowledged')).toBe(true);
    expect((await server.graphql(FEED, { after: 'x' })).errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });

  test('a subscriber that disconnects while 1,000 events are written resumes from its cursor and misses none', async () => {
    const head = (await server.graphql('{ projectionStatus { head } }')).data!.projectionStatus.head;
    const first = subscribe(server, FOLLOW_ALL, { after: head });
    await new Promise((resolve) => setTimeout(resolve, 100)); // connected and caught up
    await declareIncident(server, { title: 'before the disconnect' });
    await first.until(() => first.received.length === 1, 'the first event');
    await first.close();

    const written: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const declared = await Promise.all(
        Array.from({ length: 50 }, () => declareIncident(server, { title: `burst ${batch}` })),
      );
      written.push(...declared.map(({ payload }) => payload.incident.id));
    }
    const second = subscribe(server, FOLLOW_ALL, { after: first.received[0].position });
    await second.until(() => second.received.length >= 1_000, '1,000 events');
    await new Promise((resolve) => setTimeout(resolve, 200)); // anything extra would show now
    await second.close();
    expect(second.received).toHaveLength(1_000);
    expect(new Set(second.received.map((event) => event.eventId)).size).toBe(1_000);
    expect(new Set(second.received.map((event) => event.streamId.slice('incident-'.length)))).toEqual(
      new Set(written),
    );
    const positions = second.received.map((event) => BigInt(event.position));
    expect(positions.every((position, n) => n === 0 || position > positions[n - 1])).toBe(true);

    // A new subscriber catches up on all of it (more than the 1,000 read ahead) without being cut off.
    const total = (await server.graphql('{ projectionStatus { head } }')).data!.projectionStatus.head;
    const late = subscribe(server, FOLLOW_ALL, {});
    await late.until(() => late.received.at(-1)?.position === total, 'the catch-up to the head');
    expect(late.failure()).toBeUndefined();
    expect(late.received.length).toBeGreaterThan(1_000);
    await late.close();
  });

  test('incidentEvents catches up with the history, then follows live', async () => {
    const { id } = await declareIncident(server);
    await server.graphql(mutation('acknowledgeIncident', 'IncidentActionInput'), {
      input: { incidentId: id },
    });
    const follower = subscribe(
      server,
      `subscription($id: ID!) { incidentEvents(incidentId: $id) { eventId type streamId version position } }`,
      { id },
    );
    await follower.until(() => follower.received.length === 2, 'the history');
    await declareIncident(server); // another incident: not delivered
    await server.graphql(mutation('resolveIncident', 'ResolveIncidentInput'), {
      input: { incidentId: id, summary: 'Fixed' },
    });
    await follower.until(() => follower.received.length === 3, 'the live event');
    await follower.close();
    expect(follower.received.map((event) => [event.type, event.version])).toEqual([
      ['IncidentDeclared', 1],
      ['IncidentAcknowledged', 2],
      ['IncidentResolved', 3],
    ]);
  });

  test('idle subscriptions cost the writers nothing: each commit is read once for every live subscription', async () => {
    const store = server.app.get<symbol, SqliteEventStore>(EVENT_STORE);
    const { head } = (await server.graphql('{ projectionStatus { head } }')).data!.projectionStatus;
    const live = store.stats.liveSubscriptions;
    const socket = connect(server);
    const idle = Array.from({ length: 50 }, () =>
      socket.follow(
        'subscription($after: String) { events(after: $after, types: ["IncidentClosed"]) { type } }',
        {
          after: head,
        },
      ),
    );
    // (The server's own followers of the feed are live too, and a subscription of an earlier test may
    // still be ending.)
    await eventually(() => store.stats.liveSubscriptions >= 50, '50 live subscriptions');
    const before = store.stats;

    for (let n = 0; n < 10; n++) await declareIncident(server, { title: `written while 50 wait ${n}` });

    // A mutation answers once the read models have its events: the tail has read them.
    const commits = store.stats.flushes - before.flushes;
    expect(commits).toBeGreaterThanOrEqual(10);
    expect(store.stats.subscriptionReads - before.subscriptionReads).toBeLessThanOrEqual(commits);
    expect(idle.every((followed) => followed.received.length === 0 && !followed.failure)).toBe(true);
    socket.close();
    await eventually(
      () => store.stats.liveSubscriptions <= live,
      'the subscriptions ended with their socket',
    );
  });

  test('a communicator may not follow the raw events: they carry the internal notes', async () => {
    const { id } = await declareIncident(server);
    const followIncident = `subscription($id: ID!) { incidentEvents(incidentId: $id) { type } }`;
    for (const [query, variables] of [
      [FOLLOW_ALL, {}],
      [followIncident, { id }],
    ] as const) {
      const communicator = subscribe(server, query, variables, KEYS.communicator);
      await communicator.done;
      expect(communicator.failure()).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
      expect(communicator.received).toEqual([]);
      communicator.close();
    }
  });

  test('a subscription the schema refuses is answered with a code, as a query is, and the socket stays open', async () => {
    const tooDeep = `subscription { events { ${'eventId { '.repeat(11)}x${' }'.repeat(11)} } }`;
    for (const [query, code, reason] of [
      ['subscription { events { eventId noSuchField } }', 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED'],
      ['subscription { events { eventId ', 'GRAPHQL_PARSE_FAILED', undefined],
      [tooDeep, 'QUERY_TOO_DEEP', undefined],
    ] as const) {
      const refused = subscribe(server, query, {});
      await refused.done;
      expect(refused.failure()).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            message: expect.any(String),
            extensions: expect.objectContaining({ code }),
          }),
        ]),
      );
      const codes = (refused.failure() as Array<{ extensions: { code: string; reason?: string } }>).map(
        ({ extensions }) => extensions,
      );
      if (reason) expect(codes).toContainEqual({ code, reason });
      // Nothing unexpected: none is answered as an internal error.
      expect(codes.map((extensions) => extensions.code)).not.toContain('INTERNAL_SERVER_ERROR');
      expect(refused.closeCode()).toBeUndefined();
      refused.close();
    }
  });

  test("webhook registrations are in the feed only for those who may read webhooks: a URL may carry a receiver's credential", async () => {
    const registered = await server.graphql(
      `mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { position } }`,
      {
        input: {
          url: 'https://hooks.example.com/in?token=receiver-credential',
          secret: 'whsec-0123456789abcdef',
        },
      },
      KEYS.admin,
    );
    expect(registered.errors).toBeUndefined();
    const webhookEvents = async (key: string) =>
      (await server.graphql(FEED, { first: 1000, prefix: 'webhook-' }, key)).data!.events.edges.length;

    expect(await webhookEvents(KEYS.auditor)).toBeGreaterThan(0);
    expect(await webhookEvents(KEYS.responder)).toBe(0);
  });

  test('graphql-ws carries subscriptions only, within the cost limit of a query', async () => {
    const query = subscribe(server, '{ incidents(first: 1) { totalCount } }', {});
    await query.done;
    expect(query.failure()).toMatchObject([{ extensions: { code: 'BAD_REQUEST' } }]);
    query.close();

    // 600 spreads of 100 fields: 60,000 fields in each event, over the budget of 50,000.
    const fields = Array.from({ length: 100 }, (_, n) => `f${n}: eventId`).join(' ');
    const spreads = Array.from({ length: 600 }, () => '...Wide').join(' ');
    const wide = subscribe(
      server,
      `subscription { events { ${spreads} } } fragment Wide on IncidentEvent { ${fields} }`,
      {},
    );
    await wide.done;
    expect(wide.failure()).toMatchObject([{ extensions: { code: 'QUERY_TOO_COMPLEX' } }]);
    expect(wide.closeCode()).toBeUndefined();
    wide.close();
  });

  test('a cursor that cannot have come from the feed is refused (beyond the head or the version, beyond 64 bits), an unknown incident too', async () => {
    // Nothing else writes meanwhile: the declaration's position is the head.
    const head = BigInt((await declareIncident(server)).payload.position);
    for (const after of [(head + 1n).toString(), '9223372036854775808', '99999999999999999999999']) {
      const paged = await server.graphql(FEED, { after, first: 1 }, KEYS.auditor);
      expect(paged.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
      const followed = subscribe(server, FOLLOW_ALL, { after });
      await followed.done;
      expect(followed.failure()).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
      followed.close();
    }
    // The head itself is a cursor the feed gives out: an empty page, ending where it began.
    const atHead = await server.graphql(FEED, { after: head.toString(), first: 1 }, KEYS.auditor);
    expect(atHead.data!.events).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, endCursor: head.toString() },
    });

    const unknown = subscribe(
      server,
      'subscription { incidentEvents(incidentId: "6f1d2c3b-0000-4000-8000-000000000000") { type } }',
      {},
    );
    await unknown.done;
    expect(unknown.failure()).toMatchObject([{ extensions: { code: 'NOT_FOUND' } }]);
    unknown.close();

    const { id } = await declareIncident(server);
    const beyond = subscribe(
      server,
      `subscription { incidentEvents(incidentId: "${id}", afterVersion: 5) { type } }`,
      {},
    );
    await beyond.done;
    expect(beyond.failure()).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT', version: 1 } }]);
    beyond.close();

    const negative = subscribe(
      server,
      'subscription { incidentEvents(incidentId: "6f1d2c3b-0000-4000-8000-000000000000", afterVersion: -1) { type } }',
      {},
    );
    await negative.done;
    expect(negative.failure()).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
    negative.close();
  });

  test('a type filter naming no type the log can hold is refused, not answered with nothing for ever', async () => {
    const paged = await server.graphql(FEED, { types: ['IncidentAcknowledged', 'IncidentDeclard'] });
    expect(paged.errors![0]).toMatchObject({
      message: 'types: no event is of type IncidentDeclard',
      extensions: { code: 'BAD_USER_INPUT', knownTypes: expect.arrayContaining(['IncidentDeclared']) },
    });
    const followed = subscribe(server, 'subscription { events(types: ["Nope"]) { type } }', {});
    await followed.done;
    expect(followed.failure()).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
    followed.close();
    // Every type the log holds may be asked for, the webhooks' own included.
    const webhooks = await server.graphql(FEED, { types: ['WebhookRegistered', 'NotificationQueued'] });
    expect(webhooks.errors).toBeUndefined();
  });

  test('a connection without a valid key is closed with 4403', async () => {
    for (const key of [null, 'wrong-key-000000000000']) {
      const stranger = subscribe(server, FOLLOW_ALL, {}, key);
      await stranger.done;
      expect(stranger.closeCode()).toBe(4403);
      expect(stranger.received).toEqual([]);
    }
  });

  test('a graphql-ws message over 1 MiB, as an HTTP body, closes its socket with 1009 before it is read', async () => {
    /** Sends a connection_init of exactly `bytes` bytes, with a valid key: acknowledged, or closed with a code. */
    const init = async (bytes: number) => {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve) => socket.once('open', resolve));
      const message = (padding: string) =>
        JSON.stringify({
          type: 'connection_init',
          payload: { authorization: `Bearer ${KEYS.auditor}`, padding },
        });
      socket.send(message('x'.repeat(bytes - message('').length)));
      return new Promise<string | number>((resolve) => {
        socket.once('message', (data) => {
          resolve(JSON.parse(String(data)).type);
          socket.close();
        });
        socket.once('close', (code) => resolve(code));
      });
    };

    // A client's fault, not the server's: no stack trace on the console (graphql-ws prints one).
    const consoleErrors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await init(MAX_REQUEST_BYTES)).toBe('connection_ack');
      expect(await init(MAX_REQUEST_BYTES + 1)).toBe(1009);
      expect(consoleErrors).not.toHaveBeenCalled();
    } finally {
      consoleErrors.mockRestore();
    }
  });

  test('a WebSocket anywhere but /graphql is answered 404', async () => {
    const elsewhere = new WebSocket(`${server.url.replace('http', 'ws')}/elsewhere`, 'graphql-transport-ws');
    const error = await new Promise<Error>((resolve) => elsewhere.once('error', resolve));
    expect(error.message).toBe('Unexpected server response: 404');
  });
});

describe('subscription limits', () => {
  let server: LedgerServer;
  let subscriptions: SubscriptionServer;
  beforeAll(async () => {
    server = await LedgerServer.start({
      env: { LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2', LEDGER_MAX_SUBSCRIPTIONS: '3' },
    });
    subscriptions = server.app.get(SubscriptionServer);
  });
  afterAll(async () => {
    await server.destroy();
  });

  const IDLE = 'subscription { events(types: ["IncidentClosed"]) { type } }';
  const ALL = 'subscription { events(streamPrefix: "incident-") { type streamId } }';
  const OVERDUE = 'subscription { updateOverdue { incidentId } }';
  type Socket = ReturnType<typeof connect>;
  /** Follows `query`, which must be accepted: `running` subscriptions then run on the server. */
  const accepted = async (socket: Socket, query: string, running: number) => {
    const followed = socket.follow(query);
    await eventually(
      () => followed.failure !== undefined || subscriptions.subscriptions === running,
      `${running} subscriptions running`,
    );
    expect(followed.failure).toBeUndefined();
    return followed;
  };
  /** Follows `query`, which must be refused; its errors. */
  const refused = async (socket: Socket, query: string) => {
    const followed = socket.follow(query);
    await eventually(() => followed.failure !== undefined, 'the refusal');
    return followed.failure;
  };
  /** Until `running` subscriptions run on the server: the others have ended. */
  const released = (running: number) =>
    eventually(() => subscriptions.subscriptions === running, `only ${running} running`);

  test('a connection holds at most LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION: one more is refused TOO_MANY_SUBSCRIPTIONS, the socket and the others carry on', async () => {
    const socket = connect(server);
    const all = await accepted(socket, ALL, 1);
    const idle = await accepted(socket, IDLE, 2);

    expect(await refused(socket, IDLE)).toMatchObject([
      {
        message: expect.stringContaining('This connection already has 2 subscriptions'),
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'CONNECTION', limit: 2 },
      },
    ]);
    const { id } = await declareIncident(server);
    await eventually(() => all.received.length === 1, 'the others still delivering');
    expect(all.received).toEqual([{ events: { type: 'IncidentDeclared', streamId: `incident-${id}` } }]);
    expect(socket.closeCode()).toBeUndefined();

    // The client completes one: its place is free at once, on that same socket.
    idle.unsubscribe();
    await released(1);
    await accepted(socket, IDLE, 2);
    socket.close();
    await released(0);
  });

  test('the server runs at most LEDGER_MAX_SUBSCRIPTIONS over every connection; one that ends frees its place, however it ends', async () => {
    const first = connect(server);
    const second = connect(server, KEYS.responder);
    // Idle ones: none ends by itself, so only the client's leaving can free their places.
    await accepted(first, IDLE, 1);
    await accepted(first, IDLE, 2);
    const overdue = await accepted(second, OVERDUE, 3);

    expect(await refused(second, IDLE)).toMatchObject([
      { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'SERVER', limit: 3 } },
    ]);

    // Completed by its client…
    overdue.unsubscribe();
    await released(2);
    const incident = second.follow(`subscription($id: ID!) { incidentEvents(incidentId: $id) { type } }`, {
      id: (await declareIncident(server)).id,
    });
    await eventually(() => incident.received.length === 1, "the incident's history");
    expect(subscriptions.subscriptions).toBe(3);

    // …or its socket closed.
    first.close();
    await released(1);
    await accepted(second, IDLE, 2);
    second.close();
    await released(0);
  });

  test('a subscription refused before it runs holds no place', async () => {
    const communicator = connect(server, KEYS.communicator);
    const auditor = connect(server);
    // Refused by their resolvers (FORBIDDEN, BAD_USER_INPUT): neither is counted.
    expect(await refused(communicator, IDLE)).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
    expect(await refused(auditor, 'subscription { events(types: ["Nope"]) { type } }')).toMatchObject([
      { extensions: { code: 'BAD_USER_INPUT' } },
    ]);
    expect(subscriptions.subscriptions).toBe(0);
    await accepted(auditor, OVERDUE, 1);
    await accepted(auditor, OVERDUE, 2);
    communicator.close();
    auditor.close();
    await released(0);
  });
});
