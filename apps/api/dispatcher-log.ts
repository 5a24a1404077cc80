import type { Logger } from '@nestjs/common';
import type { DeliveryLogHooks } from '../../libs/webhooks/delivery-log.js';

/**
 * A dispatcher's hooks to the server log (pino, through Nest's Logger), the same for webhook
 * deliveries and customer notifications. A failed attempt is a warning: the receiver's or the
 * channel's trouble, which the operator should see as it happens, not only in the delivery log,
 * and which the retries may yet overcome. A delivery given up is an error, as are the
 * dispatcher's own failures: an event or a customer's notification that will never arrive unless
 * someone acts.
 */
export function dispatcherLog(logger: Logger, what: 'Webhook' | 'Notification'): DeliveryLogHooks {
  return {
    onError: (error) => logger.error({ err: error }, `${what} dispatch failed; retrying`),
    onRetry: (fields, message) => logger.warn(fields, message),
    onGiveUp: (message) => logger.error(message),
  };
}
