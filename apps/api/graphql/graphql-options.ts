import type { ApolloDriverConfig } from '@nestjs/apollo';
import type { ApiKeyRing } from '../auth/api-key-ring.js';
import { authenticateRequest, type AuthenticatedRequest } from '../auth/auth.guard.js';
import { CONSISTENCY_HEADER, parsePosition, type LedgerContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { complexityLimitPlugin, depthLimitRule, MAX_DEPTH } from './query-limits.js';

/** Where the API answers, over HTTP and graphql-ws. */
export const GRAPHQL_PATH = '/graphql';

/**
 * Apollo's configuration: code-first schema, authentication, error codes, query limits. Subscriptions
 * (graphql-ws) are SubscriptionServer's: Nest's own WebSocket server takes no message size limit.
 */
export function graphqlOptions(keys: ApiKeyRing): Omit<ApolloDriverConfig, 'driver'> {
  return {
    path: GRAPHQL_PATH,
    autoSchemaFile: true,
    sortSchema: true,
    context: ({ req }: { req: AuthenticatedRequest }): LedgerContext => {
      authenticateRequest(keys, req);
      const header = req.headers[CONSISTENCY_HEADER];
      const consistentWith = typeof header === 'string' ? parsePosition(header, 'X-Consistent-With') : null;
      return { req, consistentWith };
    },
    formatError: formatGraphQLError,
    autoTransformHttpErrors: false,
    includeStacktraceInErrorResponses: false,
    validationRules: [depthLimitRule(MAX_DEPTH)],
    plugins: [complexityLimitPlugin],
  };
}
