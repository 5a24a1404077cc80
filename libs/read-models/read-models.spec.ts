import { randomUUID } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  INCIDENT_EVENT_TYPES,
  MAINTENANCE_EVENT_TYPES,
  measureIncident,
  type IncidentCommand,
} from '../domain/index.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import {
  deleteReadModels,
  InvalidCursorError,
  openReadModels,
  ProjectionRunner,
  READ_MODELS_FILE,
  readModelsDamaged,
  rebuild,
  type IncidentFilter,
  type IncidentRecord,
  type IncidentSort,
  type ReadModels,
  type RebuildProgress,
  type TimelineEntry,
} from './index.js';
import { asIncidentEvent } from './projections/incident-stream-event.js';
import { executeCommand, generateHistory, loadIncident, type GeneratedHistory } from './testing/history.js';
import { allAnswers, allPages, allRows } from './testing/read-model-answers.js';

describe('read models over a generated history', () => {
  let dir: string;
  let store: SqliteEventStore;
  let live: ReadModels;
  let history: GeneratedHistory;
  let records: IncidentRecord[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'read-models-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    live = openReadModels(dir);
    // Projected live while the history is written, in whatever batches that makes.
    const runner = new ProjectionRunner(store, live.db);
    runner.start();
    history = await generateHistory(store, { seed: 7, events: 5_000 });
    await runner.waitForPosition((await store.headPosition())!, 10_000);
    await runner.stop();
    records = [...live.queries.incidentsByIds(history.incidentIds).values()];
  }, 60_000);

  afterAll(async () => {
    live.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the history is varied enough to prove something', async () => {
    const events = await store.readAll(null, 100_000);
    expect(events.length).toBeGreaterThanOrEqual(5_000);
    expect(history.incidentIds.length).toBeGreaterThan(200);
    expect(new Set(events.map((event) => event.type))).toEqual(
      new Set([...INCIDENT_EVENT_TYPES, ...MAINTENANCE_EVENT_TYPES]),
    );
    const timelines = history.incidentIds.flatMap((id) => live.queries.timeline(id, 'ALL'));
    expect(timelines.filter((entry) => entry.backdated).length).toBeGreaterThan(100);
    expect(records.filter((record) => record.reopenCount > 0).length).toBeGreaterThan(0);
  });

  test('a rebuild answers every query exactly as the live projection, row for row', async () => {
    const phases: RebuildProgress['phase'][] = [];
    const progress = await rebuild(store, join(dir, 'rebuilt'), {
      onProgress: (update) => phases.push(update.phase),
    });
    let rebuilt = openReadModels(join(dir, 'rebuilt'));

    const now = new Date().toISOString();
    expect(allAnswers(rebuilt, history.incidentIds, now)).toEqual(allAnswers(live, history.incidentIds, now));
    expect(allRows(rebuilt.db)).toEqual(allRows(live.db));
    expect(progress).toMatchObject({ phase: 'done', position: await store.headPosition() });
    // A page at a time, then the indexes and the commit.
    expect(phases).toEqual([...phases.slice(0, -1).map(() => 'replaying'), 'finishing']);

    // Rebuilding over existing read models replaces them.
    rebuilt.close();
    await rebuild(store, join(dir, 'rebuilt'));
    rebuilt = openReadModels(join(dir, 'rebuilt'));
    expect(allRows(rebuilt.db)).toEqual(allRows(live.db));
    expect(statSync(rebuilt.file).mode & 0o777).toBe(0o600);
    rebuilt.close();
  });

  test('a rebuild over read models left with their log (-wal) by a crash gives the same rows', async () => {
    // As a server killed mid-way leaves them: committed transactions still in the -wal file.
    const crashed = join(dir, 'crashed');
    mkdirSync(crashed);
    const running = openReadModels(join(dir, 'running'));
    running.db.pragma('wal_autocheckpoint = 0');
    const runner = new ProjectionRunner(store, running.db);
    runner.start();
    await runner.waitForPosition((await store.headPosition())!, 10_000);
    await runner.stop();
    // What the log holds must not reach the new file: there, it would be pages of another database.
    running.db.exec('DELETE FROM timeline; DELETE FROM incidents');
    for (const suffix of ['', '-wal'])
      cpSync(`${running.file}${suffix}`, join(crashed, `${READ_MODELS_FILE}${suffix}`));
    running.close();
    expect(statSync(join(crashed, `${READ_MODELS_FILE}-wal`)).size).toBeGreaterThan(1_000_000);

    await rebuild(store, crashed);

    const rebuilt = openReadModels(crashed);
    expect(allRows(rebuilt.db)).toEqual(allRows(live.db));
    rebuilt.close();
  });

  test('a rebuild that may hold only a few incidents and events in memory gives the same rows', async () => {
    // Flushing the incidents midway and reading events back from the timeline, over and over.
    await rebuild(store, join(dir, 'rebuilt-in-little-memory'), {
      memoryLimits: { maxFolding: 7, maxHeldEvents: 50 },
    });
    const rebuilt = openReadModels(join(dir, 'rebuilt-in-little-memory'));
    expect(allRows(rebuilt.db)).toEqual(allRows(live.db));
    rebuilt.close();
  });

  test("each incident record holds what the domain's evolve makes of its stream", async () => {
    expect(records).toHaveLength(history.incidentIds.length);
    for (const record of records) {
      const state = await loadIncident(store, record.id!);
      expect(record).toMatchObject({ ...state });
      const events = live.queries.eventsOf([record.id!]).get(record.id!)!;
      expect(record.lastPosition).toBe(events.at(-1)!.globalPosition.toString());
      expect(record.customerUpdateCount).toBe(
        events.filter(
          (event) => event.type === 'CustomerUpdatePublished' && event.data.visibility === 'PUBLIC',
        ).length,
      );
      // Where the incident's own time to mitigate ends is where its metric's does.
      const { timeToMitigateMinutes } = measureIncident(
        events.flatMap((event) => asIncidentEvent(event) ?? []),
        new Date().toISOString(),
      );
      expect(
        record.mitigatedOrResolvedAt === null
          ? null
          : (Date.parse(record.mitigatedOrResolvedAt) - Date.parse(record.startedAt!)) / 60_000,
      ).toBe(timeToMitigateMinutes);
    }
  });

  test('eventsOf returns the full envelopes the store holds, for many incidents in one statement', async () => {
    const ids = history.incidentIds.slice(0, 50);
    const before = live.queries.queryCount;

    const events = live.queries.eventsOf([...ids, 'no-such-incident']);

    expect(live.queries.queryCount - before).toBe(1);
    expect(events.get('no-such-incident')).toEqual([]);
    for (const id of ids) expect(events.get(id)).toEqual(await store.readStream(`incident-${id}`));
  });

  describe('incidents: filters and sorts', () => {
    const sorts: IncidentSort[] = ['DECLARED_DESC', 'DECLARED_ASC', 'UPDATED_DESC', 'UPDATED_ASC'];

    test.each(sorts)('%s: every filter returns exactly the matching incidents, in order', (sort) => {
      const starts = records.map((record) => record.startedAt!).sort();
      const filters: IncidentFilter[] = [
        {},
        { statuses: ['INVESTIGATING'] },
        { statuses: ['IDENTIFIED', 'MONITORING'] },
        { statuses: [] },
        { severities: ['SEV1', 'SEV2'] },
        { service: 'payments' },
        { service: 'nothing-uses-this' },
        { open: true },
        { open: false },
        { declaredFrom: starts[50] },
        { declaredTo: starts[100] },
        { declaredFrom: starts[50], declaredTo: starts[100] },
        { titleContains: 'ERRORS in' },
        { open: true, severities: ['SEV1'], service: 'api', titleContains: 'e' },
      ];
      for (const filter of filters) {
        const expected = records.filter((record) => matches(record, filter)).sort(bySort(sort));
        const pages = allPages(live.queries, filter, sort, 45);

        expect(pages.flatMap((page) => page.edges.map((edge) => edge.node.id))).toEqual(
          expected.map((record) => record.id),
        );
        for (const page of pages) expect(page.totalCount).toBe(expected.length);
      }
    });

    test('a page of 100 incidents with their events costs three SQL statements', () => {
      const before = live.queries.queryCount;

      const page = live.queries.incidents({}, 'DECLARED_DESC', 100);
      const events = live.queries.eventsOf(page.edges.map((edge) => edge.node.id!));

      expect(live.queries.queryCount - before).toBe(3);
      expect(page.edges).toHaveLength(100);
      expect([...events.values()].every((list) => list.length > 0)).toBe(true);
    });

    test('first is capped at 100, and a forged cursor is refused', () => {
      expect(live.queries.incidents({}, 'UPDATED_DESC', 1_000).edges).toHaveLength(100);
      expect(() => live.queries.incidents({}, 'UPDATED_DESC', 10, 'bm90IGEgY3Vyc29y')).toThrow(
        InvalidCursorError,
      );
    });

    test('a cursor of one sort is refused by another, instead of reading a wrong page', () => {
      const [, last] = live.queries.incidents({}, 'DECLARED_DESC', 2).edges;

      expect(live.queries.incidents({}, 'DECLARED_DESC', 1, last.cursor).edges).toHaveLength(1);
      expect(() => live.queries.incidents({}, 'UPDATED_ASC', 1, last.cursor)).toThrow(
        'it is a position in the DECLARED_DESC order, not UPDATED_ASC',
      );
    });
  });
});

