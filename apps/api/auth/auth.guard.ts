import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { Request } from 'express';
import type { Role } from '../config/ledger-config.js';
import { ApiKeyRing, type Principal } from './api-key-ring.js';
import { ROLES_KEY } from './roles.decorator.js';

export class UnauthenticatedError extends Error {
  constructor() {
    super('A valid API key is required: send "Authorization: Bearer <key>"');
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends Error {
  constructor(actor: string, allowed: Role[]) {
    super(`${actor} may not do this; it needs one of the roles ${['admin', ...allowed].join(', ')}`);
    this.name = 'ForbiddenError';
  }
}

export type AuthenticatedRequest = Request & { principal?: Principal };

/** Authenticates every GraphQL operation by API key, then checks the resolver's roles. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeyRing,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType<string>() !== 'graphql') return true;
    const request: AuthenticatedRequest = GqlExecutionContext.create(context).getContext().req;
    const principal = request.principal ?? this.authenticate(request.headers.authorization);
    request.principal = principal;
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (allowed && !principal.roles.some((role) => role === 'admin' || allowed.includes(role))) {
      throw new ForbiddenError(principal.actor, allowed);
    }
    return true;
  }

  private authenticate(authorization: string | undefined): Principal {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const principal = match ? this.keys.authenticate(match[1]) : null;
    if (!principal) throw new UnauthenticatedError();
    return principal;
  }
}
