import { Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { NotificationDispatcher } from '../../../libs/notifications/notification-dispatcher.js';
import type {
  CommunicationsLog as CommunicationsLogRecord,
  CustomerUpdateEntry as CustomerUpdateRecord,
} from '../../../libs/read-models/index.js';
import { CommunicationsLog, CustomerUpdateEntry } from '../read-models/read-model.graphql-types.js';
import { NotificationDelivery } from './notification.types.js';

type UpdateOfIncident = CustomerUpdateRecord & { incidentId: string };

/** Adds to the communications log which updates reached which channel, and when. */
@Resolver(() => CommunicationsLog)
export class CommunicationsLogUpdatesResolver {
  /**
   * The read model's update entries do not carry their incident; `deliveries` needs it. This
   * passes the entries through unchanged, each with its incident's id.
   */
  @ResolveField(() => [CustomerUpdateEntry])
  updates(@Parent() log: CommunicationsLogRecord): UpdateOfIncident[] {
    return log.updates.map((update) => ({ ...update, incidentId: log.incidentId }));
  }
}

@Resolver(() => CustomerUpdateEntry)
export class NotificationDeliveriesResolver {
  constructor(private readonly dispatcher: NotificationDispatcher) {}

  @ResolveField(() => [NotificationDelivery], {
    description:
      'One entry per channel the update asked for (public updates only), as the notification dispatcher has ' +
      'handled it so far.',
  })
  deliveries(@Parent() update: UpdateOfIncident): NotificationDelivery[] {
    return this.dispatcher.index.ofUpdate(update.incidentId, update.version);
  }
}
