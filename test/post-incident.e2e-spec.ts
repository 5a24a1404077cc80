import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { COMPENSATION_POLICY_V1 } from '../libs/domain/index.js';
import { declareIncident, KEYS, LedgerServer, type GraphQLResponse } from './support/ledger-server.js';

/** Minutes after an instant, as ISO-8601. */
const after = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();
/** A whole minute ten hours ago: room for backdated outages, and outage lengths in whole minutes. */
const tenHoursAgo = () => new Date(Math.floor(Date.now() / 60_000) * 60_000 - 600 * 60_000).toISOString();

const POST_INCIDENT_FIELDS = `
  id status severity version resolvedAt closedAt communicationPolicyVersion compensationPolicyVersion
  rootCauses { rootCauseId category description contributingFactors trigger detection identifiedBy
               revisions revisedAt revisionReason history { version category description reason by } }
  preventiveMeasures { measureId title kind owner dueDate priority rootCauseId status overdue
                       startedAt completedAt evidence cancelledAt cancellationReason }
  postmortem { summary customerImpact narrative lessons { wentWell wentWrong gotLucky }
               customerExplanation publishedBy }
  compensations { grantId segment customerId creditPercent amount currency policyVersion outageMinutes
                  suggestedPercent followsPolicy justification grantedBy }
  feedback { feedbackId rating comment channel segment }
  averageRating
  compensationSuggestion { policyVersion outageMinutes defaultSegment credits { segment suggestedPercent } }
  enterpriseSuggestion: compensationSuggestion(segment: "ENTERPRISE") { credits { segment suggestedPercent } }
`;

/** The mutations of this file, their input types, and who may call them (besides admin): docs/roles.md. */
const MUTATIONS = {
  identifyRootCause: ['IdentifyRootCauseInput', ['responder']],
  reviseRootCause: ['ReviseRootCauseInput', ['responder']],
  planPreventiveMeasure: ['PlanPreventiveMeasureInput', ['responder']],
  startPreventiveMeasure: ['PreventiveMeasureActionInput', ['responder']],
  completePreventiveMeasure: ['CompletePreventiveMeasureInput', ['responder']],
  cancelPreventiveMeasure: ['CancelPreventiveMeasureInput', ['responder']],
  publishPostmortem: ['PublishPostmortemInput', ['responder']],
  grantCompensation: ['GrantCompensationInput', []],
  recordCustomerFeedback: ['RecordCustomerFeedbackInput', ['responder', 'communicator']],
  closeIncident: ['IncidentActionInput', ['responder']],
} as const;
type MutationName = keyof typeof MUTATIONS;

const rootCause = {
  category: 'CHANGE_DEPLOY',
  description: 'A config deploy halved the payment pool size',
  contributingFactors: ['  No canary for config  ', 'Pool size alert missing'],
  trigger: 'Deploy 4711',
  detection: 'Checkout error-rate alert',
};
/** A measure that may be planned now, due in two weeks. */
const measureDueInTwoWeeks = () => ({
  title: 'Canary every config deploy',
  kind: 'PREVENT',
  owner: 'dana',
  dueDate: after(new Date().toISOString(), 14 * 24 * 60),
  priority: 'P1',
});
const postmortem = {
  summary: 'Payments failed for 150 minutes',
  customerImpact: 'No card payment went through',
  narrative: 'At 10:00 a config deploy …',
  lessons: { wentWell: ['Fast rollback'], wentWrong: ['No canary'], gotLucky: [] },
  customerExplanation: 'A configuration change broke payments; we undid it and added safeguards.',
};

