import { describe, expect, it } from '@jest/globals';
import { DeciderSpecification } from '../testing/decider-spec.js';
import { commandMetadata, minutesAfterStart, recorded as recordedEvent, START } from '../testing/fixtures.js';
import {
  evolveMaintenance,
  initialMaintenanceState,
  MAINTENANCE_EVENT_TYPES,
  maintenanceStreamId,
  type MaintenanceEvent,
  type MaintenanceScheduled,
  type RecordedMaintenanceEvent,
} from './maintenance.js';
import { maintenanceDecider, type MaintenanceCommand } from './maintenance.decide.js';

const given = DeciderSpecification.for(maintenanceDecider);

// Scheduled at START for a window from +24 h to +26 h; `now` is +30 h.
const NOW = minutesAfterStart(30 * 60);
const WINDOW_START = minutesAfterStart(24 * 60);
const WINDOW_END = minutesAfterStart(26 * 60);

const recorded: (event: MaintenanceEvent, occurredAt?: string, actor?: string) => RecordedMaintenanceEvent =
  recordedEvent;

type CommandData<Type extends MaintenanceCommand['type']> = Extract<
  MaintenanceCommand,
  { type: Type }
>['data'];
function command<Type extends MaintenanceCommand['type']>(
  type: Type,
  data: CommandData<Type>,
  occurredAt = NOW,
): MaintenanceCommand {
  return { type, data, metadata: commandMetadata(occurredAt, NOW) } as MaintenanceCommand;
}

const scheduledEvent: MaintenanceScheduled = {
  type: 'MaintenanceScheduled',
  data: {
    maintenanceId: 'mnt-1',
    title: 'Database upgrade',
    windowStart: WINDOW_START,
    windowEnd: WINDOW_END,
    services: ['checkout', 'payments'],
    advanceNotice: { channels: ['EMAIL', 'WEBSITE'], message: 'Checkout pauses for up to 2 hours' },
  },
};
const scheduled = [recorded(scheduledEvent)];
const started = recorded({ type: 'MaintenanceStarted', data: {} }, WINDOW_START);
const cancelled = recorded(
  { type: 'MaintenanceCancelled', data: { reason: 'Not needed' } },
  minutesAfterStart(60),
);
const completed = recorded({ type: 'MaintenanceCompleted', data: { summary: null } }, WINDOW_END);
/** What reschedule() below decides: the window moved to +48 h…+50 h. */
const rescheduledEvent: MaintenanceEvent = {
  type: 'MaintenanceRescheduled',
  data: {
    windowStart: minutesAfterStart(48 * 60),
    windowEnd: minutesAfterStart(50 * 60),
    previousWindowStart: WINDOW_START,
    previousWindowEnd: WINDOW_END,
    reason: 'Vendor asked',
  },
};

const schedule = (data: Partial<CommandData<'ScheduleMaintenance'>> = {}, occurredAt = START) =>
  command(
    'ScheduleMaintenance',
    {
      maintenanceId: 'mnt-1',
      title: ' Database upgrade ',
      windowStart: '2024-05-02T12:00:00+02:00',
      windowEnd: WINDOW_END,
      services: [' checkout', 'payments'],
      advanceNotice: { channels: ['EMAIL', 'WEBSITE'], message: ' Checkout pauses for up to 2 hours ' },
      ...data,
    },
    occurredAt,
  );
const reschedule = (
  data: Partial<CommandData<'RescheduleMaintenance'>> = {},
  occurredAt = minutesAfterStart(60),
) =>
  command(
    'RescheduleMaintenance',
    {
      windowStart: minutesAfterStart(48 * 60),
      windowEnd: minutesAfterStart(50 * 60),
      reason: ' Vendor asked ',
      ...data,
    },
    occurredAt,
  );
const cancel = (reason = ' Not needed ') => command('CancelMaintenance', { reason }, minutesAfterStart(60));
const start = command('StartMaintenance', {}, WINDOW_START);
const complete = (summary?: string | null, occurredAt = WINDOW_END) =>
  command('CompleteMaintenance', { summary }, occurredAt);

/** One valid command of each type but ScheduleMaintenance. */
const commandsOnAMaintenance = (): MaintenanceCommand[] => [reschedule(), cancel(), start, complete()];
const byType = (commands: MaintenanceCommand[]) => commands.map((c) => [c.type, c] as const);