describe('one incident, step by step', () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: ReadModels;
  let runner: ProjectionRunner;
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  const now = Date.now();
  const at = (minutesFromNow: number) => new Date(now + minutesFromNow * 60_000).toISOString();
  const firstEta = at(120);
  const secondEta = at(180);
  const dueDate = at(30 * 24 * 60);

  /** Runs the command on the incident, `minutesAgo` in the world, and waits until the read models have it. */
  async function run(
    incidentId: string,
    type: IncidentCommand['type'],
    data: object,
    { minutesAgo = 0, actor = 'alice' } = {},
  ): Promise<void> {
    const metadata = { actor, now: new Date().toISOString(), occurredAt: at(-minutesAgo) };
    const position = await execute(store, incidentId, { type, data, metadata } as IncidentCommand);
    await runner.waitForPosition(position, 5_000);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'read-models-steps-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    readModels = openReadModels(dir);
    runner = new ProjectionRunner(store, readModels.db);
    runner.start();
    const declare = {
      incidentId: a,
      title: 'Checkout errors',
      severity: 'SEV3',
      services: ['checkout', 'api'],
    };
    await run(a, 'DeclareIncident', declare, { minutesAgo: 60 });
    await run(a, 'AcknowledgeIncident', {}, { actor: 'bob' });
    await run(a, 'AssignRole', { role: 'INCIDENT_COMMANDER', assignee: 'carol' });
    await run(a, 'ChangeSeverity', { severity: 'SEV1', reason: 'customer impact grew' });
    await run(a, 'ChangeServiceImpact', { service: 'checkout', impact: 'MAJOR_OUTAGE' });
    const update = { status: 'IDENTIFIED', message: 'We found the cause', channels: ['EMAIL', 'WEBSITE'] };
    await run(
      a,
      'PostStatusUpdate',
      { ...update, visibility: 'PUBLIC', nextUpdateInMinutes: 30 },
      { minutesAgo: 45 },
    );
    await run(a, 'AddInternalNote', { note: 'db failover started' }, { minutesAgo: 30, actor: 'bob' });
    await run(a, 'SetResolutionEstimate', { estimatedResolutionAt: firstEta, reason: 'first estimate' });
    await run(a, 'SetResolutionEstimate', { estimatedResolutionAt: secondEta, reason: 'fix took longer' });
    const heads = {
      status: 'IDENTIFIED',
      message: 'internal heads-up',
      channels: ['EMAIL'],
      visibility: 'INTERNAL',
    };
    await run(a, 'PostStatusUpdate', heads);
    await run(a, 'OfferWorkaround', { workaroundId: 'w1', description: 'Use the mobile app' });
    await run(a, 'OfferWorkaround', { workaroundId: 'w2', description: 'Pay by invoice' });
    await run(a, 'WithdrawWorkaround', { workaroundId: 'w2', reason: 'invoicing is down too' });
    await run(a, 'MitigateIncident', { summary: 'traffic shifted' });
    const fixed = { status: 'MONITORING', message: 'Fix deployed', channels: ['SMS'], visibility: 'PUBLIC' };
    await run(a, 'PostStatusUpdate', fixed);
    await run(a, 'ResolveIncident', { summary: 'Rolled back' });
    await run(a, 'ReopenIncident', { reason: 'errors came back' });
    await run(a, 'ResolveIncident', { summary: 'Fixed for good' });
    const cause = {
      category: 'CHANGE_DEPLOY',
      description: 'A bad deploy',
      trigger: 'deploy 42',
      detection: 'alert',
    };
    await run(a, 'IdentifyRootCause', { rootCauseId: 'rc1', ...cause });
    const revised = { ...cause, category: 'CONFIGURATION', description: 'A bad flag' };
    await run(a, 'ReviseRootCause', { rootCauseId: 'rc1', reason: 'the config, not the code', ...revised });
    const measure = { kind: 'PREVENT', owner: 'dave', dueDate: dueDate, priority: 'P1', rootCauseId: 'rc1' };
    await run(a, 'PlanPreventiveMeasure', { measureId: 'm1', title: 'Add a canary', ...measure });
    await run(a, 'StartPreventiveMeasure', { measureId: 'm1' });
    await run(a, 'CompletePreventiveMeasure', { measureId: 'm1', evidence: 'https://ci/canary' });
    await run(a, 'PlanPreventiveMeasure', { measureId: 'm2', title: 'Manual checklist', ...measure });
    await run(a, 'CancelPreventiveMeasure', { measureId: 'm2', reason: 'superseded' });
    await run(a, 'PublishPostmortem', {
      summary: 'A flag broke checkout',
      customerImpact: 'Payments failed',
      narrative: 'We flipped a flag.',
      lessons: { wentWell: [], wentWrong: ['No canary'], gotLucky: [] },
      customerExplanation: 'A configuration change caused failed payments.',
    });
    const grant = { grantId: 'g1', segment: 'ENTERPRISE', creditPercent: 10, justification: 'goodwill' };
    await run(a, 'GrantCompensation', grant);
    const feedback = { feedbackId: 'f1', rating: 4, comment: 'clear updates', channel: 'EMAIL' };
    await run(a, 'RecordCustomerFeedback', feedback);
    await run(a, 'CloseIncident', {});

    const slowSearch = { incidentId: b, title: 'Slow search', severity: 'SEV3', services: ['search'] };
    await run(b, 'DeclareIncident', slowSearch, { minutesAgo: 20 });
    await run(b, 'ChangeServiceImpact', { service: 'api', impact: 'PARTIAL_OUTAGE' });
    await run(b, 'AddInternalNote', { note: 'written up late' }, { minutesAgo: 10 });
    await run(
      c,
      'DeclareIncident',
      { incidentId: c, title: 'Old one', severity: 'SEV4' },
      { minutesAgo: 40 * 60 },
    );
    await run(c, 'ResolveIncident', { summary: 'Gone' }, { minutesAgo: 30 * 60 });
  });

  afterAll(async () => {
    await runner.stop();
    readModels.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the timeline tells every event in plain words, by occurredAt, backdated ones flagged', () => {
    const entries = readModels.queries.timeline(a, 'ALL');

    expect(entries.map((entry) => [entry.description, entry.visibility, entry.backdated])).toEqual([
      ['Incident declared at SEV3: Checkout errors (affects checkout, api)', 'PUBLIC', true],
      ['Status changed from INVESTIGATING to IDENTIFIED', 'PUBLIC', true],
      ['Customer update (IDENTIFIED) via EMAIL, WEBSITE: We found the cause', 'PUBLIC', true],
      ['Note: db failover started', 'INTERNAL', true],
      ['Acknowledged', 'INTERNAL', false],
      ['carol assigned as incident commander', 'INTERNAL', false],
      ['Severity changed from SEV3 to SEV1 (customer impact grew)', 'PUBLIC', false],
      ['Impact on checkout changed from degraded performance to major outage', 'PUBLIC', false],
      [`Resolution estimate set to ${firstEta}: first estimate`, 'PUBLIC', false],
      [`Resolution estimate set to ${secondEta} (was ${firstEta}): fix took longer`, 'PUBLIC', false],
      ['Internal update (IDENTIFIED) via EMAIL: internal heads-up', 'INTERNAL', false],
      ['Workaround offered: Use the mobile app', 'PUBLIC', false],
      ['Workaround offered: Pay by invoice', 'PUBLIC', false],
      ['Workaround w2 withdrawn: invoicing is down too', 'PUBLIC', false],
      ['Mitigated: traffic shifted', 'INTERNAL', false],
      ['Status changed from IDENTIFIED to MONITORING', 'PUBLIC', false],
      ['Customer update (MONITORING) via SMS: Fix deployed', 'PUBLIC', false],
      ['Resolved: Rolled back', 'PUBLIC', false],
      ['Reopened: errors came back', 'PUBLIC', false],
      ['Resolved: Fixed for good', 'PUBLIC', false],
      ['Root cause identified (change deploy): A bad deploy', 'INTERNAL', false],
      ['Root cause revised (configuration): A bad flag (the config, not the code)', 'INTERNAL', false],
      [
        `Preventive measure planned (P1, prevent): Add a canary; owner dave, due ${dueDate}`,
        'INTERNAL',
        false,
      ],
      ['Preventive measure m1 started', 'INTERNAL', false],
      ['Preventive measure m1 completed: https://ci/canary', 'INTERNAL', false],
      [
        `Preventive measure planned (P1, prevent): Manual checklist; owner dave, due ${dueDate}`,
        'INTERNAL',
        false,
      ],
      ['Preventive measure m2 cancelled: superseded', 'INTERNAL', false],
      ['Postmortem published: A configuration change caused failed payments.', 'PUBLIC', false],
      ['Compensation granted to the ENTERPRISE segment: a 10% credit (goodwill)', 'INTERNAL', false],
      ['Customer feedback via EMAIL: 4/5: clear updates', 'INTERNAL', false],
      ['Closed', 'PUBLIC', false],
    ]);
    expect(entries[3]).toMatchObject({ type: 'InternalNoteAdded', actor: 'bob', version: 8, data: {} });
    const shown = readModels.queries.timeline(a, 'PUBLIC');
    const publicEntries = entries.filter((entry) => entry.visibility === 'PUBLIC');
    const withoutContent = ({ data: _data, description: _description, ...entry }: TimelineEntry) => entry;
    expect(shown.map(withoutContent)).toEqual(publicEntries.map(withoutContent));
    // Their text is written from what customers may see: a severity change without its reason.
    expect(shown.map((entry) => entry.description)).toEqual(
      publicEntries.map((entry) => entry.description.replace(' (customer impact grew)', '')),
    );
    expect(shown.find((entry) => entry.type === 'SeverityChanged')!.data).toEqual({
      from: 'SEV3',
      to: 'SEV1',
    });
    // Of their data, only what customers may see: no declaration summary, no postmortem narrative.
    expect(shown[0].data).toEqual({
      incidentId: a,
      title: 'Checkout errors',
      severity: 'SEV3',
      services: ['checkout', 'api'],
    });
    expect(shown.find((entry) => entry.type === 'PostmortemPublished')!.data).toEqual({
      customerExplanation: 'A configuration change caused failed payments.',
    });
    expect(shown.find((entry) => entry.type === 'ResolutionEstimateSet')!.data).toEqual({
      estimatedResolutionAt: firstEta,
      previousEstimate: null,
      reason: 'first estimate',
    });
    expect(readModels.queries.timeline('no-such-incident', 'ALL')).toEqual([]);
  });

  test('the incident record adds what only the log knows', () => {
    const record = readModels.queries.incident(a)!;
    const events = readModels.queries.eventsOf([a]).get(a)!;

    expect(record).toMatchObject({
      status: 'CLOSED',
      severity: 'SEV1',
      etaRevisions: 1,
      reopenCount: 1,
      customerUpdateCount: 2,
      version: 31,
      declaredRecordedAt: events[0].recordedAt,
      lastUpdatedAt: events[30].occurredAt,
      lastPosition: events[30].globalPosition.toString(),
    });
    // A backdated entry recorded last does not make the incident look less recently updated.
    expect(readModels.queries.incident(b)).toMatchObject({ lastUpdatedAt: at(0), version: 3 });
    expect(readModels.queries.incident('no-such-incident')).toBeNull();
  });

  test('the communications log has every update with its gap, and the ETA history', () => {
    const log = readModels.queries.communications(a, 'ALL')!;
    const gap = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 60_000;
    const [first, internal, last] = log.updates;

    expect(log.updates.map((update) => [update.message, update.visibility, update.channels])).toEqual([
      ['We found the cause', 'PUBLIC', ['EMAIL', 'WEBSITE']],
      ['internal heads-up', 'INTERNAL', ['EMAIL']],
      ['Fix deployed', 'PUBLIC', ['SMS']],
    ]);
    expect(first.minutesSincePrevious).toBeCloseTo(15, 5);
    expect(first.nextUpdateAt).toBe(new Date(Date.parse(first.occurredAt) + 30 * 60_000).toISOString());
    expect(internal.minutesSincePrevious).toBe(gap(at(-60), internal.occurredAt));
    expect(last.minutesSincePrevious).toBe(gap(first.occurredAt, last.occurredAt));
    expect(log.etaHistory).toMatchObject([
      { previousEstimate: null, estimatedResolutionAt: firstEta, reason: 'first estimate', actor: 'alice' },
      { previousEstimate: firstEta, estimatedResolutionAt: secondEta, reason: 'fix took longer' },
    ]);
    // The public log: the same public updates with the same gaps, and the same ETA history.
    expect(readModels.queries.communications(a, 'PUBLIC')).toEqual({ ...log, updates: [first, last] });
    expect(readModels.queries.communications('no-such-incident', 'ALL')).toBeNull();
  });

  test('the public status shows open and recently resolved incidents, and nothing internal', () => {
    const status = readModels.queries.publicStatus(new Date().toISOString(), 24);

    expect(status.services).toEqual([
      { service: 'api', impact: 'PARTIAL_OUTAGE' },
      { service: 'search', impact: 'DEGRADED_PERFORMANCE' },
    ]);
    expect(status.openIncidents.map((incident) => incident.id)).toEqual([b]);
    expect(status.recentlyResolved).toEqual([
      {
        id: a,
        title: 'Checkout errors',
        status: 'CLOSED',
        severity: 'SEV1',
        startedAt: at(-60),
        resolvedAt: expect.any(String),
        estimatedResolutionAt: secondEta,
        // Resolved: its services are restored, its workarounds no longer needed.
        services: [
          { service: 'api', impact: 'OPERATIONAL' },
          { service: 'checkout', impact: 'OPERATIONAL' },
        ],
        workarounds: [],
        updates: [
          { status: 'IDENTIFIED', message: 'We found the cause', occurredAt: at(-45) },
          { status: 'MONITORING', message: 'Fix deployed', occurredAt: expect.any(String) },
        ],
      },
    ]);
    const shown = JSON.stringify(status);
    const hiddenText = [
      'db failover',
      'internal heads-up',
      'Pay by invoice',
      'written up late',
      'A bad flag',
    ];
    for (const hidden of ['alice', 'bob', 'carol', ...hiddenText]) {
      expect(shown).not.toContain(hidden);
    }
    const twoDays = readModels.queries.publicStatus(new Date().toISOString(), 48);
    expect(twoDays.recentlyResolved.map((incident) => incident.id)).toEqual([a, c]);
  });
});

