import type { ApolloDriverConfig } from '@nestjs/apollo';
import type { GraphQLError } from 'graphql';
import type { Context } from 'graphql-ws';
import type { ApiKeyRing } from '../auth/api-key-ring.js';
import {
  authenticateConnection,
  authenticateRequest,
  type AuthenticatedRequest,
  type SubscriptionContext,
} from '../auth/auth.guard.js';
import { CONSISTENCY_HEADER, parsePosition, type LedgerContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { complexityLimitPlugin, depthLimitRule, MAX_DEPTH } from './query-limits.js';

const formatErrors = (errors: readonly GraphQLError[]) =>
  errors.map((error) => formatGraphQLError(error.toJSON(), error));

/** Apollo's configuration: code-first schema, authentication, error codes, query limits, graphql-ws. */
export function graphqlOptions(keys: ApiKeyRing): Omit<ApolloDriverConfig, 'driver'> {
  return {
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
    subscriptions: {
      'graphql-ws': {
        // A missing or wrong key: returning false makes graphql-ws close the socket with 4403 Forbidden.
        onConnect: (context: Context<Record<string, unknown> | undefined, unknown>) => {
          const principal = authenticateConnection(keys, context.connectionParams);
          if (!principal) return false;
          (context as SubscriptionContext).extra.principal = principal;
          return true;
        },
        // A subscription's errors (roles, bad arguments) leave with the same codes as a query's.
        onNext: (_context, _id, _payload, _args, result) =>
          result.errors && { ...result, errors: formatErrors(result.errors) },
      },
    },
    formatError: formatGraphQLError,
    autoTransformHttpErrors: false,
    includeStacktraceInErrorResponses: false,
    validationRules: [depthLimitRule(MAX_DEPTH)],
    plugins: [complexityLimitPlugin],
  };
}
