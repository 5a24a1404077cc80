/**
 * Scheduled-maintenance commands and `decideMaintenance` (stream `maintenance-<id>`).
 *
 * Rules (the stable `RuleViolation.rule` names):
 *   maintenance-already-exists      ScheduleMaintenance on a stream that already holds one
 *   maintenance-not-found           any other command before ScheduleMaintenance
 *   invalid-timestamp               an instant that is not ISO-8601 with a time zone
 *   occurred-at-in-future           occurredAt later than now (backdating is legal)
 *   occurred-at-before-scheduling   occurredAt earlier than the scheduling
 *   occurred-at-before-rescheduling occurredAt earlier than the latest rescheduling (the history
 *                                   would read started, or cancelled, then rescheduled)
 *   maintenance-needs-title         blank title
 *   maintenance-needs-service       no service
 *   service-needs-name              blank service name
 *   duplicate-service               a service listed twice
 *   window-must-end-after-start     windowEnd not later than windowStart
 *   window-starts-in-the-past       windowStart earlier than the (re)scheduling's occurredAt
 *   window-unchanged                rescheduling to the current window
 *   advance-notice-needs-message    an advance notice with a blank message
 *   advance-notice-needs-channel    an advance notice without a channel
 *   duplicate-channel               a channel listed twice
 *   reschedule-needs-reason         blank reason to reschedule
 *   cancellation-needs-reason       blank reason to cancel
 *   maintenance-is-cancelled        any command on a cancelled maintenance
 *   maintenance-is-completed        any command on a completed maintenance
 *   maintenance-already-started     reschedule, cancel or start once in progress
 *   maintenance-not-started         complete before it started
 *   completion-before-start         completing at an occurredAt earlier than the start
 *
 * Where the brief was silent:
 * - "In the past" is judged against the command's occurredAt, not `now`: a schedule recorded late
 *   (backdated) is judged by when it was made, like an ETA.
 * - A maintenance affects at least one service. The advance notice is optional (null: none sent).
 * - Starting before the window or completing after it is allowed and visible from the timestamps:
 *   the window is a promise to customers, not a lock.
 * - A maintenance in progress is not cancelled or rescheduled: it is completed (possibly early).
 * - Cancelled and completed are final.
 */
import type { Decider, DomainCommand } from '../decider.js';
import type { Channel } from '../incident/incident.js';
import { RuleViolation } from '../rule-violation.js';
import {
  instant,
  isoInstant,
  occurredAtNotInFuture,
  optionalText,
  rejectDuplicates,
  requiredText,
} from '../validation.js';
import {
  evolveMaintenance,
  initialMaintenanceState,
  type AdvanceNotice,
  type MaintenanceEvent,
  type MaintenanceState,
  type RecordedMaintenanceEvent,
} from './maintenance.js';

export type ScheduleMaintenance = DomainCommand<
  'ScheduleMaintenance',
  {
    maintenanceId: string;
    title: string;
    windowStart: string;
    windowEnd: string;
    services: string[];
    advanceNotice?: { channels: Channel[]; message: string } | null;
  }
>;
export type RescheduleMaintenance = DomainCommand<
  'RescheduleMaintenance',
  { windowStart: string; windowEnd: string; reason: string }
>;
export type CancelMaintenance = DomainCommand<'CancelMaintenance', { reason: string }>;
export type StartMaintenance = DomainCommand<'StartMaintenance', Record<string, never>>;
export type CompleteMaintenance = DomainCommand<'CompleteMaintenance', { summary?: string | null }>;

export type MaintenanceCommand =
  ScheduleMaintenance | RescheduleMaintenance | CancelMaintenance | StartMaintenance | CompleteMaintenance;