describe('pagination while incidents are declared', () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: ReadModels;
  let runner: ProjectionRunner;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'read-models-pages-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    readModels = openReadModels(dir);
    runner = new ProjectionRunner(store, readModels.db);
    runner.start();
  });

  afterAll(async () => {
    await runner.stop();
    readModels.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Declares incidents that started `minutesAgo` (spread over the whole range) and waits for them. */
  async function declare(minutesAgo: number[]): Promise<void> {
    const results = await Promise.all(
      minutesAgo.map((minutes) => {
        const id = randomUUID();
        return execute(store, id, declareCommand(id, minutes, 'Paged'));
      }),
    );
    await runner.waitForPosition(
      results.reduce((max, result) => (result > max ? result : max), 0n),
      5_000,
    );
  }

  test.each<IncidentSort>(['DECLARED_DESC', 'DECLARED_ASC', 'UPDATED_DESC', 'UPDATED_ASC'])(
    '%s: no page repeats or skips an incident that existed when the first page was read',
    async (sort) => {
      await declare(Array.from({ length: 150 }, (_, i) => i * 2));
      const existing = new Set(allPages(readModels.queries, {}, sort, 100).flatMap(ids));

      const seen: string[] = [];
      let page = readModels.queries.incidents({}, sort, 25);
      seen.push(...ids(page));
      while (page.hasNextPage) {
        // New incidents land everywhere: at the top, in the middle and at the end of the order.
        await declare([0, 0.5, 61, 151, 299, 400]);
        page = readModels.queries.incidents({}, sort, 25, page.edges.at(-1)!.cursor);
        seen.push(...ids(page));
      }

      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => existing.has(id)).sort()).toEqual([...existing].sort());
    },
    60_000,
  );
});

