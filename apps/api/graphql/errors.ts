import { BadRequestException, Logger } from '@nestjs/common';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { RuleViolation } from '../../../libs/domain/index.js';
import { ConsistencyTimeoutError, InvalidCursorError } from '../../../libs/read-models/index.js';
import { DuplicateIdempotencyKeyError, VersionConflictError } from '../../../libs/event-store/index.js';
import { ForbiddenError, UnauthenticatedError } from '../auth/auth.guard.js';

/** A client asked for something that is not there. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** Input that passed the schema but is still unacceptable (e.g. an idempotency key reused for another request). */
export class BadUserInputError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'BadUserInputError';
  }
}

interface Classified {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

function classify(error: unknown): Classified | null {
  if (error instanceof RuleViolation)
    return { code: 'RULE_VIOLATION', message: error.message, details: { rule: error.rule } };
  if (error instanceof VersionConflictError) {
    return {
      code: 'VERSION_CONFLICT',
      message: error.message,
      details: { expectedVersion: error.expected, actualVersion: error.actual },
    };
  }
  if (error instanceof DuplicateIdempotencyKeyError) {
    return {
      code: 'BAD_USER_INPUT',
      message: 'A request with this idempotency key is still in progress; retry later',
      details: { idempotencyKey: error.idempotencyKey },
    };
  }
  if (error instanceof ConsistencyTimeoutError) {
    return {
      code: 'CONSISTENCY_TIMEOUT',
      message: error.message,
      details: { position: error.position.toString() },
    };
  }
  if (error instanceof InvalidCursorError) return { code: 'BAD_USER_INPUT', message: error.message };
  if (error instanceof NotFoundError) return { code: 'NOT_FOUND', message: error.message };
  if (error instanceof BadUserInputError)
    return { code: 'BAD_USER_INPUT', message: error.message, details: error.details };
  if (error instanceof UnauthenticatedError) return { code: 'UNAUTHENTICATED', message: error.message };
  if (error instanceof ForbiddenError) return { code: 'FORBIDDEN', message: error.message };
  if (error instanceof BadRequestException) {
    // class-validator failures, through the ValidationPipe.
    const response = error.getResponse() as { message?: string | string[] };
    const problems = Array.isArray(response.message) ? response.message : [response.message ?? error.message];
    return {
      code: 'BAD_USER_INPUT',
      message: `Invalid input: ${problems.join('; ')}`,
      details: { problems },
    };
  }
  return null;
}

/** Codes that Apollo itself gives to requests the schema rejects before anything runs. */
const REJECTED_BY_SCHEMA = new Set(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'GRAPHQL_PARSE_FAILED']);
/**
 * graphql-js's own refusal, as it executes, of an argument's value: a null variable given where
 * the argument has a default but is non-null (`first: Int! = 20`) passes validation.
 */
const ARGUMENT_REFUSED = /^Argument "\w+" (of non-null type "[^"]+" must not be null|has invalid value)/;
const logger = new Logger('GraphQL');

/**
 * Every error leaves with one of DESIGN.md's codes and never with a stack trace. Input the
 * schema rejects (unknown field, wrong type) is BAD_USER_INPUT like any other bad input, with
 * Apollo's own code kept as `reason`; anything unexpected is logged and answered generically.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const { message, locations, path } = formatted;
  const classified = classify(unwrapResolverError(error));
  if (classified) {
    return {
      message: classified.message,
      locations,
      path,
      extensions: { code: classified.code, ...classified.details },
    };
  }
  const given = String(formatted.extensions?.code ?? '');
  // Apollo calls any error without a code of its own INTERNAL_SERVER_ERROR.
  const code = given === 'INTERNAL_SERVER_ERROR' && ARGUMENT_REFUSED.test(message) ? 'BAD_USER_INPUT' : given;
  if (REJECTED_BY_SCHEMA.has(code)) {
    return {
      message,
      locations,
      path,
      extensions: { code: code === 'GRAPHQL_PARSE_FAILED' ? code : 'BAD_USER_INPUT', reason: code },
    };
  }
  if (code && code !== 'INTERNAL_SERVER_ERROR') return formatted;
  logger.error({ err: unwrapResolverError(error), path }, 'Unexpected error in a GraphQL operation');
  return { message: 'Internal server error', locations, path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
