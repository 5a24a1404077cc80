import type { DomainEvent, Recorded } from '../decider.js';
import type { Channel } from '../incident/incident.js';

export type MaintenanceStatus = 'SCHEDULED' | 'IN_PROGRESS' | 'COMPLETED' | 'CANCELLED';

export function maintenanceStreamId(id: string): string {
  return `maintenance-${id}`;
}

/** What customers were told ahead of the window, and where. */
export interface AdvanceNotice {
  channels: Channel[];
  message: string;
}

// Events. Instants are ISO-8601 strings in UTC; text is trimmed; optional text is null when not given.

export type MaintenanceScheduled = DomainEvent<
  'MaintenanceScheduled',
  {
    maintenanceId: string;
    title: string;
    windowStart: string;
    windowEnd: string;
    services: string[];
    advanceNotice: AdvanceNotice | null;
  }
>;
export type MaintenanceRescheduled = DomainEvent<
  'MaintenanceRescheduled',
  {
    windowStart: string;
    windowEnd: string;
    previousWindowStart: string;
    previousWindowEnd: string;
    reason: string;
  }
>;
export type MaintenanceCancelled = DomainEvent<'MaintenanceCancelled', { reason: string }>;
export type MaintenanceStarted = DomainEvent<'MaintenanceStarted', Record<string, never>>;
export type MaintenanceCompleted = DomainEvent<'MaintenanceCompleted', { summary: string | null }>;

export type MaintenanceEvent =
  | MaintenanceScheduled
  | MaintenanceRescheduled
  | MaintenanceCancelled
  | MaintenanceStarted
  | MaintenanceCompleted;
export type MaintenanceEventType = MaintenanceEvent['type'];
export type RecordedMaintenanceEvent = Recorded<MaintenanceEvent>;

// A record keyed by every type, so that the compiler rejects a list missing one.
const maintenanceEventTypes: Record<MaintenanceEventType, true> = {
  MaintenanceScheduled: true,
  MaintenanceRescheduled: true,
  MaintenanceCancelled: true,
  MaintenanceStarted: true,
  MaintenanceCompleted: true,
};
export const MAINTENANCE_EVENT_TYPES = Object.keys(maintenanceEventTypes) as readonly MaintenanceEventType[];

// State.

export interface MaintenanceState {
  exists: boolean;
  id: string | null;
  title: string;
  status: MaintenanceStatus;
  /** The current window. */
  windowStart: string | null;
  windowEnd: string | null;
  services: string[];
  advanceNotice: AdvanceNotice | null;
  /** occurredAt and actor of MaintenanceScheduled. */
  scheduledAt: string | null;
  scheduledBy: string | null;
  rescheduleCount: number;
  /** occurredAt of the latest MaintenanceRescheduled. */
  rescheduledAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  completionSummary: string | null;
  cancelledAt: string | null;
  cancellationReason: string | null;
  /** Number of events applied: the stream version. */
  version: number;
}

/** Before MaintenanceScheduled; the other fields mean nothing while `exists` is false. */
export function initialMaintenanceState(): MaintenanceState {
  return {
    exists: false,
    id: null,
    title: '',
    status: 'SCHEDULED',
    windowStart: null,
    windowEnd: null,
    services: [],
    advanceNotice: null,
    scheduledAt: null,
    scheduledBy: null,
    rescheduleCount: 0,
    rescheduledAt: null,
    startedAt: null,
    completedAt: null,
    completionSummary: null,
    cancelledAt: null,
    cancellationReason: null,
    version: 0,
  };
}

export function evolveMaintenance(
  current: MaintenanceState,
  event: RecordedMaintenanceEvent,
): MaintenanceState {
  const state = { ...current, version: current.version + 1 };
  switch (event.type) {
    case 'MaintenanceScheduled': {
      const { maintenanceId, title, windowStart, windowEnd, services, advanceNotice } = event.data;
      return {
        ...state,
        exists: true,
        id: maintenanceId,
        title,
        status: 'SCHEDULED',
        windowStart,
        windowEnd,
        services,
        advanceNotice,
        scheduledAt: event.occurredAt,
        scheduledBy: event.actor,
      };
    }
    case 'MaintenanceRescheduled':
      return {
        ...state,
        windowStart: event.data.windowStart,
        windowEnd: event.data.windowEnd,
        rescheduleCount: state.rescheduleCount + 1,
        rescheduledAt: event.occurredAt,
      };
    case 'MaintenanceCancelled':
      return {
        ...state,
        status: 'CANCELLED',
        cancelledAt: event.occurredAt,
        cancellationReason: event.data.reason,
      };
    case 'MaintenanceStarted':
      return { ...state, status: 'IN_PROGRESS', startedAt: event.occurredAt };
    case 'MaintenanceCompleted':
      return {
        ...state,
        status: 'COMPLETED',
        completedAt: event.occurredAt,
        completionSummary: event.data.summary,
      };
    default: {
      const unknown: never = event;
      throw new Error(`Unknown maintenance event ${JSON.stringify(unknown)}`);
    }
  }
}