describe('maintenance', () => {
  it('lives in the stream maintenance-<id>', () =>
    expect(maintenanceStreamId('mnt-1')).toBe('maintenance-mnt-1'));

  it('lists every event type', () =>
    expect(MAINTENANCE_EVENT_TYPES).toEqual([
      'MaintenanceScheduled',
      'MaintenanceRescheduled',
      'MaintenanceCancelled',
      'MaintenanceStarted',
      'MaintenanceCompleted',
    ]));

  describe('ScheduleMaintenance', () => {
    it('schedules the window in UTC, with trimmed text and its advance notice', () =>
      given([]).when(schedule()).then([scheduledEvent]));

    it('schedules without an advance notice', () =>
      given([])
        .when(schedule({ advanceNotice: null }))
        .then([{ ...scheduledEvent, data: { ...scheduledEvent.data, advanceNotice: null } }]));

    it('accepts a window starting the moment it is scheduled', () =>
      given([])
        .when(schedule({ windowStart: START }))
        .then([{ ...scheduledEvent, data: { ...scheduledEvent.data, windowStart: START } }]));

    it('refuses a maintenance that already exists', () =>
      given(scheduled).when(schedule()).thenThrows('maintenance-already-exists'));

    it('needs a title', () =>
      given([])
        .when(schedule({ title: ' ' }))
        .thenThrows('maintenance-needs-title'));

    it('needs a service', () =>
      given([])
        .when(schedule({ services: [] }))
        .thenThrows('maintenance-needs-service'));

    it('needs named services', () =>
      given([])
        .when(schedule({ services: ['checkout', ''] }))
        .thenThrows('service-needs-name'));

    it('refuses a service listed twice', () =>
      given([])
        .when(schedule({ services: ['checkout', 'checkout '] }))
        .thenThrows('duplicate-service'));

    it.each([WINDOW_START, minutesAfterStart(23 * 60)])('refuses a window ending at %s', (windowEnd) =>
      given([])
        .when(schedule({ windowStart: WINDOW_START, windowEnd }))
        .thenThrows('window-must-end-after-start'),
    );

    it('refuses a window starting before the moment it is scheduled', () =>
      given([])
        .when(schedule({ windowStart: minutesAfterStart(-1) }))
        .thenThrows('window-starts-in-the-past'));

    it('judges the past by when it was scheduled, not by now: a backdated schedule is legal', () =>
      given([])
        .when(schedule({ windowStart: minutesAfterStart(60), windowEnd: minutesAfterStart(120) }, START))
        .then([
          {
            ...scheduledEvent,
            data: {
              ...scheduledEvent.data,
              windowStart: minutesAfterStart(60),
              windowEnd: minutesAfterStart(120),
            },
          },
        ]));

    it('refuses an occurredAt in the future', () =>
      given([])
        .when(schedule({}, minutesAfterStart(30 * 60 + 1)))
        .thenThrows('occurred-at-in-future'));

    it('refuses a window that is not an instant', () =>
      given([])
        .when(schedule({ windowEnd: 'tomorrow' }))
        .thenThrows('invalid-timestamp'));

    it('needs an advance-notice message', () =>
      given([])
        .when(schedule({ advanceNotice: { channels: ['EMAIL'], message: '' } }))
        .thenThrows('advance-notice-needs-message'));

    it('needs an advance-notice channel', () =>
      given([])
        .when(schedule({ advanceNotice: { channels: [], message: 'Heads up' } }))
        .thenThrows('advance-notice-needs-channel'));

    it('refuses an advance-notice channel listed twice', () =>
      given([])
        .when(schedule({ advanceNotice: { channels: ['SMS', 'SMS'], message: 'Heads up' } }))
        .thenThrows('duplicate-channel'));
  });

  describe('every command but ScheduleMaintenance', () => {
    it.each(byType(commandsOnAMaintenance()))('%s needs a scheduled maintenance', (_type, c) =>
      given([]).when(c).thenThrows('maintenance-not-found'),
    );

    it.each(byType(commandsOnAMaintenance()))('%s is refused once cancelled', (_type, c) =>
      given([...scheduled, cancelled])
        .when(c)
        .thenThrows('maintenance-is-cancelled'),
    );

    it.each(byType(commandsOnAMaintenance()))('%s is refused once completed', (_type, c) =>
      given([...scheduled, started, completed])
        .when(c)
        .thenThrows('maintenance-is-completed'),
    );

    it('refuses an occurredAt before the scheduling', () =>
      given(scheduled)
        .when(command('StartMaintenance', {}, minutesAfterStart(-1)))
        .thenThrows('occurred-at-before-scheduling'));

    it('refuses an occurredAt in the future', () =>
      given(scheduled)
        .when(command('StartMaintenance', {}, minutesAfterStart(30 * 60 + 1)))
        .thenThrows('occurred-at-in-future'));
  });

  describe('RescheduleMaintenance', () => {
    it('moves the window, keeping the previous one and the reason', () =>
      given(scheduled).when(reschedule()).then([rescheduledEvent]));

    it('needs a reason', () =>
      given(scheduled)
        .when(reschedule({ reason: '' }))
        .thenThrows('reschedule-needs-reason'));

    it('refuses the current window', () =>
      given(scheduled)
        .when(reschedule({ windowStart: '2024-05-02T12:00:00+02:00', windowEnd: WINDOW_END }))
        .thenThrows('window-unchanged'));

    it('checks the new window', () => {
      given(scheduled)
        .when(reschedule({ windowEnd: minutesAfterStart(47 * 60) }))
        .thenThrows('window-must-end-after-start');
      given(scheduled)
        .when(reschedule({ windowStart: minutesAfterStart(30) }))
        .thenThrows('window-starts-in-the-past');
    });

    it('refuses a maintenance in progress', () =>
      given([...scheduled, started])
        .when(reschedule({}, NOW))
        .thenThrows('maintenance-already-started'));
  });

  describe('after a rescheduling', () => {
    const rescheduledAt = minutesAfterStart(120);
    const rescheduled = [...scheduled, recorded(rescheduledEvent, rescheduledAt)];

    it.each([
      ['a start', command('StartMaintenance', {}, minutesAfterStart(119))],
      ['a cancellation', command('CancelMaintenance', { reason: 'Not needed' }, minutesAfterStart(119))],
      [
        'another rescheduling',
        reschedule({ windowStart: minutesAfterStart(49 * 60) }, minutesAfterStart(119)),
      ],
    ])('refuses %s dated before it: the history would read it happened, then the rescheduling', (_, when) =>
      given(rescheduled).when(when).thenThrows('occurred-at-before-rescheduling'),
    );

    it('takes a start at the very moment of it', () =>
      given(rescheduled)
        .when(command('StartMaintenance', {}, rescheduledAt))
        .then([{ type: 'MaintenanceStarted', data: {} }]));
  });

  describe('CancelMaintenance', () => {
    it('cancels with a reason', () =>
      given(scheduled)
        .when(cancel())
        .then([{ type: 'MaintenanceCancelled', data: { reason: 'Not needed' } }]));

    it('needs a reason', () => given(scheduled).when(cancel(' ')).thenThrows('cancellation-needs-reason'));

    it('refuses a maintenance in progress', () =>
      given([...scheduled, started])
        .when(command('CancelMaintenance', { reason: 'Abort' }, NOW))
        .thenThrows('maintenance-already-started'));
  });

  describe('StartMaintenance', () => {
    it('starts', () =>
      given(scheduled)
        .when(start)
        .then([{ type: 'MaintenanceStarted', data: {} }]));

    it('starts before its window too', () =>
      given(scheduled)
        .when(command('StartMaintenance', {}, minutesAfterStart(60)))
        .then([{ type: 'MaintenanceStarted', data: {} }]));

    it('starts once', () =>
      given([...scheduled, started])
        .when(start)
        .thenThrows('maintenance-already-started'));
  });

  describe('CompleteMaintenance', () => {
    it('completes a maintenance in progress, with a summary', () =>
      given([...scheduled, started])
        .when(complete(' All went well '))
        .then([{ type: 'MaintenanceCompleted', data: { summary: 'All went well' } }]));

    it('completes without a summary', () =>
      given([...scheduled, started])
        .when(complete())
        .then([{ type: 'MaintenanceCompleted', data: { summary: null } }]));

    it('needs a start', () => given(scheduled).when(complete()).thenThrows('maintenance-not-started'));

    it('refuses an occurredAt before the start', () =>
      given([...scheduled, started])
        .when(complete(null, minutesAfterStart(24 * 60 - 1)))
        .thenThrows('completion-before-start'));
  });

  describe('evolveMaintenance', () => {
    const stateAfter = (events: RecordedMaintenanceEvent[]) =>
      events.reduce(evolveMaintenance, initialMaintenanceState());

    it('starts with no maintenance', () =>
      expect(initialMaintenanceState()).toMatchObject({ exists: false, id: null, version: 0 }));

    it('follows a maintenance through its life', () => {
      const rescheduled = recorded(
        {
          type: 'MaintenanceRescheduled',
          data: {
            windowStart: minutesAfterStart(25 * 60),
            windowEnd: minutesAfterStart(27 * 60),
            previousWindowStart: WINDOW_START,
            previousWindowEnd: WINDOW_END,
            reason: 'Vendor asked',
          },
        },
        minutesAfterStart(60),
      );
      expect(stateAfter([...scheduled, rescheduled])).toEqual({
        exists: true,
        id: 'mnt-1',
        title: 'Database upgrade',
        status: 'SCHEDULED',
        windowStart: minutesAfterStart(25 * 60),
        windowEnd: minutesAfterStart(27 * 60),
        services: ['checkout', 'payments'],
        advanceNotice: { channels: ['EMAIL', 'WEBSITE'], message: 'Checkout pauses for up to 2 hours' },
        scheduledAt: START,
        scheduledBy: 'alice',
        rescheduleCount: 1,
        rescheduledAt: minutesAfterStart(60),
        startedAt: null,
        completedAt: null,
        completionSummary: null,
        cancelledAt: null,
        cancellationReason: null,
        version: 2,
      });
      expect(
        stateAfter([
          ...scheduled,
          rescheduled,
          started,
          recorded({ type: 'MaintenanceCompleted', data: { summary: 'Done' } }, WINDOW_END),
        ]),
      ).toMatchObject({
        status: 'COMPLETED',
        startedAt: WINDOW_START,
        completedAt: WINDOW_END,
        completionSummary: 'Done',
      });
      expect(stateAfter([...scheduled, cancelled])).toMatchObject({
        status: 'CANCELLED',
        cancelledAt: minutesAfterStart(60),
        cancellationReason: 'Not needed',
      });
    });
  });
});
