import { describe, expect, it } from '@jest/globals';
import type { Channel, RecordedIncidentEvent, Severity } from '../incident/incident.js';
import { RuleViolation } from '../rule-violation.js';
import { minutesAfterStart } from '../testing/fixtures.js';
import { scriptIncident, type ScriptStep } from '../testing/incident-script.js';
import { evaluateCommunicationCompliance } from './communication-compliance.js';

// Policy 1: SEV1 5/15/30 on EMAIL, SMS, WEBSITE; SEV2 15/30/60 on EMAIL, WEBSITE; SEV3 60/120/240 on WEBSITE.
const declare = (severity: Severity): ScriptStep => [
  0,
  {
    type: 'DeclareIncident',
    data: { incidentId: 'inc-1', title: 'Search is slow', severity, services: ['search'] },
  },
];
const publicUpdate = (minutes: number, channels: Channel[] = ['EMAIL', 'SMS', 'WEBSITE']): ScriptStep => [
  minutes,
  {
    type: 'PostStatusUpdate',
    data: { status: 'INVESTIGATING', message: 'Looking', channels, visibility: 'PUBLIC' },
  },
];
const acknowledge = (minutes: number): ScriptStep => [minutes, { type: 'AcknowledgeIncident', data: {} }];
const resolve = (minutes: number): ScriptStep => [
  minutes,
  { type: 'ResolveIncident', data: { summary: 'Fixed' } },
];
const changeSeverity = (minutes: number, severity: Severity): ScriptStep => [
  minutes,
  { type: 'ChangeSeverity', data: { severity } },
];
const evaluate = (steps: ScriptStep[], nowMinutes: number) =>
  evaluateCommunicationCompliance(scriptIncident(steps), minutesAfterStart(nowMinutes));