describe('the incident after the outage, over HTTP', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  const call = (name: MutationName, input: Record<string, unknown>, key: string = KEYS.responder) =>
    server.graphql(
      `mutation($input: ${MUTATIONS[name][0]}!) { ${name}(input: $input) { incident { ${POST_INCIDENT_FIELDS} } version position } }`,
      { input },
      key,
    );

  /** The mutation's payload; fails the test on any error. */
  async function ok(name: MutationName, input: Record<string, unknown>, key?: string) {
    const result = await call(name, input, key);
    expect(result.errors).toBeUndefined();
    return result.data![name];
  }

  /** The stream's version, from the event store itself. */
  const versionOf = async (incidentId: string) =>
    (await server.graphql(`query($id: ID!) { auditTrail(incidentId: $id) { version } }`, { id: incidentId }))
      .data!.auditTrail.length;

  /** Expects the one error `code` (and `rule`), checks that nothing was written, and returns the error. */
  async function expectRefused(
    incidentId: string,
    attempt: () => Promise<GraphQLResponse>,
    code: string,
    rule?: string,
  ) {
    const before = await versionOf(incidentId);
    const result = await attempt();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions).toMatchObject({ code, ...(rule && { rule }) });
    expect(await versionOf(incidentId)).toBe(before);
    return result.errors![0];
  }

  async function resolve(incidentId: string, occurredAt: string) {
    const result = await server.graphql(
      `mutation($input: ResolveIncidentInput!) { resolveIncident(input: $input) { version } }`,
      { input: { incidentId, summary: 'Rolled back deploy 4711', occurredAt } },
    );
    expect(result.errors).toBeUndefined();
  }

  /** A SEV1 declared ten hours ago and resolved `outageMinutes` later; its id. */
  async function resolvedSev1(outageMinutes: number) {
    const startedAt = tenHoursAgo();
    const { id } = await declareIncident(server, { severity: 'SEV1', occurredAt: startedAt });
    await resolve(id, after(startedAt, outageMinutes));
    return id;
  }

  test('a SEV1 from resolution to close: causes, measures, postmortem, compensation, feedback, each in its order', async () => {
    const startedAt = tenHoursAgo();
    const { id: incidentId } = await declareIncident(server, { severity: 'SEV1', occurredAt: startedAt });
    const refused = (name: MutationName, input: Record<string, unknown>, code: string, rule?: string) =>
      expectRefused(incidentId, () => call(name, { incidentId, ...input }, KEYS.admin), code, rule);

    // Nothing of the aftermath before the resolution.
    await refused('publishPostmortem', postmortem, 'RULE_VIOLATION', 'incident-not-resolved');
    await refused('closeIncident', {}, 'RULE_VIOLATION', 'incident-not-resolved');
    await refused(
      'grantCompensation',
      { segment: 'ENTERPRISE', creditPercent: 25 },
      'RULE_VIOLATION',
      'incident-not-resolved',
    );
    const open = await server.graphql(
      `query($id: ID!) { incidentAsOf(id: $id, version: 1) { compensationSuggestion { outageMinutes } } }`,
      { id: incidentId },
    );
    expect(open.data!.incidentAsOf.compensationSuggestion).toBeNull();

    await resolve(incidentId, after(startedAt, 150));

    // A SEV1 postmortem needs a root cause and a preventive measure; a SEV1 closes only with one.
    await refused('publishPostmortem', postmortem, 'RULE_VIOLATION', 'postmortem-needs-root-cause');
    await refused('closeIncident', {}, 'RULE_VIOLATION', 'incident-needs-postmortem');

    const identified = await ok('identifyRootCause', { incidentId, ...rootCause });
    const [cause] = identified.incident.rootCauses;
    expect(cause).toMatchObject({
      ...rootCause,
      contributingFactors: ['No canary for config', 'Pool size alert missing'],
      identifiedBy: 'alice',
      revisions: 0,
      revisionReason: null,
    });
    expect(cause.rootCauseId).toMatch(/^[0-9a-f-]{36}$/);
    await refused('publishPostmortem', postmortem, 'RULE_VIOLATION', 'postmortem-needs-preventive-measure');

    const revised = await ok('reviseRootCause', {
      incidentId,
      rootCauseId: cause.rootCauseId,
      ...rootCause,
      category: 'CONFIGURATION',
      reason: 'The deploy only carried the config; the config was the cause',
    });
    expect(revised.incident.rootCauses).toHaveLength(1);
    expect(revised.incident.rootCauses[0]).toMatchObject({
      category: 'CONFIGURATION',
      revisions: 1,
      revisionReason: 'The deploy only carried the config; the config was the cause',
    });
    expect(revised.incident.rootCauses[0].history).toEqual([
      {
        version: identified.version,
        category: 'CHANGE_DEPLOY',
        description: rootCause.description,
        reason: null,
        by: 'alice',
      },
      {
        version: revised.version,
        category: 'CONFIGURATION',
        description: rootCause.description,
        reason: 'The deploy only carried the config; the config was the cause',
        by: 'alice',
      },
    ]);

    const plan = measureDueInTwoWeeks();
    const planned = await ok('planPreventiveMeasure', {
      incidentId,
      ...plan,
      rootCauseId: cause.rootCauseId,
    });
    const [measure] = planned.incident.preventiveMeasures;
    expect(measure).toMatchObject({
      ...plan,
      rootCauseId: cause.rootCauseId,
      status: 'PLANNED',
      overdue: false,
    });
    // Planned (backdated) with a due date already past: overdue until cancelled.
    const late = await ok('planPreventiveMeasure', {
      incidentId,
      title: 'Pool size alert',
      kind: 'DETECT',
      owner: 'erik',
      dueDate: after(startedAt, 300),
      priority: 'P2',
      occurredAt: after(startedAt, 200),
    });
    const lateMeasure = late.incident.preventiveMeasures[1];
    expect(lateMeasure).toMatchObject({ status: 'PLANNED', overdue: true, rootCauseId: null });
    const cancelled = await ok('cancelPreventiveMeasure', {
      incidentId,
      measureId: lateMeasure.measureId,
      reason: 'Covered by the canary',
    });
    expect(cancelled.incident.preventiveMeasures[1]).toMatchObject({
      status: 'CANCELLED',
      overdue: false,
      cancellationReason: 'Covered by the canary',
    });
    expect(
      (await ok('startPreventiveMeasure', { incidentId, measureId: measure.measureId })).incident
        .preventiveMeasures[0].status,
    ).toBe('IN_PROGRESS');
    const completed = await ok('completePreventiveMeasure', {
      incidentId,
      measureId: measure.measureId,
      evidence: 'https://git.example/pr/99',
    });
    expect(completed.incident.preventiveMeasures[0]).toMatchObject({
      status: 'COMPLETED',
      evidence: 'https://git.example/pr/99',
      overdue: false,
    });

    const published = await ok('publishPostmortem', { incidentId, ...postmortem });
    expect(published.incident.postmortem).toEqual({ ...postmortem, publishedBy: 'alice' });
    await refused('publishPostmortem', postmortem, 'RULE_VIOLATION', 'postmortem-already-published');

    // The suggestion is the policy's band for 150 minutes (from 120 on).
    const band = COMPENSATION_POLICY_V1.bands.findLast(({ fromOutageMinutes }) => fromOutageMinutes <= 150)!;
    expect(published.incident.compensationSuggestion).toEqual({
      policyVersion: 1,
      outageMinutes: 150,
      defaultSegment: 'STANDARD',
      credits: Object.entries(band.creditPercentBySegment).map(([segment, suggestedPercent]) => ({
        segment,
        suggestedPercent,
      })),
    });
    expect(published.incident.compensationSuggestion.credits).toEqual([
      { segment: 'ENTERPRISE', suggestedPercent: 25 },
      { segment: 'BUSINESS', suggestedPercent: 10 },
      { segment: 'STANDARD', suggestedPercent: 5 },
    ]);
    expect(published.incident.enterpriseSuggestion.credits).toEqual([
      { segment: 'ENTERPRISE', suggestedPercent: 25 },
    ]);

    const byPolicy = await ok(
      'grantCompensation',
      { incidentId, segment: 'ENTERPRISE', creditPercent: 25 },
      KEYS.admin,
    );
    expect(byPolicy.incident.compensations[0]).toMatchObject({
      segment: 'ENTERPRISE',
      creditPercent: 25,
      policyVersion: 1,
      outageMinutes: 150,
      suggestedPercent: 25,
      followsPolicy: true,
      justification: null,
      grantedBy: 'root',
    });
    const generous = await ok(
      'grantCompensation',
      { incidentId, segment: 'BUSINESS', creditPercent: 15, justification: 'Peak sales day for them' },
      KEYS.admin,
    );
    expect(generous.incident.compensations[1]).toMatchObject({
      creditPercent: 15,
      suggestedPercent: 10,
      followsPolicy: false,
      justification: 'Peak sales day for them',
    });
    await refused(
      'grantCompensation',
      { segment: 'STANDARD', creditPercent: 20 },
      'RULE_VIOLATION',
      'compensation-needs-justification',
    );
    await refused(
      'grantCompensation',
      { segment: 'STANDARD', customerId: 'cust-42', creditPercent: 5 },
      'RULE_VIOLATION',
      'compensation-needs-one-recipient',
    );
    const amount = await ok(
      'grantCompensation',
      {
        incidentId,
        customerId: 'cust-42',
        amount: 500,
        currency: 'EUR',
        justification: 'Contractual penalty',
      },
      KEYS.admin,
    );
    expect(amount.incident.compensations[2]).toMatchObject({
      customerId: 'cust-42',
      segment: null,
      amount: 500,
      currency: 'EUR',
      creditPercent: null,
      suggestedPercent: 5,
      followsPolicy: false,
    });

    await ok(
      'recordCustomerFeedback',
      { incidentId, rating: 4, channel: 'EMAIL', comment: 'Clear updates', segment: 'ENTERPRISE' },
      KEYS.communicator,
    );
    const feedback = await ok('recordCustomerFeedback', { incidentId, rating: 2, channel: 'SOCIAL' });
    expect(feedback.incident.averageRating).toBe(3);

    const closed = await ok('closeIncident', { incidentId });
    expect(closed.incident).toMatchObject({
      status: 'CLOSED',
      communicationPolicyVersion: 1,
      compensationPolicyVersion: 1,
    });
    expect(Date.parse(closed.incident.closedAt)).toBeGreaterThanOrEqual(Date.parse(after(startedAt, 150)));

    // Once closed: feedback and preventive-measure work still go in …
    expect(
      (await ok('recordCustomerFeedback', { incidentId, rating: 5, channel: 'IN_APP' })).incident.feedback,
    ).toHaveLength(3);
    const followUp = await ok('planPreventiveMeasure', { incidentId, ...measureDueInTwoWeeks() });
    const followUpId = followUp.incident.preventiveMeasures[2].measureId;
    expect(
      (await ok('startPreventiveMeasure', { incidentId, measureId: followUpId })).incident
        .preventiveMeasures[2].status,
    ).toBe('IN_PROGRESS');
    // … and nothing else does.
    const closedRule = ['RULE_VIOLATION', 'incident-is-closed'] as const;
    await refused('identifyRootCause', rootCause, ...closedRule);
    await refused(
      'reviseRootCause',
      { ...rootCause, rootCauseId: cause.rootCauseId, reason: 'Late idea' },
      ...closedRule,
    );
    await refused('publishPostmortem', postmortem, ...closedRule);
    await refused('grantCompensation', { segment: 'ENTERPRISE', creditPercent: 25 }, ...closedRule);
    await refused('closeIncident', {}, ...closedRule);
    await expectRefused(
      incidentId,
      () =>
        server.graphql(
          `mutation($input: ReopenIncidentInput!) { reopenIncident(input: $input) { version } }`,
          {
            input: { incidentId, reason: 'Back again' },
          },
        ),
      ...closedRule,
    );

    // The read models agree with the payloads.
    const { position } = await ok('recordCustomerFeedback', { incidentId, rating: 3, channel: 'WEBSITE' });
    const read = await server.graphql(
      `query($id: ID!, $at: String) { incident(id: $id, consistentWith: $at) { ${POST_INCIDENT_FIELDS} } }`,
      { id: incidentId, at: position },
      KEYS.auditor,
    );
    expect(read.data!.incident).toMatchObject({
      status: 'CLOSED',
      closedAt: closed.incident.closedAt,
      averageRating: 3.5,
      rootCauses: [expect.objectContaining({ category: 'CONFIGURATION', revisions: 1 })],
      preventiveMeasures: [
        expect.objectContaining({ status: 'COMPLETED' }),
        expect.objectContaining({ status: 'CANCELLED' }),
        expect.objectContaining({ status: 'IN_PROGRESS' }),
      ],
      postmortem: expect.objectContaining({ summary: postmortem.summary }),
      compensations: [
        expect.objectContaining({ segment: 'ENTERPRISE' }),
        expect.objectContaining({ segment: 'BUSINESS' }),
        expect.objectContaining({ customerId: 'cust-42' }),
      ],
    });
  });

  test("a communicator reads none of the post-incident record, as in the catalogs and the public timeline; incidentDiff is the internal readers'", async () => {
    const incidentId = await resolvedSev1(150);
    await ok('identifyRootCause', { incidentId, ...rootCause });
    await ok('planPreventiveMeasure', { incidentId, ...measureDueInTwoWeeks() });
    await ok('publishPostmortem', { incidentId, ...postmortem });
    await ok('grantCompensation', { incidentId, segment: 'ENTERPRISE', creditPercent: 25 }, KEYS.admin);
    await ok(
      'recordCustomerFeedback',
      { incidentId, rating: 2, channel: 'EMAIL', comment: 'Write to jane@example.com' },
      KEYS.communicator,
    );
    const read = (key: string) =>
      server.graphql(
        `query($id: ID!) { incident(id: $id) { ${POST_INCIDENT_FIELDS} } }`,
        { id: incidentId },
        key,
      );

    const full = (await read(KEYS.responder)).data!.incident;
    expect(full.rootCauses).toHaveLength(1);
    expect(full.preventiveMeasures).toHaveLength(1);
    expect(full.postmortem.narrative).toBe(postmortem.narrative);
    expect(full.compensations).toHaveLength(1);
    expect(full.feedback[0].comment).toBe('Write to jane@example.com');
    expect(full.averageRating).toBe(2);
    expect((await read(KEYS.auditor)).data!.incident).toEqual(full);

    const communicated = await read(KEYS.communicator);
    expect(communicated.errors).toBeUndefined();
    expect(communicated.data!.incident).toEqual({
      ...full,
      rootCauses: [],
      preventiveMeasures: [],
      postmortem: null,
      compensations: [],
      feedback: [],
      averageRating: null,
    });
    // What customers are told of it stays on the public timeline.
    const timeline = await server.graphql(
      `query($id: ID!) { timeline(incidentId: $id, visibility: PUBLIC) { type description } }`,
      { id: incidentId },
      KEYS.communicator,
    );
    expect(
      timeline.data!.timeline.find((entry: { type: string }) => entry.type === 'PostmortemPublished'),
    ).toBeDefined();

    const diff = `query($id: ID!) { incidentDiff(id: $id, fromVersion: 1, toVersion: 7) { path } }`;
    expect(
      (await server.graphql(diff, { id: incidentId }, KEYS.communicator)).errors![0].extensions!.code,
    ).toBe('FORBIDDEN');
    expect((await server.graphql(diff, { id: incidentId }, KEYS.responder)).errors).toBeUndefined();
  });

  test('each mutation refuses the roles the matrix does not name, and writes nothing', async () => {
    const incidentId = await resolvedSev1(60);
    const someId = '6f1d2c3b-0000-4000-8000-000000000000';
    const validInputs: Record<MutationName, Record<string, unknown>> = {
      identifyRootCause: rootCause,
      reviseRootCause: { ...rootCause, rootCauseId: someId, reason: 'x' },
      planPreventiveMeasure: measureDueInTwoWeeks(),
      startPreventiveMeasure: { measureId: someId },
      completePreventiveMeasure: { measureId: someId, evidence: 'e' },
      cancelPreventiveMeasure: { measureId: someId, reason: 'r' },
      publishPostmortem: postmortem,
      grantCompensation: { segment: 'ENTERPRISE', creditPercent: 10 },
      recordCustomerFeedback: { rating: 5, channel: 'EMAIL' },
      closeIncident: {},
    };
    const denied = Object.entries(MUTATIONS).flatMap(([name, [, allowed]]) =>
      (['responder', 'communicator', 'auditor'] as const)
        .filter((role) => !(allowed as readonly string[]).includes(role))
        .map((role) => [name as MutationName, role] as const),
    );
    // The auditor never writes; only admins grant compensation.
    expect(denied.filter(([, role]) => role === 'auditor')).toHaveLength(10);
    expect(denied).toContainEqual(['grantCompensation', 'responder']);
    for (const [name, role] of denied) {
      await expectRefused(
        incidentId,
        () => call(name, { incidentId, ...validInputs[name] }, KEYS[role]),
        'FORBIDDEN',
      );
    }
  });

  describe('bad input is BAD_USER_INPUT and leaves the stream as it was', () => {
    let incidentId: string;
    let rootCauseId: string;
    let measureId: string;
    beforeAll(async () => {
      incidentId = await resolvedSev1(30);
      rootCauseId = (await ok('identifyRootCause', { incidentId, ...rootCause })).incident.rootCauses[0]
        .rootCauseId;
      measureId = (await ok('planPreventiveMeasure', { incidentId, ...measureDueInTwoWeeks() })).incident
        .preventiveMeasures[0].measureId;
    });

    const long = (length: number) => 'x'.repeat(length);
    const measure = measureDueInTwoWeeks();
    const credit = { segment: 'ENTERPRISE', justification: 'j' };
    const amount = { customerId: 'c', justification: 'j' };
    // What is wrong, the mutation, its input, and what the error message names.
    const cases: Array<[string, MutationName, () => Record<string, unknown>, string]> = [
      [
        'an unknown category',
        'identifyRootCause',
        () => ({ ...rootCause, category: 'GREMLINS' }),
        'category',
      ],
      [
        'a 5,001-character description',
        'identifyRootCause',
        () => ({ ...rootCause, description: long(5_001) }),
        'description',
      ],
      [
        '51 contributing factors',
        'identifyRootCause',
        () => ({ ...rootCause, contributingFactors: Array.from({ length: 51 }, String) }),
        'contributingFactors',
      ],
      [
        'a malformed root-cause id',
        'reviseRootCause',
        () => ({ ...rootCause, rootCauseId: 'rc-1', reason: 'r' }),
        'rootCauseId',
      ],
      [
        'a 2,001-character reason',
        'reviseRootCause',
        () => ({ ...rootCause, rootCauseId, reason: long(2_001) }),
        'reason',
      ],
      [
        'an impossible due date',
        'planPreventiveMeasure',
        () => ({ ...measure, dueDate: '2031-02-30T10:00:00Z' }),
        'dueDate',
      ],
      ['an unknown kind', 'planPreventiveMeasure', () => ({ ...measure, kind: 'HOPE' }), 'kind'],
      ['a 201-character owner', 'planPreventiveMeasure', () => ({ ...measure, owner: long(201) }), 'owner'],
      ['a malformed measure id', 'startPreventiveMeasure', () => ({ measureId: '42' }), 'measureId'],
      [
        '5,001 characters of evidence',
        'completePreventiveMeasure',
        () => ({ measureId, evidence: long(5_001) }),
        'evidence',
      ],
      [
        'a 2,001-character lesson',
        'publishPostmortem',
        () => ({ ...postmortem, lessons: { wentWell: [long(2_001)] } }),
        'wentWell',
      ],
      [
        'an unknown lessons field',
        'publishPostmortem',
        () => ({ ...postmortem, lessons: { wentOdd: ['x'] } }),
        'wentOdd',
      ],
      [
        'a credit over 100 percent',
        'grantCompensation',
        () => ({ ...credit, creditPercent: 101 }),
        'creditPercent',
      ],
      ['a negative credit', 'grantCompensation', () => ({ ...credit, creditPercent: -5 }), 'creditPercent'],
      [
        'a negative amount',
        'grantCompensation',
        () => ({ ...amount, amount: -1, currency: 'EUR' }),
        'amount',
      ],
      [
        'a four-letter currency',
        'grantCompensation',
        () => ({ ...amount, amount: 10, currency: 'EURO' }),
        'currency',
      ],
      ['a rating of 0', 'recordCustomerFeedback', () => ({ rating: 0, channel: 'EMAIL' }), 'rating'],
      ['a rating of 6', 'recordCustomerFeedback', () => ({ rating: 6, channel: 'EMAIL' }), 'rating'],
      ['a rating of 3.5', 'recordCustomerFeedback', () => ({ rating: 3.5, channel: 'EMAIL' }), 'rating'],
      ['an unknown channel', 'recordCustomerFeedback', () => ({ rating: 3, channel: 'PIGEON' }), 'channel'],
    ];
    test.each(cases)('%s (%s)', async (_name, mutationName, input, field) => {
      const error = await expectRefused(
        incidentId,
        () => call(mutationName, { incidentId, ...input() }, KEYS.admin),
        'BAD_USER_INPUT',
      );
      expect(error.message).toContain(field);
    });

    test('a segment the policy does not know, asked of compensationSuggestion', async () => {
      const result = await server.graphql(
        `query($id: ID!) { incidentAsOf(id: $id, version: 2) { compensationSuggestion(segment: "GOLD") { outageMinutes } } }`,
        { id: incidentId },
      );
      expect(result.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
      expect(result.errors![0].message).toContain('ENTERPRISE');
    });
  });
});