export function decideMaintenance(command: MaintenanceCommand, state: MaintenanceState): MaintenanceEvent[] {
  if (command.type === 'ScheduleMaintenance') return scheduleMaintenance(command, state);
  if (!state.exists) {
    throw new RuleViolation('maintenance-not-found', 'No maintenance was scheduled in this stream');
  }
  const occurred = occurredAtNotInFuture(command.metadata);
  if (occurred < instant(state.scheduledAt!)) {
    throw new RuleViolation(
      'occurred-at-before-scheduling',
      `occurredAt ${command.metadata.occurredAt} is earlier than the scheduling (${state.scheduledAt})`,
    );
  }
  if (state.rescheduledAt !== null && occurred < instant(state.rescheduledAt)) {
    throw new RuleViolation(
      'occurred-at-before-rescheduling',
      `occurredAt ${command.metadata.occurredAt} is earlier than the latest rescheduling (${state.rescheduledAt})`,
    );
  }
  if (state.status === 'CANCELLED' || state.status === 'COMPLETED') {
    throw new RuleViolation(
      state.status === 'CANCELLED' ? 'maintenance-is-cancelled' : 'maintenance-is-completed',
      `The maintenance was ${state.status.toLowerCase()} at ${state.cancelledAt ?? state.completedAt}`,
    );
  }
  switch (command.type) {
    case 'RescheduleMaintenance':
      return rescheduleMaintenance(command, state);
    case 'CancelMaintenance':
      notStarted(state);
      return [
        {
          type: 'MaintenanceCancelled',
          data: { reason: requiredText(command.data.reason, 'cancellation-needs-reason', 'The reason') },
        },
      ];
    case 'StartMaintenance':
      notStarted(state);
      return [{ type: 'MaintenanceStarted', data: {} }];
    case 'CompleteMaintenance':
      if (state.startedAt === null) {
        throw new RuleViolation('maintenance-not-started', 'Only a maintenance in progress can be completed');
      }
      if (occurred < instant(state.startedAt)) {
        throw new RuleViolation(
          'completion-before-start',
          `occurredAt ${command.metadata.occurredAt} is earlier than the start (${state.startedAt})`,
        );
      }
      return [{ type: 'MaintenanceCompleted', data: { summary: optionalText(command.data.summary) } }];
    default: {
      const unknown: never = command;
      throw new Error(`Unknown maintenance command ${JSON.stringify(unknown)}`);
    }
  }
}

export const maintenanceDecider: Decider<
  MaintenanceCommand,
  MaintenanceEvent,
  MaintenanceState,
  RecordedMaintenanceEvent
> = {
  decide: decideMaintenance,
  evolve: evolveMaintenance,
  initialState: initialMaintenanceState,
};

function notStarted(state: MaintenanceState): void {
  if (state.status === 'IN_PROGRESS') {
    throw new RuleViolation('maintenance-already-started', `The maintenance started at ${state.startedAt}`);
  }
}

/** The window in UTC, once checked that it ends after it starts and starts no earlier than `occurredAt`. */
function maintenanceWindow(
  windowStart: string,
  windowEnd: string,
  occurredAt: string,
): { windowStart: string; windowEnd: string } {
  const start = instant(windowStart);
  const end = instant(windowEnd);
  if (end <= start) {
    throw new RuleViolation(
      'window-must-end-after-start',
      `The window ends (${windowEnd}) before it starts (${windowStart})`,
    );
  }
  if (start < instant(occurredAt)) {
    throw new RuleViolation(
      'window-starts-in-the-past',
      `The window starts (${windowStart}) before the moment it is scheduled (${occurredAt})`,
    );
  }
  return { windowStart: isoInstant(start), windowEnd: isoInstant(end) };
}

function advanceNotice(notice: ScheduleMaintenance['data']['advanceNotice']): AdvanceNotice | null {
  if (notice === null || notice === undefined) return null;
  const message = requiredText(notice.message, 'advance-notice-needs-message', 'The advance notice');
  if (notice.channels.length === 0) {
    throw new RuleViolation('advance-notice-needs-channel', 'An advance notice needs at least one channel');
  }
  rejectDuplicates(notice.channels, 'duplicate-channel', 'Channel');
  return { channels: notice.channels, message };
}

function scheduleMaintenance(
  { data, metadata }: ScheduleMaintenance,
  state: MaintenanceState,
): MaintenanceEvent[] {
  if (state.exists)
    throw new RuleViolation('maintenance-already-exists', `Maintenance ${state.id} already exists`);
  occurredAtNotInFuture(metadata);
  const title = requiredText(data.title, 'maintenance-needs-title', 'The title');
  const services = data.services.map((service) =>
    requiredText(service, 'service-needs-name', 'A service name'),
  );
  if (services.length === 0) {
    throw new RuleViolation('maintenance-needs-service', 'A maintenance affects at least one service');
  }
  rejectDuplicates(services, 'duplicate-service', 'Service');
  return [
    {
      type: 'MaintenanceScheduled',
      data: {
        maintenanceId: data.maintenanceId,
        title,
        ...maintenanceWindow(data.windowStart, data.windowEnd, metadata.occurredAt),
        services,
        advanceNotice: advanceNotice(data.advanceNotice),
      },
    },
  ];
}

function rescheduleMaintenance(
  { data, metadata }: RescheduleMaintenance,
  state: MaintenanceState,
): MaintenanceEvent[] {
  notStarted(state);
  const reason = requiredText(data.reason, 'reschedule-needs-reason', 'The reason to reschedule');
  const window = maintenanceWindow(data.windowStart, data.windowEnd, metadata.occurredAt);
  if (window.windowStart === state.windowStart && window.windowEnd === state.windowEnd) {
    throw new RuleViolation(
      'window-unchanged',
      `The window already is ${state.windowStart} – ${state.windowEnd}`,
    );
  }
  return [
    {
      type: 'MaintenanceRescheduled',
      data: {
        ...window,
        previousWindowStart: state.windowStart!,
        previousWindowEnd: state.windowEnd!,
        reason,
      },
    },
  ];
}
