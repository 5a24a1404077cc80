import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import type { Disposable, ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { ApiKeyRing } from '../auth/api-key-ring.js';
import {
  authenticateConnection,
  type AuthenticatedRequest,
  type SubscriptionContext,
} from '../auth/auth.guard.js';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import type { LedgerContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { GRAPHQL_PATH } from './graphql-options.js';
import { depthLimitRule, MAX_DEPTH, MAX_REQUEST_BYTES, subscriptionRefusal } from './query-limits.js';
import { SubscriptionLimits } from './subscription-limits.js';

type ConnectionParams = Record<string, unknown> | undefined;
/** What graphql-ws's ws adapter gives each connection, and the principal its key authenticated. */
type Extra = SubscriptionContext['extra'] & { socket: WebSocket; request: IncomingMessage };

const logger = new Logger('Subscriptions');

/**
 * ws's WebSocket, but a client's breach of the protocol (a message over the size limit, a malformed
 * frame) is logged as one line instead of being emitted as an 'error': ws has already closed the
 * socket with the code that says why (1009 Message Too Big, 1002…), and graphql-ws would print a
 * stack trace that asks to check the server's implementation.
 */
class ClientWebSocket extends WebSocket {
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const error = args[0];
    if (
      event === 'error' &&
      error instanceof Error &&
      String((error as { code?: unknown }).code).startsWith('WS_ERR_')
    ) {
      logger.warn(`Closed a graphql-ws connection: ${error.message}`);
      return true;
    }
    return super.emit(event, ...args);
  }
}

const formatErrors = (errors: readonly GraphQLError[]) =>
  errors.map((error) => formatGraphQLError(error.toJSON(), error));

/**
 * Serves subscriptions over graphql-ws at GRAPHQL_PATH, on a WebSocket server of its own: Nest's
 * (@nestjs/graphql's GqlSubscriptionService) is created with ws's default message size limit,
 * 100 MiB, and passes no option to change it, so that any client, before its key is checked,
 * could make the server buffer and parse that much per socket. Here a message is at most
 * MAX_REQUEST_BYTES, as an HTTP request's body is: a longer one closes its socket with 1009
 * (Message Too Big) as its first bytes arrive, before it is buffered or parsed. It also holds the
 * subscriptions to LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION and LEDGER_MAX_SUBSCRIPTIONS.
 */
@Injectable()
export class SubscriptionServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly sockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_REQUEST_BYTES,
    WebSocket: ClientWebSocket,
  });
  private graphqlWs: Disposable | null = null;
  private readonly limits: SubscriptionLimits;

  constructor(
    private readonly http: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly keys: ApiKeyRing,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
  ) {
    this.limits = new SubscriptionLimits(config.subscriptionLimits);
  }

  /** Subscriptions running, on every connection. */
  get subscriptions(): number {
    return this.limits.running;
  }

  /** After every module's init, so the schema is built; before the server listens. */
  onApplicationBootstrap(): void {
    this.graphqlWs = useServer(
      graphqlWsOptions(this.keys, this.schemaHost.schema, this.limits),
      this.sockets,
    );
    this.http.httpAdapter.getHttpServer().on('upgrade', this.upgrade);
  }

  /** Closes every socket (1001 Going Away), ending its subscriptions. */
  async onModuleDestroy(): Promise<void> {
    this.http.httpAdapter.getHttpServer().off('upgrade', this.upgrade);
    await this.graphqlWs?.dispose();
  }

  private readonly upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (request.url?.split('?')[0] !== GRAPHQL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.sockets.handleUpgrade(request, socket, head, (websocket) =>
      this.sockets.emit('connection', websocket, request),
    );
  };
}

/** graphql-ws's options: a subscription is authenticated, limited and answered with codes as a query is. */
function graphqlWsOptions(
  keys: ApiKeyRing,
  schema: GraphQLSchema,
  limits: SubscriptionLimits,
): ServerOptions<ConnectionParams, Extra> {
  return {
    schema,
    // Its socket was authenticated once, in connection_init.
    context: ({ extra }): LedgerContext => ({
      req: { headers: {}, principal: extra.principal } as AuthenticatedRequest,
      consistentWith: null,
    }),
    // A missing or wrong key: returning false makes graphql-ws close the socket with 4403 Forbidden.
    onConnect: ({ connectionParams, extra }) => {
      const principal = authenticateConnection(keys, connectionParams);
      if (!principal) return false;
      extra.principal = principal;
      return true;
    },
    // Parsed and validated here, once: graphql-ws would close the whole socket on a syntax error (it
    // is this operation's error instead), and parses again to validate unless given the arguments.
    onSubscribe: (_context, _id, { query, operationName, variables }) => {
      let document: DocumentNode;
      try {
        document = parse(query);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        return [withCode(error, 'GRAPHQL_PARSE_FAILED')];
      }
      const invalid = invalidSubscription(schema, document);
      if (invalid.length > 0) return invalid;
      return { schema, document, operationName, variableValues: variables };
    },
    // A stream, once its resolver accepted it, is counted against the limits: over one, it is
    // refused as a stream that fails at once (a graphql-ws error message, the socket left open).
    onOperation: (context, _id, payload, _args, result) => {
      if (!isAsyncIterable(result)) return undefined;
      const refusal = limits.admit(context, payload);
      if (!refusal) return undefined;
      void result.return?.(undefined).catch(() => undefined);
      return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(refusal) }) };
    },
    onComplete: (context, _id, payload) => limits.release(context, payload),
    onClose: (context) => limits.releaseAll(context),
    // What the schema rejects comes from graphql-ws without a code. What a subscription's stream
    // threw arrives wrapped, without the path by which the formatting finds its cause: given here.
    onError: (_context, _id, _payload, errors) =>
      errors.map((error) => {
        const rejected = error.originalError === undefined && error.extensions.code === undefined;
        return formatGraphQLError(
          (rejected ? withCode(error, 'GRAPHQL_VALIDATION_FAILED') : error).toJSON(),
          error.originalError ?? error,
        );
      }),
    // A subscription's errors (roles, bad arguments) leave with the same codes as a query's.
    onNext: (_context, _id, _payload, _args, result) =>
      result.errors && { ...result, errors: formatErrors(result.errors) },
  };
}

function isAsyncIterable(value: unknown): value is AsyncGenerator<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });
}

/** The rules a subscription is validated by: graphql's own, and the depth limit of a query. */
const SUBSCRIPTION_RULES = [...specifiedRules, depthLimitRule(MAX_DEPTH)];

/**
 * Subscriptions only (graphql-ws would run queries and mutations too, past Apollo's plugins and its
 * body limit), within the depth and cost limits of a query.
 */
function invalidSubscription(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
  const invalid = validate(schema, document, SUBSCRIPTION_RULES);
  if (invalid.length > 0) return invalid;
  const operations = document.definitions.filter(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (operations.some((operation) => operation.operation !== OperationTypeNode.SUBSCRIPTION)) {
    return [
      new GraphQLError('Only subscriptions go over graphql-ws: send queries and mutations over HTTP', {
        extensions: { code: 'BAD_REQUEST' },
      }),
    ];
  }
  const refusal = subscriptionRefusal(document);
  return refusal ? [refusal] : [];
}
