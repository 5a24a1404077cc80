import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { KEYS, LedgerServer } from './support/ledger-server.js';

const FIELDS = `id title status windowStart windowEnd services rescheduleCount rescheduledAt scheduledBy startedAt
  completedAt completionSummary cancelledAt cancellationReason advanceNotice { channels message } version`;
const mutation = (name: string, inputType: string) =>
  `mutation($input: ${inputType}!) { ${name}(input: $input) { maintenance { ${FIELDS} } version position } }`;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe('scheduled maintenance over GraphQL', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  const send = async (name: string, inputType: string, input: Record<string, unknown>, key?: string) => {
    const result = await server.graphql(mutation(name, inputType), { input }, key);
    if (result.errors) return { errors: result.errors };
    return result.data![name];
  };
  const schedule = (input: Record<string, unknown>) =>
    send('scheduleMaintenance', 'ScheduleMaintenanceInput', {
      title: 'Database upgrade',
      windowStart: inDays(1),
      windowEnd: inDays(1.1),
      services: ['db'],
      ...input,
    });

  test('a maintenance goes through its life, and each step is in the payload and the read model', async () => {
    const scheduled = await schedule({
      services: ['db', 'api'],
      advanceNotice: { channels: ['EMAIL', 'WEBSITE'], message: 'Planned upgrade' },
    });
    const id = scheduled.maintenance.id;
    expect(scheduled).toMatchObject({
      version: 1,
      maintenance: {
        status: 'SCHEDULED',
        services: ['db', 'api'],
        scheduledBy: 'alice',
        advanceNotice: { channels: ['EMAIL', 'WEBSITE'], message: 'Planned upgrade' },
      },
    });
    const moved = await send('rescheduleMaintenance', 'RescheduleMaintenanceInput', {
      maintenanceId: id,
      windowStart: inDays(2),
      windowEnd: inDays(2.1),
      reason: 'Release freeze',
      expectedVersion: 1,
    });
    expect(moved.maintenance).toMatchObject({
      rescheduleCount: 1,
      windowStart: expect.any(String),
      version: 2,
    });
    expect(Date.parse(moved.maintenance.windowStart)).toBeGreaterThan(
      Date.parse(scheduled.maintenance.windowStart),
    );
    await send('startMaintenance', 'MaintenanceActionInput', { maintenanceId: id });
    const done = await send('completeMaintenance', 'CompleteMaintenanceInput', {
      maintenanceId: id,
      summary: 'Upgraded to 16',
    });
    expect(done.maintenance).toMatchObject({
      status: 'COMPLETED',
      completionSummary: 'Upgraded to 16',
      startedAt: expect.any(String),
      version: 4,
    });

    const read = await server.graphql(
      `query($id: ID!, $at: String) { maintenance(id: $id, consistentWith: $at) { ${FIELDS} } }`,
      {
        id,
        at: done.position,
      },
    );
    expect(read.data!.maintenance).toEqual(done.maintenance);
  });

  test('a schedule retried with its idempotency key answers the first result whole, however the maintenance moved on', async () => {
    const request = { idempotencyKey: 'schedule-retried', windowStart: inDays(1), windowEnd: inDays(1.1) };
    const first = await schedule(request);
    await send('rescheduleMaintenance', 'RescheduleMaintenanceInput', {
      maintenanceId: first.maintenance.id,
      windowStart: inDays(3),
      windowEnd: inDays(3.1),
      reason: 'Release freeze',
    });

    const retried = await schedule(request);

    expect(retried).toEqual(first);
  });

  test('no step is dated before the latest rescheduling: the history would read it started, then was rescheduled', async () => {
    const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
    const { maintenance } = await schedule({ occurredAt: hoursAgo(2) });
    const moved = await send('rescheduleMaintenance', 'RescheduleMaintenanceInput', {
      maintenanceId: maintenance.id,
      windowStart: inDays(2),
      windowEnd: inDays(2.1),
      reason: 'Vendor asked',
    });
    expect(moved.maintenance.rescheduledAt).toEqual(expect.any(String));

    const started = await send('startMaintenance', 'MaintenanceActionInput', {
      maintenanceId: maintenance.id,
      occurredAt: hoursAgo(1),
    });

    expect(started.errors?.[0]?.extensions).toMatchObject({
      code: 'RULE_VIOLATION',
      rule: 'occurred-at-before-rescheduling',
    });
  });

  test('maintenances filters by status, service and window overlap', async () => {
    const early = (await schedule({ services: ['search'], windowStart: inDays(10), windowEnd: inDays(11) }))
      .maintenance;
    const late = (await schedule({ services: ['search'], windowStart: inDays(20), windowEnd: inDays(21) }))
      .maintenance;
    const other = (await schedule({ services: ['mail'], windowStart: inDays(10.5), windowEnd: inDays(12) }))
      .maintenance;
    const cancelled = await send('cancelMaintenance', 'CancelMaintenanceInput', {
      maintenanceId: late.id,
      reason: 'Not needed',
    });
    const ids = async (filter: Record<string, unknown>) => {
      const result = await server.graphql(
        `query($filter: MaintenanceFilterInput, $at: String) { maintenances(filter: $filter, consistentWith: $at) { id } }`,
        { filter, at: cancelled.position },
      );
      expect(result.errors).toBeUndefined();
      return result.data!.maintenances.map((each: { id: string }) => each.id);
    };

    expect(await ids({ service: 'search' })).toEqual([early.id, late.id]);
    expect(await ids({ service: 'search', statuses: ['SCHEDULED'] })).toEqual([early.id]);
    expect(await ids({ statuses: ['CANCELLED'] })).toEqual([late.id]);
    // [10.8, 10.9) days overlaps early (10–11) and other (10.5–12), not late.
    expect(await ids({ windowFrom: inDays(10.8), windowTo: inDays(10.9) })).toEqual([early.id, other.id]);
    // A window ending exactly where another starts does not overlap it.
    expect(await ids({ windowFrom: inDays(5), windowTo: early.windowStart })).toEqual([]);
  });

  test('bad input writes nothing; the rules, versions and roles are enforced', async () => {
    const codeOf = (result: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
      result.errors?.[0].extensions?.code;
    expect(codeOf(await schedule({ services: [] }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await schedule({ services: ['bad\nname'] }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await schedule({ advanceNotice: { channels: ['PIGEON'], message: 'x' } }))).toBe(
      'BAD_USER_INPUT',
    );
    const backwards = await schedule({ windowStart: inDays(2), windowEnd: inDays(1) });
    expect(backwards.errors[0].extensions).toMatchObject({
      code: 'RULE_VIOLATION',
      rule: 'window-must-end-after-start',
    });
    const { maintenance } = await schedule({});
    expect(
      codeOf(
        await send('completeMaintenance', 'CompleteMaintenanceInput', { maintenanceId: maintenance.id }),
      ),
    ).toBe('RULE_VIOLATION');
    expect(
      codeOf(
        await send('startMaintenance', 'MaintenanceActionInput', {
          maintenanceId: maintenance.id,
          expectedVersion: 5,
        }),
      ),
    ).toBe('VERSION_CONFLICT');
    expect(
      codeOf(
        await send('startMaintenance', 'MaintenanceActionInput', {
          maintenanceId: '00000000-0000-4000-8000-000000000000',
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      codeOf(
        await send(
          'startMaintenance',
          'MaintenanceActionInput',
          { maintenanceId: maintenance.id },
          KEYS.communicator,
        ),
      ),
    ).toBe('FORBIDDEN');
    const read = await server.graphql(`query($id: ID!) { maintenance(id: $id) { status version } }`, {
      id: maintenance.id,
    });
    expect(read.data!.maintenance).toEqual({ status: 'SCHEDULED', version: 1 });
  });

  test('the public status announces maintenance, and shows its services under maintenance while it runs', async () => {
    const STATUS = `{ publicStatus { services { service impact } maintenances { id title status windowStart windowEnd services } } }`;
    const publicStatus = async () => (await server.graphql(STATUS, {}, KEYS.communicator)).data!.publicStatus;
    const running = (await schedule({ title: 'Cache rebuild', services: ['cache-eu'] })).maintenance;
    const later = (
      await schedule({
        title: 'Queue upgrade',
        services: ['queue-eu'],
        windowStart: inDays(3),
        windowEnd: inDays(3.1),
      })
    ).maintenance;
    const cancelled = (await schedule({ title: 'Abandoned', services: ['search-eu'] })).maintenance;
    await send('startMaintenance', 'MaintenanceActionInput', { maintenanceId: running.id });
    await send('cancelMaintenance', 'CancelMaintenanceInput', {
      maintenanceId: cancelled.id,
      reason: 'Not needed',
    });

    const status = await publicStatus();
    const announced = status.maintenances.filter((maintenance: any) =>
      [running.id, later.id, cancelled.id].includes(maintenance.id),
    );
    expect(announced).toEqual([
      {
        id: running.id,
        title: 'Cache rebuild',
        status: 'IN_PROGRESS',
        windowStart: running.windowStart,
        windowEnd: running.windowEnd,
        services: ['cache-eu'],
      },
      {
        id: later.id,
        title: 'Queue upgrade',
        status: 'SCHEDULED',
        windowStart: later.windowStart,
        windowEnd: later.windowEnd,
        services: ['queue-eu'],
      },
    ]);
    expect(status.services).toContainEqual({ service: 'cache-eu', impact: 'UNDER_MAINTENANCE' });
    // Only a running maintenance puts its services under maintenance.
    const listed = status.services.map(({ service }: { service: string }) => service);
    expect(listed).not.toContain('queue-eu');
    expect(listed).not.toContain('search-eu');

    await send('completeMaintenance', 'CompleteMaintenanceInput', {
      maintenanceId: running.id,
      summary: 'Done',
    });
    const after = await publicStatus();
    expect(after.maintenances.map((maintenance: any) => maintenance.id)).not.toContain(running.id);
    expect(after.services.map(({ service }: { service: string }) => service)).not.toContain('cache-eu');
  });
});
