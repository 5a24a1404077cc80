import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { GqlContextType } from '@nestjs/graphql';

/**
 * Hands a GraphQL operation's errors to Apollo as they are, where formatGraphQLError gives each
 * its code and logs only the unexpected ones. Without it, Nest logged every error a resolver or
 * guard threw (a refused role, a rule violation, an unknown id) at error level with its stack.
 * Errors of plain HTTP routes (health) keep Nest's own handling.
 */
@Catch()
export class GraphQLErrorsFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType<GqlContextType>() === 'graphql') return exception;
    return super.catch(exception, host);
  }
}
