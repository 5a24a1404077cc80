import { Catch, HttpException, HttpStatus, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { GqlContextType } from '@nestjs/graphql';
import type { Request, Response } from 'express';
import { GRAPHQL_PATH } from './graphql-options.js';

/**
 * Hands a GraphQL operation's errors to Apollo as they are, where formatGraphQLError gives each
 * its code and logs only the unexpected ones. Without it, Nest logged every error a resolver or
 * guard threw (a refused role, a rule violation, an unknown id) at error level with its stack.
 *
 * A request to the GraphQL endpoint refused before Apollo saw it (its body is not JSON, or is too
 * large) is answered as Apollo answers the requests it refuses: a GraphQL response with one error,
 * code BAD_REQUEST, that GraphQL clients read. Errors of plain HTTP routes (health) keep Nest's
 * own handling.
 */
@Catch()
export class GraphQLErrorsFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType<GqlContextType>() === 'graphql') return exception;
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    if (exception instanceof HttpException && exception.getStatus() < 500 && isGraphqlPath(request.path)) {
      const status = exception.getStatus();
      http
        .getResponse<Response>()
        .status(status)
        .json({ errors: [{ message: requestRefusal(exception), extensions: { code: 'BAD_REQUEST' } }] });
      return undefined;
    }
    return super.catch(exception, host);
  }
}

/** Express routes `/graphql/` to Apollo as well. */
function isGraphqlPath(path: string): boolean {
  return path === GRAPHQL_PATH || path === `${GRAPHQL_PATH}/`;
}

function requestRefusal(exception: HttpException): string {
  if (exception.cause instanceof SyntaxError) return `The request body is not JSON: ${exception.message}`;
  if (exception.getStatus() === HttpStatus.PAYLOAD_TOO_LARGE) {
    const { limit } = exception.cause as { limit?: number };
    return `The request body is too large${limit === undefined ? '' : ` (the limit is ${limit} bytes)`}`;
  }
  return exception.message;
}
