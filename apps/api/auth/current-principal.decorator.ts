import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { Principal } from './api-key-ring.js';
import type { AuthenticatedRequest } from './auth.guard.js';

/** The caller as the AuthGuard authenticated it: the only source of an event's actor. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const request: AuthenticatedRequest = GqlExecutionContext.create(context).getContext().req;
  if (!request.principal)
    throw new Error('CurrentPrincipal used on a resolver the AuthGuard did not run for');
  return request.principal;
});