describe('evaluateCommunicationCompliance', () => {
  it('owes nothing at SEV4', () =>
    expect(evaluate([declare('SEV4'), publicUpdate(300), resolve(900)], 1_000)).toEqual({
      policyVersion: 1,
      acknowledgedWithinTarget: null,
      firstUpdateWithinTarget: null,
      cadenceCompliance: null,
      judgedIntervals: 0,
      gaps: [],
      missingRequiredChannels: [],
      updatesMissingChannels: [],
      nextUpdateDueAt: null,
      overdue: false,
    }));

  it('leaves targets open until they are due, and owes the first update by its deadline', () =>
    expect(evaluate([declare('SEV2')], 10)).toMatchObject({
      acknowledgedWithinTarget: null,
      firstUpdateWithinTarget: null,
      cadenceCompliance: null,
      nextUpdateDueAt: minutesAfterStart(30),
      overdue: false,
    }));

  it('misses targets whose deadline passed while they were owed', () =>
    expect(evaluate([declare('SEV2')], 40)).toMatchObject({
      acknowledgedWithinTarget: false,
      firstUpdateWithinTarget: false,
      nextUpdateDueAt: minutesAfterStart(30),
      overdue: true,
    }));

  it('misses targets met late', () =>
    expect(evaluate([declare('SEV2'), acknowledge(16), publicUpdate(31)], 40)).toMatchObject({
      acknowledgedWithinTarget: false,
      firstUpdateWithinTarget: false,
    }));

  it('meets targets exactly at the deadline', () =>
    expect(evaluate([declare('SEV2'), acknowledge(15), publicUpdate(30), resolve(90)], 100)).toMatchObject({
      acknowledgedWithinTarget: true,
      firstUpdateWithinTarget: true,
      cadenceCompliance: 1, // 30 → 90 is exactly the 60 minutes
      gaps: [],
    }));

  it('owes nothing more once resolved before a deadline', () =>
    expect(evaluate([declare('SEV3'), resolve(20)], 500)).toMatchObject({
      acknowledgedWithinTarget: null,
      firstUpdateWithinTarget: null,
      cadenceCompliance: null,
      nextUpdateDueAt: null,
      overdue: false,
    }));

  it('starts the stricter targets of an escalation from the escalation', () => {
    // SEV3 from 0 (acknowledge by 60, update by 120), SEV1 from 20 (by 25, by 35): deadlines 25 and 35.
    const escalated = [declare('SEV3'), changeSeverity(20, 'SEV1')];
    expect(evaluate([...escalated, acknowledge(24), publicUpdate(35)], 40)).toMatchObject({
      acknowledgedWithinTarget: true,
      firstUpdateWithinTarget: true,
    });
    expect(evaluate([...escalated, acknowledge(26), publicUpdate(36)], 40)).toMatchObject({
      acknowledgedWithinTarget: false,
      firstUpdateWithinTarget: false,
    });
  });

  it('judges each interval by the severities in force during it; a downgrade does not lift a running deadline', () => {
    const result = evaluate(
      [
        declare('SEV1'),
        publicUpdate(5),
        changeSeverity(10, 'SEV3'),
        publicUpdate(100, ['WEBSITE']),
        resolve(300),
      ],
      400,
    );
    // 5 → 100: SEV1 was in force at 5, so due at 35; over by 65. 100 → 300: SEV3 only, due at 340.
    expect(result).toMatchObject({
      cadenceCompliance: 0.5,
      gaps: [{ from: minutesAfterStart(5), to: minutesAfterStart(100), minutes: 95, overByMinutes: 65 }],
      // At 100 the incident was SEV3, which needs WEBSITE only.
      missingRequiredChannels: [],
    });
  });

  it('gives an escalation its own cadence from the moment it happened', () =>
    // Update at 0 as SEV3 (due at 240); SEV1 from 100 (due at 130); next update at 140: over by 10.
    expect(
      evaluate(
        [declare('SEV3'), publicUpdate(0), changeSeverity(100, 'SEV1'), publicUpdate(140), resolve(150)],
        200,
      ),
    ).toMatchObject({
      gaps: [{ from: minutesAfterStart(0), to: minutesAfterStart(140), minutes: 140, overByMinutes: 10 }],
      cadenceCompliance: 0.5,
    }));

  it('measures cadence within each open period, and owes a first update after a reopening', () => {
    const reopened: ScriptStep[] = [
      declare('SEV2'),
      publicUpdate(10),
      resolve(30),
      [50, { type: 'ReopenIncident', data: { reason: 'Slow again' } }],
    ];
    // 10 → 30, and 50 → now (the first update owed by 80): nothing is owed between the resolution
    // and the reopening.
    expect(evaluate(reopened, 100)).toMatchObject({
      cadenceCompliance: 0.5,
      judgedIntervals: 2,
      gaps: [{ from: minutesAfterStart(50), to: minutesAfterStart(100), minutes: 50, overByMinutes: 20 }],
      nextUpdateDueAt: minutesAfterStart(80),
      overdue: true,
    });
    expect(evaluate([...reopened, publicUpdate(60)], 100)).toMatchObject({
      cadenceCompliance: 1,
      judgedIntervals: 3,
      nextUpdateDueAt: minutesAfterStart(120),
      overdue: false,
    });
  });

  describe('judges the stretch from a reopening to its first update by the first-update target', () => {
    // SEV1 (first update 15, cadence 30): declared at 0, updated at 5, resolved at 10, reopened at 20,
    // so the reopened period owes its first update by 35.
    const reopened: ScriptStep[] = [
      declare('SEV1'),
      acknowledge(1),
      publicUpdate(5),
      resolve(10),
      [20, { type: 'ReopenIncident', data: { reason: 'Slow again' } }],
    ];

    it('while open with no update: the running interval, a gap once overdue, by as much as overdue', () => {
      expect(evaluate(reopened, 35)).toMatchObject({
        cadenceCompliance: 1,
        judgedIntervals: 2,
        gaps: [],
        nextUpdateDueAt: minutesAfterStart(35),
        overdue: false,
      });
      expect(evaluate(reopened, 300)).toMatchObject({
        cadenceCompliance: 0.5,
        judgedIntervals: 2,
        gaps: [{ from: minutesAfterStart(20), to: minutesAfterStart(300), minutes: 280, overByMinutes: 265 }],
        nextUpdateDueAt: minutesAfterStart(35),
        overdue: true,
      });
    });

    it('resolved again with no update: a gap up to the resolution', () =>
      expect(evaluate([...reopened, resolve(260)], 300)).toMatchObject({
        cadenceCompliance: 0.5,
        judgedIntervals: 2,
        gaps: [{ from: minutesAfterStart(20), to: minutesAfterStart(260), minutes: 240, overByMinutes: 225 }],
        nextUpdateDueAt: null,
        overdue: false,
      }));

    it('a first update within the target complies, exactly at the deadline too', () => {
      // 5 → 10, 20 → 35, 35 → 60 (due 65).
      expect(evaluate([...reopened, publicUpdate(35), resolve(60)], 100)).toMatchObject({
        cadenceCompliance: 1,
        judgedIntervals: 3,
        gaps: [],
      });
      expect(evaluate([...reopened, publicUpdate(36), resolve(60)], 100)).toMatchObject({
        cadenceCompliance: 2 / 3,
        gaps: [{ from: minutesAfterStart(20), to: minutesAfterStart(36), minutes: 16, overByMinutes: 1 }],
      });
    });

    it('a late first update after a reopening is a gap, though the updates are in different periods', () =>
      // Updates at 5 and 255 (250 minutes apart), resolved at 15, reopened at 25 (first update due
      // by 40), resolved again at 265: 5 → 15 and 255 → 265 comply, 25 → 255 does not.
      expect(
        evaluate(
          [
            declare('SEV1'),
            acknowledge(1),
            publicUpdate(5),
            resolve(15),
            [25, { type: 'ReopenIncident', data: { reason: 'Slow again' } }],
            publicUpdate(255),
            resolve(265),
          ],
          355,
        ),
      ).toMatchObject({
        firstUpdateWithinTarget: true,
        cadenceCompliance: 2 / 3,
        judgedIntervals: 3,
        gaps: [{ from: minutesAfterStart(25), to: minutesAfterStart(255), minutes: 230, overByMinutes: 215 }],
      }));

    it('takes the severity in force into account, and owes nothing at SEV4', () => {
      // SEV3 from 8 (first update 120), so reopened as SEV3, escalated to SEV1 at 30: the first
      // update is due by 45, as nextUpdateDueAt says.
      const escalated = [...reopened.slice(0, 3), changeSeverity(8, 'SEV3'), ...reopened.slice(3)];
      expect(evaluate([...escalated, changeSeverity(30, 'SEV1')], 50)).toMatchObject({
        judgedIntervals: 2,
        gaps: [{ from: minutesAfterStart(20), to: minutesAfterStart(50), minutes: 30, overByMinutes: 5 }],
        nextUpdateDueAt: minutesAfterStart(45),
        overdue: true,
      });
      // SEV4 from 8: 5 → 10 is judged (SEV1 was in force at 5), the reopening owes nothing.
      const sev4 = [...reopened.slice(0, 3), changeSeverity(8, 'SEV4'), ...reopened.slice(3)];
      expect(evaluate(sev4, 300)).toMatchObject({
        judgedIntervals: 1,
        cadenceCompliance: 1,
        nextUpdateDueAt: null,
        overdue: false,
      });
    });
  });

  it('ignores INTERNAL updates', () =>
    expect(
      evaluate(
        [
          declare('SEV2'),
          [
            10,
            {
              type: 'PostStatusUpdate',
              data: { status: 'INVESTIGATING', message: 'x', channels: ['EMAIL'], visibility: 'INTERNAL' },
            },
          ],
        ],
        40,
      ),
    ).toMatchObject({ firstUpdateWithinTarget: false, updatesMissingChannels: [], cadenceCompliance: null }));

  it('counts an update recorded late at the moment it happened', () => {
    const events = scriptIncident([declare('SEV2'), publicUpdate(10), publicUpdate(100), resolve(110)]);
    expect(evaluateCommunicationCompliance(events, minutesAfterStart(200)).gaps).toHaveLength(1);
    const backdated: RecordedIncidentEvent = { ...events[1], occurredAt: minutesAfterStart(50) };
    expect(evaluateCommunicationCompliance([...events, backdated], minutesAfterStart(200))).toMatchObject({
      cadenceCompliance: 1,
      judgedIntervals: 3,
      gaps: [],
    });
  });

  it('lists each required channel an update left out, once, in order of omission', () =>
    expect(
      evaluate(
        [declare('SEV1'), publicUpdate(5, ['SMS']), publicUpdate(20, ['EMAIL', 'SMS']), resolve(30)],
        40,
      ),
    ).toMatchObject({
      missingRequiredChannels: ['EMAIL', 'WEBSITE'],
      updatesMissingChannels: [
        { occurredAt: minutesAfterStart(5), missingChannels: ['EMAIL', 'WEBSITE'] },
        { occurredAt: minutesAfterStart(20), missingChannels: ['WEBSITE'] },
      ],
    }));

  it('refuses an incident declared under a version the registry does not have', () => {
    const events = scriptIncident([declare('SEV2')]).map((event) =>
      event.type === 'IncidentDeclared'
        ? { ...event, data: { ...event.data, communicationPolicyVersion: 9 } }
        : event,
    );
    expect(() => evaluateCommunicationCompliance(events, minutesAfterStart(10))).toThrow(RuleViolation);
  });
});