function ids(page: { edges: Array<{ node: IncidentRecord }> }): string[] {
  return page.edges.map((edge) => edge.node.id!);
}

/** Decides and appends a command on the incident's current state; returns the position appended. */
async function execute(
  store: SqliteEventStore,
  incidentId: string,
  command: IncidentCommand,
): Promise<bigint> {
  const state = await loadIncident(store, incidentId);
  return (await executeCommand(store, incidentId, command, state)).position;
}

function declareCommand(incidentId: string, minutesAgo: number, title: string): IncidentCommand {
  const now = new Date();
  return {
    type: 'DeclareIncident',
    data: { incidentId, title, severity: 'SEV2', services: ['api'] },
    metadata: {
      actor: 'alice',
      now: now.toISOString(),
      occurredAt: new Date(now.getTime() - minutesAgo * 60_000).toISOString(),
    },
  };
}

function matches(record: IncidentRecord, filter: IncidentFilter): boolean {
  const started = Date.parse(record.startedAt!);
  return (
    (!filter.statuses?.length || filter.statuses.includes(record.status)) &&
    (!filter.severities?.length || filter.severities.includes(record.severity)) &&
    (filter.service === undefined || Object.hasOwn(record.services, filter.service)) &&
    (filter.open === undefined || filter.open === !['RESOLVED', 'CLOSED'].includes(record.status)) &&
    (filter.declaredFrom === undefined || started >= Date.parse(filter.declaredFrom)) &&
    (filter.declaredTo === undefined || started < Date.parse(filter.declaredTo)) &&
    (!filter.titleContains || record.title.toLowerCase().includes(filter.titleContains.toLowerCase()))
  );
}

