import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initialIncidentState, type IncidentCommand, type IncidentState } from '../libs/domain/index.js';
import { SqliteEventStore } from '../libs/event-store/sqlite/sqlite-event-store.js';
import {
  openReadModels,
  ProjectionRunner,
  rebuild,
  type IncidentFilter,
  type IncidentSort,
  type ReadModels,
} from '../libs/read-models/index.js';
import { percentiles, stepProgress } from './bench-tools.js';
import { executeCommand, generateHistory, seededRandom } from '../libs/read-models/testing/history.js';

const HISTORY_EVENTS = 50_000;
const INCIDENTS = 100_000;
const LONG_INCIDENT_EVENTS = 1_000;
const QUERY_RUNS = 300;
const LOAD_PER_SECOND = 500;
const LOAD_SECONDS = 10;

type Report = (line: string) => void;

/**
 * Issue 3: the read side.
 *  (a) rebuild events/s beside reading + JSON-parsing the same events with plain better-sqlite3;
 *  (b) query latency: `timeline` of a 1,000-event incident and `incidents(first: 50)` among
 *      100,000 incidents;
 *  (c) command → visible-in-read-model latency under a steady load, the runner live in-process.
 */
export async function benchReadModels(report: Report): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-read-models-'));
  try {
    return {
      ...(await benchRebuild(join(dir, 'history'), report)),
      ...(await benchQueriesAndLatency(join(dir, 'large'), report)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchRebuild(dir: string, report: Report): Promise<Record<string, number>> {
  const store = SqliteEventStore.open(join(dir, 'events.db'));
  const progress = stepProgress('writing the history');
  const history = await generateHistory(store, { seed: 1, events: HISTORY_EVENTS, openIncidents: 200 });
  progress.done();
  const events = Number(await store.headPosition());
  report(`History: ${events} events across ${history.incidentIds.length} incidents, written with decide.`);

  // Best of five each, the machine being noisy: the first pass of each also warms the page cache.
  const raw = Math.max(
    ...[1, 2, 3, 4, 5].map(() => rate(events, () => readAndParse(join(dir, 'events.db')))),
  );
  let rebuilt = 0;
  for (let run = 1; run <= 5; run++) {
    const started = performance.now();
    await rebuild(store, join(dir, `rebuilt-${run}`));
    rebuilt = Math.max(rebuilt, events / ((performance.now() - started) / 1000));
  }
  await store.close();

  report('');
  report('| pass (best of 5) | events/s |');
  report('| --- | ---: |');
  report(`| raw: read + JSON.parse every event (better-sqlite3, pages of 5,000) | ${Math.round(raw)} |`);
  report(
    `| rebuild: replay into new read models, build indexes, commit, put in place | ${Math.round(rebuilt)} |`,
  );
  report(`| rebuild / raw | ${Math.round((rebuilt / raw) * 100)}% |`);
  return {
    historyEvents: events,
    rawReadEventsPerSecond: raw,
    rebuildEventsPerSecond: rebuilt,
    rebuildRatio: rebuilt / raw,
  };
}

/** What a rebuild cannot do faster than: read every event in order and parse its data. */
function readAndParse(file: string): void {
  const db = new Database(file, { readonly: true });
  const page = db.prepare(
    'SELECT * FROM events WHERE global_position > ? ORDER BY global_position LIMIT 5000',
  );
  let position = 0;
  for (;;) {
    const rows = page.all(position) as Array<{ global_position: number; data: string }>;
    if (rows.length === 0) break;
    for (const row of rows) JSON.parse(row.data);
    position = rows[rows.length - 1].global_position;
  }
  db.close();
}

async function benchQueriesAndLatency(dir: string, report: Report): Promise<Record<string, number>> {
  const store = SqliteEventStore.open(join(dir, 'events.db'));
  await declareIncidents(store, INCIDENTS);
  const long = await generateHistory(store, {
    seed: 2,
    events: LONG_INCIDENT_EVENTS,
    openIncidents: 1,
    resolve: false,
  });
  const started = performance.now();
  const { events } = await rebuild(store, dir);
  const readModels = openReadModels(dir);
  report('');
  report(
    `${INCIDENTS} declared incidents and one of ${long.events} events: ${events} events, ` +
      `rebuilt in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  );

  const figures: Record<string, number> = {};
  const measure = (name: string, query: () => unknown) => {
    for (let i = 0; i < 20; i++) query(); // warm-up
    const { p50, p99 } = percentiles(Array.from({ length: QUERY_RUNS }, () => time(query)));
    report(`| ${name} | ${p50.toFixed(2)} | ${p99.toFixed(2)} |`);
    return { p50, p99 };
  };
  const [incidentId] = long.incidentIds;
  const { queries } = readModels;
  report('');
  report(`| query (${QUERY_RUNS} runs each) | p50 ms | p99 ms |`);
  report('| --- | ---: | ---: |');
  const timelineAll = measure(`timeline(ALL), ${long.events} events`, () =>
    queries.timeline(incidentId, 'ALL'),
  );
  measure(`timeline(PUBLIC), same incident`, () => queries.timeline(incidentId, 'PUBLIC'));
  const page = (filter: IncidentFilter, sort: IncidentSort) => () => queries.incidents(filter, sort, 50);
  const firstPage = measure('incidents(first: 50), no filter, DECLARED_DESC', page({}, 'DECLARED_DESC'));
  const deep = queries.incidents({}, 'DECLARED_DESC', 100, cursorAfter(queries, 50_000));
  measure('incidents(first: 50, after: the 50,000th), DECLARED_DESC', () =>
    queries.incidents({}, 'DECLARED_DESC', 50, deep.edges.at(-1)!.cursor),
  );
  measure('incidents(first: 50), open, UPDATED_DESC', page({ open: true }, 'UPDATED_DESC'));
  measure(
    'incidents(first: 50), SEV1, service "payments"',
    page({ severities: ['SEV1'], service: 'payments' }, 'DECLARED_DESC'),
  );
  measure(
    'incidents(first: 50), title contains "latency" (a scan)',
    page({ titleContains: 'latency' }, 'DECLARED_DESC'),
  );
  Object.assign(figures, {
    timelineP50Ms: timelineAll.p50,
    timelineP99Ms: timelineAll.p99,
    incidentsFirst50P50Ms: firstPage.p50,
    incidentsFirst50P99Ms: firstPage.p99,
  });

  Object.assign(figures, await benchVisibility(store, readModels, report));
  readModels.close();
  await store.close();
  return figures;
}

/** The cursor `offset` incidents into DECLARED_DESC, walked to in pages of 100. */
function cursorAfter(queries: ReadModels['queries'], offset: number): string {
  let after: string | undefined;
  for (let seen = 0; seen < offset; seen += 100)
    after = queries.incidents({}, 'DECLARED_DESC', 100, after).edges.at(-1)!.cursor;
  return after!;
}

/**
 * A steady LOAD_PER_SECOND status updates, each on an incident not busy with the previous one,
 * with the runner following live: the time from sending the command to its append being
 * acknowledged, and to waitForPosition resolving (visible in the read models).
 */
async function benchVisibility(
  store: SqliteEventStore,
  readModels: ReadModels,
  report: Report,
): Promise<Record<string, number>> {
  const runner = new ProjectionRunner(store, readModels.db);
  runner.start();
  const pool = new Map<string, IncidentState>();
  for (const { incidentId, state } of await declareIncidents(store, 500)) pool.set(incidentId, state);
  await runner.waitForPosition((await store.headPosition())!, 10_000);
  const idle = [...pool.keys()];
  const random = seededRandom(3);
  const acked: number[] = [];
  const visible: number[] = [];
  const progress = stepProgress('steady load');
  const send = async () => {
    const incidentId = idle.splice(Math.floor(random() * idle.length), 1)[0];
    if (incidentId === undefined) return;
    const now = new Date().toISOString();
    const command: IncidentCommand = {
      type: 'PostStatusUpdate',
      data: {
        status: random() < 0.5 ? 'IDENTIFIED' : 'MONITORING',
        message: 'We have identified the cause and are rolling out a fix.',
        channels: ['EMAIL', 'WEBSITE'],
        visibility: 'PUBLIC',
        nextUpdateInMinutes: 30,
      },
      metadata: { actor: 'bench', now, occurredAt: now },
    };
    const sent = performance.now();
    const { state, position } = await executeCommand(store, incidentId, command, pool.get(incidentId)!);
    acked.push(performance.now() - sent);
    await runner.waitForPosition(position, 10_000);
    visible.push(performance.now() - sent);
    pool.set(incidentId, state);
    idle.push(incidentId);
  };
  // Every 10 ms, the commands due by then.
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  for (let sent = 0; sent < LOAD_PER_SECOND * LOAD_SECONDS;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const due = Math.min(
      Math.floor(((performance.now() - started) / 1000) * LOAD_PER_SECOND),
      LOAD_PER_SECOND * LOAD_SECONDS,
    );
    for (; sent < due; sent++) inFlight.push(send());
    progress.update(sent / (LOAD_PER_SECOND * LOAD_SECONDS));
  }
  await Promise.all(inFlight);
  progress.done();
  await runner.stop();

  const ack = percentiles(acked);
  const seen = percentiles(visible);
  report('');
  report(
    `Steady load: ${visible.length} status updates at ${LOAD_PER_SECOND}/s for ${LOAD_SECONDS} s, runner live in the same process.`,
  );
  report('');
  report('| command → … | p50 ms | p99 ms |');
  report('| --- | ---: | ---: |');
  report(`| append acknowledged | ${ack.p50.toFixed(2)} | ${ack.p99.toFixed(2)} |`);
  report(
    `| visible in the read models (waitForPosition resolved) | ${seen.p50.toFixed(2)} | ${seen.p99.toFixed(2)} |`,
  );
  return { ackP50Ms: ack.p50, ackP99Ms: ack.p99, visibleP50Ms: seen.p50, visibleP99Ms: seen.p99 };
}

/** Declares `count` incidents through decide, 1,000 concurrent appends at a time (group commit). */
async function declareIncidents(
  store: SqliteEventStore,
  count: number,
): Promise<Array<{ incidentId: string; state: IncidentState }>> {
  const random = seededRandom(count);
  const services = ['api', 'web', 'checkout', 'search', 'payments', 'auth'];
  const words = ['Elevated', 'errors', 'latency', 'checkout', 'login', 'timeouts', 'EU', 'US'];
  const progress = stepProgress(`declaring ${count} incidents`);
  const declared: Array<{ incidentId: string; state: IncidentState }> = [];
  for (let i = 0; i < count; i += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, count - i) }, async () => {
      const incidentId = randomUUID();
      // Spread over the last 90 days, as a long-lived installation would hold them.
      const occurredAt = new Date(Date.now() - random() * 90 * 86_400_000).toISOString();
      const command: IncidentCommand = {
        type: 'DeclareIncident',
        data: {
          incidentId,
          title: `${words[Math.floor(random() * words.length)]} ${words[Math.floor(random() * words.length)]}`,
          severity: (['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const)[Math.floor(random() * 4)],
          services: [services[Math.floor(random() * services.length)]],
        },
        metadata: { actor: 'bench', now: new Date().toISOString(), occurredAt },
      };
      const { state } = await executeCommand(store, incidentId, command, initialIncidentState());
      declared.push({ incidentId, state });
    });
    await Promise.all(batch);
    progress.update((i + 1_000) / count);
  }
  progress.done();
  return declared;
}

function rate(events: number, run: () => void): number {
  const started = performance.now();
  run();
  return events / ((performance.now() - started) / 1000);
}

function time(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}
