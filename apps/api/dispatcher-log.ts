import type { Logger } from '@nestjs/common';
import type { DeliveryLogHooks } from '../../libs/webhooks/delivery-log.js';

/**
 * A dispatcher's hooks to the server log (pino, through Nest's Logger), the same for webhook
 * deliveries and customer notifications. Its own failures are errors; a failed attempt and a
 * delivery given up are warnings: the receiver's or the channel's trouble, which the operator
 * should see as it happens, not only in the delivery log.
 */
export function dispatcherLog(logger: Logger, what: 'Webhook' | 'Notification'): DeliveryLogHooks {
  return {
    onError: (error) => logger.error({ err: error }, `${what} dispatch failed; retrying`),
    onRetry: (fields, message) => logger.warn(fields, message),
    onGiveUp: (message) => logger.warn(message),
  };
}
