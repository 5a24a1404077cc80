import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  decide,
  evolve,
  incidentStreamId,
  initialIncidentState,
  type IncidentCommand,
  type IncidentState,
  type RecordedIncidentEvent,
} from '../domain/index.js';
import type { StoredEvent } from '../event-store/index.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { newEvent } from '../event-store/testing/event-store.contract.js';
import { ledgerFile, type LedgerFile } from './testing/ledger-file.js';
import { diffIncidentStates, incidentAsOf } from './time-travel.js';

const STREAM = incidentStreamId('tt');

/** A replay by hand: the domain's evolve over the events as decide made them. */
const replay = (events: RecordedIncidentEvent[]) => events.reduce(evolve, initialIncidentState());

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('time travel', () => {
  let ledger: LedgerFile;
  /** What decide made, with the command's occurredAt and actor: the hand replay's input. */
  const recorded: RecordedIncidentEvent[] = [];
  /** The stream as stored. */
  let stored: StoredEvent[];
  let declaredAt: string;

  /** Decides and appends one command, as the API does; a pause gives each append its own recordedAt. */
  async function execute(
    store: SqliteEventStore,
    command: Omit<IncidentCommand, 'metadata'>,
    actor: string,
    occurredAt = new Date().toISOString(),
  ): Promise<void> {
    const metadata = { actor, occurredAt, now: new Date().toISOString() };
    const events = decide({ ...command, metadata } as IncidentCommand, replay(recorded));
    await store.appendToStream(
      STREAM,
      events.map((event) =>
        newEvent({ type: event.type, data: event.data as Record<string, unknown>, occurredAt, actor }),
      ),
      recorded.length,
    );
    recorded.push(...events.map((event) => ({ ...event, occurredAt, actor })));
    await pause(5);
  }

  beforeAll(async () => {
    ledger = ledgerFile('audit-time-travel-');
    const store = SqliteEventStore.open(ledger.file);
    declaredAt = minutesAgo(60);
    await execute(
      store,
      {
        type: 'DeclareIncident',
        data: { incidentId: 'tt', title: 'Checkout fails', severity: 'SEV2', services: ['checkout'] },
      },
      'alice',
      declaredAt,
    );
    await execute(store, { type: 'AcknowledgeIncident', data: {} }, 'bob');
    await execute(store, { type: 'ChangeSeverity', data: { severity: 'SEV1' } }, 'bob');
    await execute(
      store,
      { type: 'ChangeServiceImpact', data: { service: 'checkout', impact: 'MAJOR_OUTAGE' } },
      'bob',
    );
    await execute(
      store,
      { type: 'OfferWorkaround', data: { workaroundId: 'w1', description: 'Pay by phone' } },
      'bob',
    );
    // Written now about 50 minutes ago: backdated.
    await execute(
      store,
      { type: 'AssignRole', data: { role: 'INCIDENT_COMMANDER', assignee: 'carol' } },
      'bob',
      minutesAgo(50),
    );
    await execute(store, { type: 'ResolveIncident', data: { summary: 'Rolled back' } }, 'carol');
    stored = await store.readStream(STREAM);
    await store.close();
  });

  afterAll(() => {
    ledger.remove();
  });

  describe('incidentAsOf a version', () => {
    test('equals the replay by hand of the first N events, for every N', () => {
      expect(stored).toHaveLength(7);
      for (let version = 0; version <= 7; version++) {
        expect(incidentAsOf(stored, { version })).toEqual(replay(recorded.slice(0, version)));
      }
    });

    test('gives the state the incident was in', () => {
      expect(incidentAsOf(stored, { version: 0 })).toEqual(initialIncidentState());
      expect(incidentAsOf(stored, { version: 2 })).toMatchObject({
        exists: true,
        title: 'Checkout fails',
        severity: 'SEV2',
        services: { checkout: 'DEGRADED_PERFORMANCE' },
        acknowledgedBy: 'bob',
        startedAt: declaredAt,
        resolvedAt: null,
        version: 2,
      });
      expect(incidentAsOf(stored, { version: 4 })).toMatchObject({
        severity: 'SEV1',
        services: { checkout: 'MAJOR_OUTAGE' },
        workarounds: [],
        version: 4,
      });
      expect(incidentAsOf(stored, { version: 7 })).toMatchObject({ status: 'RESOLVED', version: 7 });
    });

    test.each([-1, 8, 1.5])('refuses version %p', (version) => {
      expect(() => incidentAsOf(stored, { version })).toThrow(RangeError);
    });
  });

  describe('incidentAsOf an instant', () => {
    const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

    test('holds the events recorded at or before it', () => {
      for (const [index, event] of stored.entries()) {
        expect(incidentAsOf(stored, { at: event.recordedAt }).version).toBe(index + 1);
        expect(incidentAsOf(stored, { at: shift(event.recordedAt, -1) }).version).toBe(index);
      }
      expect(incidentAsOf(stored, { at: '2000-01-01T00:00:00Z' })).toEqual(initialIncidentState());
      expect(incidentAsOf(stored, { at: '2999-01-01T00:00:00Z' })).toEqual(replay(recorded));
    });

    test('takes any ISO-8601 offset', () => {
      const utc = stored[2].recordedAt;
      const plusTwo = new Date(Date.parse(utc) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');

      expect(incidentAsOf(stored, { at: plusTwo })).toEqual(incidentAsOf(stored, { at: utc }));
    });

    test('by recordedAt, a backdated entry counts from when it was written, not from when it says it happened', () => {
      const beforeItWasWritten = incidentAsOf(stored, { at: shift(stored[5].recordedAt, -1) });
      const afterwards = incidentAsOf(stored, { at: stored[5].recordedAt });

      expect(beforeItWasWritten.roles).toEqual({});
      expect(afterwards.roles).toEqual({ INCIDENT_COMMANDER: 'carol' });
    });

    test('by occurredAt, it counts from when it says it happened (hindsight)', () => {
      const state = incidentAsOf(stored, { at: minutesAgo(40), by: 'occurredAt' });

      // The declaration and the backdated role assignment; everything else happened later.
      expect(state).toEqual(replay([recorded[0], recorded[5]]));
      expect(state).toMatchObject({
        roles: { INCIDENT_COMMANDER: 'carol' },
        acknowledgedAt: null,
        version: 2,
      });
    });

    test('refuses what is not an instant', () => {
      expect(() => incidentAsOf(stored, { at: 'yesterday' })).toThrow(RangeError);
    });
  });

  describe('diffIncidentStates', () => {
    test('lists every change between two versions, in the state order', () => {
      const changes = diffIncidentStates(
        incidentAsOf(stored, { version: 1 }),
        incidentAsOf(stored, { version: 5 }),
      );

      expect(changes).toEqual([
        { path: '/severity', before: 'SEV2', after: 'SEV1' },
        { path: '/severitySince', before: declaredAt, after: recorded[2].occurredAt },
        { path: '/services/checkout', before: 'DEGRADED_PERFORMANCE', after: 'MAJOR_OUTAGE' },
        { path: '/acknowledgedAt', before: null, after: recorded[1].occurredAt },
        { path: '/acknowledgedBy', before: null, after: 'bob' },
        {
          path: '/workarounds/0',
          before: null,
          after: {
            workaroundId: 'w1',
            description: 'Pay by phone',
            offeredAt: recorded[4].occurredAt,
            withdrawnAt: null,
            withdrawalReason: null,
          },
        },
        { path: '/version', before: 1, after: 5 },
      ]);
    });

    test('finds nothing between a state and itself', () => {
      expect(diffIncidentStates(incidentAsOf(stored, { version: 7 }), replay(recorded))).toEqual([]);
    });

    test('escapes keys as JSON Pointer and sees only own keys, even __proto__', () => {
      const before: IncidentState = { ...initialIncidentState(), services: { 'eu/web~1': 'MAJOR_OUTAGE' } };
      const after: IncidentState = {
        ...initialIncidentState(),
        services: Object.fromEntries([['__proto__', 'PARTIAL_OUTAGE']]),
      };

      expect(diffIncidentStates(before, after)).toEqual([
        { path: '/services/eu~1web~01', before: 'MAJOR_OUTAGE', after: null },
        { path: '/services/__proto__', before: null, after: 'PARTIAL_OUTAGE' },
      ]);
    });
  });
});