function bySort(sort: IncidentSort): (a: IncidentRecord, b: IncidentRecord) => number {
  const key = (record: IncidentRecord) =>
    Date.parse(sort.startsWith('DECLARED') ? record.startedAt! : record.lastUpdatedAt);
  const direction = sort.endsWith('DESC') ? -1 : 1;
  return (a, b) => direction * (key(a) - key(b) || (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0));
}

describe("the read models' file in a data directory", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'read-models-file-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('is read-models.db in it, whatever the directory is called', () => {
    const dataDir = join(dir, 'ledger.db');
    mkdirSync(dataDir);

    const readModels = openReadModels(dataDir);
    readModels.close();

    expect(readModels.file).toBe(join(dataDir, 'read-models.db'));
    // The internal timeline is in it: readable by its owner only.
    expect(statSync(readModels.file).mode & 0o777).toBe(0o600);
  });

  test('an event the ledger never writes stops the projection with its position, stream and version', async () => {
    const store = SqliteEventStore.open(join(dir, 'changed', 'events.db'));
    const incidentId = randomUUID();
    await execute(store, incidentId, declareCommand(incidentId, 10, 'Search is slow'));
    // Changed outside the ledger: a declaration without its services.
    const raw = new Database(join(dir, 'changed', 'events.db'));
    raw.prepare("UPDATE events SET data = json_remove(data, '$.services')").run();
    raw.close();
    // An older release's read models: a rebuild that fails must not have emptied them either.
    const older = openReadModels(join(dir, 'changed'));
    older.db.pragma('user_version = 5');
    older.close();
    const before = readFileSync(join(dir, 'changed', READ_MODELS_FILE));

    await expect(rebuild(store, join(dir, 'changed'))).rejects.toMatchObject({
      name: 'UnprojectableEventError',
      message: expect.stringMatching(
        new RegExp(
          `^The IncidentDeclared at position 1 \\(stream incident-${incidentId}, version 1\\) does not project: `,
        ),
      ),
    });
    // The read models are as they were, and the new file it was writing is gone.
    expect(readFileSync(join(dir, 'changed', READ_MODELS_FILE))).toEqual(before);
    expect(readdirSync(join(dir, 'changed')).filter((name) => name.startsWith(READ_MODELS_FILE))).toEqual([
      READ_MODELS_FILE,
    ]);
    await store.close();
  });

  test('is damaged when SQLite cannot read it; missing or sound, it is not', () => {
    const dataDir = join(dir, 'damaged');
    expect(readModelsDamaged(dataDir)).toBe(false);
    openReadModels(dataDir).close();
    expect(readModelsDamaged(dataDir)).toBe(false);

    writeFileSync(join(dataDir, 'read-models.db'), 'not a database '.repeat(1000));

    expect(readModelsDamaged(dataDir)).toBe(true);
  });

  test('is deleted with its -wal and -shm files, and nothing else', () => {
    const dataDir = join(dir, 'deleted');
    mkdirSync(dataDir);
    for (const file of [
      'events.db',
      'events.db-wal',
      'read-models.db',
      'read-models.db-wal',
      'read-models.db-shm',
    ]) {
      writeFileSync(join(dataDir, file), '');
    }

    deleteReadModels(dataDir);

    expect(readdirSync(dataDir)).toEqual(['events.db', 'events.db-wal']);
  });
});
