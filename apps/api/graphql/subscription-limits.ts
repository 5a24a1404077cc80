import { GraphQLError } from 'graphql';
import type { SubscriptionLimitsConfig } from '../config/ledger-config.js';

/**
 * How many subscriptions run at once, per connection and on the whole server; a subscription over
 * either limit is refused with TOO_MANY_SUBSCRIPTIONS. A subscription is counted from the moment
 * its stream exists (its resolver accepted it) until graphql-ws completes it: the client's complete
 * message, its end or failure, or its socket's closing. Each is known by its subscribe message's
 * payload, which graphql-ws hands to every hook of that subscription (an id may be reused as soon
 * as the client completed it, before the server is done with it).
 */
export class SubscriptionLimits {
  private count = 0;
  private readonly byConnection = new WeakMap<object, Set<object>>();

  constructor(private readonly limits: SubscriptionLimitsConfig) {}

  /** Subscriptions running. */
  get running(): number {
    return this.count;
  }

  /** Counts `subscription` on `connection`; or, over a limit, the error that refuses it. */
  admit(connection: object, subscription: object): GraphQLError | null {
    const held = this.byConnection.get(connection) ?? new Set<object>();
    if (held.size >= this.limits.perConnection) {
      return tooMany(
        `This connection already has ${held.size} subscriptions, the most one may hold: complete one first`,
        'CONNECTION',
        this.limits.perConnection,
      );
    }
    if (this.count >= this.limits.serverWide) {
      return tooMany(
        `The server already runs ${this.count} subscriptions, the most it takes: retry later`,
        'SERVER',
        this.limits.serverWide,
      );
    }
    held.add(subscription);
    this.byConnection.set(connection, held);
    this.count += 1;
    return null;
  }

  /** `subscription` ended (a call for one never admitted does nothing). */
  release(connection: object, subscription: object): void {
    if (this.byConnection.get(connection)?.delete(subscription)) this.count -= 1;
  }

  /** The connection closed: whatever it still held is released (graphql-ws has completed all of it). */
  releaseAll(connection: object): void {
    const held = this.byConnection.get(connection);
    if (!held) return;
    this.count -= held.size;
    this.byConnection.delete(connection);
  }
}

function tooMany(message: string, scope: 'CONNECTION' | 'SERVER', limit: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', scope, limit } });
}
