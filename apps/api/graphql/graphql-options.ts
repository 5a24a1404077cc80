import type { ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLError, Kind, OperationTypeNode, parse, specifiedRules, validate } from 'graphql';
import type { Context, ServerOptions } from 'graphql-ws';
import type { ApiKeyRing } from '../auth/api-key-ring.js';
import {
  authenticateConnection,
  authenticateRequest,
  type AuthenticatedRequest,
  type SubscriptionContext,
} from '../auth/auth.guard.js';
import { CONSISTENCY_HEADER, parsePosition, type LedgerContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { complexityLimitPlugin, depthLimitRule, MAX_DEPTH, subscriptionRefusal } from './query-limits.js';

const formatErrors = (errors: readonly GraphQLError[]) =>
  errors.map((error) => formatGraphQLError(error.toJSON(), error));

/** Where the API answers, over HTTP and graphql-ws. */
export const GRAPHQL_PATH = '/graphql';

/** Apollo's configuration: code-first schema, authentication, error codes, query limits, graphql-ws. */
export function graphqlOptions(keys: ApiKeyRing): Omit<ApolloDriverConfig, 'driver'> {
  return {
    path: GRAPHQL_PATH,
    autoSchemaFile: true,
    sortSchema: true,
    context: (request: { req: AuthenticatedRequest } | SubscriptionContext): LedgerContext => {
      if ('extra' in request) {
        // A subscription: its socket was authenticated once, in connection_init.
        const req = { headers: {}, principal: request.extra.principal } as AuthenticatedRequest;
        return { req, consistentWith: null };
      }
      const { req } = request;
      authenticateRequest(keys, req);
      const header = req.headers[CONSISTENCY_HEADER];
      const consistentWith = typeof header === 'string' ? parsePosition(header, 'X-Consistent-With') : null;
      return { req, consistentWith };
    },
    subscriptions: { 'graphql-ws': graphqlWsOptions(keys) },
    formatError: formatGraphQLError,
    autoTransformHttpErrors: false,
    includeStacktraceInErrorResponses: false,
    validationRules: [depthLimitRule(MAX_DEPTH)],
    plugins: [complexityLimitPlugin],
  };
}

/**
 * graphql-ws's options: a subscription is authenticated, limited and answered with codes as a query
 * is. Nest passes every option to graphql-ws's useServer, though its type names only some (not
 * `validate` or `onError`): the subscription e2e tests would catch a Nest that stopped doing so.
 */
function graphqlWsOptions(keys: ApiKeyRing): Partial<ServerOptions<Record<string, unknown> | undefined>> {
  return {
    // A missing or wrong key: returning false makes graphql-ws close the socket with 4403 Forbidden.
    onConnect: (context: Context<Record<string, unknown> | undefined, unknown>) => {
      const principal = authenticateConnection(keys, context.connectionParams);
      if (!principal) return false;
      (context as SubscriptionContext).extra.principal = principal;
      return true;
    },
    // graphql-ws would close the whole socket on a syntax error: it is this operation's error instead.
    onSubscribe: (_context, _id, { query }) => {
      try {
        parse(query);
        return undefined;
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        return [withCode(error, 'GRAPHQL_PARSE_FAILED')];
      }
    },
    // Subscriptions only (graphql-ws would run queries and mutations too, past Apollo's plugins and
    // its body limit), within the depth and cost limits of a query.
    validate: (schema, document) => {
      const invalid = validate(schema, document, [...specifiedRules, depthLimitRule(MAX_DEPTH)]);
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
    },
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

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });
}
