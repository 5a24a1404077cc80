import { GraphQLError } from 'graphql';
import type DataLoader from 'dataloader';
import type { StoredEvent } from '../../../libs/event-store/index.js';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';

/** What every resolver of one GraphQL request shares. */
export interface LedgerContext {
  req: AuthenticatedRequest;
  /**
   * Read-your-writes: reads from the read models wait until they have applied this position.
   * Set from the `X-Consistent-With` header, a query's `consistentWith` argument, or the position
   * a mutation of this request appended (so mutation payloads are consistent by default).
   */
  consistentWith: bigint | null;
  /** Incident events by incident id, batched per request (one SQL query per batch). */
  eventsLoader?: DataLoader<string, StoredEvent[]>;
}

export const CONSISTENCY_HEADER = 'x-consistent-with';

/** A position as clients send it: a decimal string. */
/** Positions are unsigned 64-bit in KurrentDB, signed 64-bit (INTEGER) in SQLite: the lesser bound. */
const MAX_POSITION = 2n ** 63n - 1n;

export function parsePosition(value: string, what: string): bigint {
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > MAX_POSITION) {
    throw new GraphQLError(`${what} must be a position: the decimal string a mutation returned`, {
      extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
    });
  }
  return BigInt(value);
}

/** Raises the context's consistency position to `position` (never lowers it). */
export function requireConsistency(context: LedgerContext, position: bigint | null): void {
  if (position !== null && (context.consistentWith === null || position > context.consistentWith)) {
    context.consistentWith = position;
  }
}

export const consistentWithArg = {
  type: () => String,
  nullable: true,
  description: 'Wait (up to 2 s) until the read models include this position, as a mutation returned it.',
} as const;

/** Applies a query's `consistentWith` argument to the request. */
export function withConsistency(
  context: LedgerContext,
  consistentWith: string | null | undefined,
): LedgerContext {
  // An empty position is a malformed one, not an absent one.
  if (consistentWith != null) requireConsistency(context, parsePosition(consistentWith, 'consistentWith'));
  return context;
}
