import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { Request } from 'express';
import { GraphQLError } from 'graphql';
import type { Role } from '../config/ledger-config.js';
import type { ApiKeyRing, Principal } from './api-key-ring.js';
import { ROLES_KEY } from './roles.decorator.js';

export class UnauthenticatedError extends GraphQLError {
  constructor() {
    super('A valid API key is required: send "Authorization: Bearer <key>"', {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends Error {
  constructor(actor: string, allowed: Role[]) {
    const roles = [...new Set(['admin', ...allowed])];
    super(`${actor} may not do this; it needs one of the roles ${roles.join(', ')}`);
    this.name = 'ForbiddenError';
  }
}

export type AuthenticatedRequest = Request & { principal?: Principal };

/**
 * Authenticates a GraphQL request by its API key. Runs in the GraphQL context factory, so that
 * every operation (introspection and `__typename` included) needs a valid key.
 */
export function authenticateRequest(keys: ApiKeyRing, request: AuthenticatedRequest): Principal {
  const principal = authenticateBearer(keys, request.headers.authorization);
  if (!principal) throw new UnauthenticatedError();
  request.principal = principal;
  return principal;
}

function authenticateBearer(keys: ApiKeyRing, authorization: unknown): Principal | null {
  const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match ? keys.authenticate(match[1]) : null;
}

/** The graphql-ws context of a subscription's socket; `principal` is set once authenticated. */
export interface SubscriptionContext {
  connectionParams?: Readonly<Record<string, unknown>>;
  extra: { principal?: Principal };
}

/** Authenticates a graphql-ws connection by its `connection_init` payload: `{ authorization: "Bearer <key>" }`. */
export function authenticateConnection(
  keys: ApiKeyRing,
  connectionParams: Readonly<Record<string, unknown>> | undefined,
): Principal | null {
  return authenticateBearer(keys, connectionParams?.authorization ?? connectionParams?.Authorization);
}

/** Whether the caller has one of the `allowed` roles (`admin` always has). */
export function hasRoles(principal: Principal, allowed: Role[]): boolean {
  return principal.roles.some((role) => role === 'admin' || allowed.includes(role));
}

/** Throws unless the caller has one of the `allowed` roles. */
export function requireRoles(principal: Principal | undefined, allowed: Role[]): void {
  if (!principal) throw new UnauthenticatedError();
  if (!hasRoles(principal, allowed)) throw new ForbiddenError(principal.actor, allowed);
}

/** Checks the resolver's roles against the authenticated caller. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType<string>() !== 'graphql') return true;
    const { principal }: AuthenticatedRequest = GqlExecutionContext.create(context).getContext().req;
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!principal) throw new UnauthenticatedError();
    if (allowed) requireRoles(principal, allowed);
    return true;
  }
}
