import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decide,
  evolve,
  incidentStreamId,
  initialIncidentState,
  type Channel,
  type IncidentCommand,
} from '../libs/domain/index.js';
import type { NewEvent } from '../libs/event-store/index.js';
import { SqliteEventStore } from '../libs/event-store/sqlite/sqlite-event-store.js';
import { openReadModels, rebuild } from '../libs/read-models/index.js';
import { newEvent, seededRandom } from '../libs/read-models/testing/history.js';
import { percentiles, stepProgress } from './bench-tools.js';

const INCIDENTS = 100_000;
/** The newest incidents stay open, so that overdue updates exist. */
const OPEN_INCIDENTS = 200;
/** Incidents started over two years, the newest now. */
const SPAN_MS = 2 * 365 * 86_400_000;
const APPENDS_IN_FLIGHT = 64;
const RUNS = 30;

type Report = (line: string) => void;

/**
 * Issue 4: the accountability queries over 100,000 stored incidents, each with a realistic
 * history made by the domain's decide (acknowledged, updated on a cadence, estimated, mitigated,
 * resolved; root causes, preventive measures, compensation and feedback for many), rebuilt into
 * the read models; then p50/p99 of each query.
 */
export async function benchAccountability(report: Report): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-accountability-'));
  try {
    const store = SqliteEventStore.open(join(dir, 'events.db'));
    const events = await writeIncidents(store);
    const rebuilding = stepProgress('rebuilding the read models');
    const started = performance.now();
    await rebuild(store, dir, {
      onProgress: ({ position, head }) => rebuilding.update(Number(position ?? 0n) / Number(head ?? 1n)),
    });
    rebuilding.done();
    const readModels = openReadModels(dir);
    report(
      `${INCIDENTS} incidents (${OPEN_INCIDENTS} open), ${events} events, ` +
        `rebuilt in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
    );

    const { accountability } = readModels;
    const now = new Date().toISOString();
    const figures: Record<string, number> = {};
    const measure = (name: string, figure: string, query: () => unknown) => {
      for (let i = 0; i < 3; i++) query(); // warm-up
      const samples = Array.from({ length: RUNS }, () => {
        const begun = performance.now();
        query();
        return performance.now() - begun;
      });
      const { p50, p99 } = percentiles(samples);
      report(`| ${name} | ${p50.toFixed(2)} | ${p99.toFixed(2)} |`);
      figures[`${figure}P50Ms`] = p50;
      figures[`${figure}P99Ms`] = p99;
    };
    const anIncident = readModels.queries.incidents({}, 'DECLARED_DESC', 1).edges[0].node.id!;
    report('');
    report(`| query (${RUNS} runs each) | p50 ms | p99 ms |`);
    report('| --- | ---: | ---: |');
    for (const groupBy of ['NONE', 'SEVERITY', 'MONTH'] as const) {
      measure(`incidentMetrics(groupBy: ${groupBy}), all incidents`, `metrics${groupBy}`, () =>
        accountability.incidentMetrics({ groupBy }, now),
      );
    }
    const lastQuarter = new Date(Date.now() - 90 * 86_400_000).toISOString();
    measure('incidentMetrics(groupBy: SEVERITY, from: 90 days ago)', 'metricsQuarter', () =>
      accountability.incidentMetrics({ groupBy: 'SEVERITY', from: lastQuarter }, now),
    );
    measure('communicationCompliance(incident)', 'compliance', () =>
      accountability.communicationCompliance(anIncident, now),
    );
    measure('overdueUpdates', 'overdueUpdates', () => accountability.overdueUpdates(now));
    measure('preventiveMeasures(overdue: true, first: 100)', 'overdueMeasures', () =>
      accountability.preventiveMeasures({ overdue: true }, now, 100),
    );
    measure('preventiveMeasures(owner: "alice", first: 100)', 'ownerMeasures', () =>
      accountability.preventiveMeasures({ owner: 'alice' }, now, 100),
    );
    readModels.close();
    await store.close();
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Appends every incident's whole history as one append, many in flight (group commit). */
async function writeIncidents(store: SqliteEventStore): Promise<number> {
  const random = seededRandom(4);
  const progress = stepProgress(`writing ${INCIDENTS} incidents`);
  const newest = Date.now() - 6 * 3_600_000;
  let events = 0;
  for (let first = 0; first < INCIDENTS; first += APPENDS_IN_FLIGHT) {
    const batch = Array.from({ length: Math.min(APPENDS_IN_FLIGHT, INCIDENTS - first) }, (_, offset) => {
      const index = first + offset;
      const start = newest - SPAN_MS + Math.floor((index / INCIDENTS) * SPAN_MS);
      const envelopes = incidentHistory(index, start, index >= INCIDENTS - OPEN_INCIDENTS, random);
      events += envelopes.length;
      return store.appendToStream(incidentStreamId(idOf(index)), envelopes, 'no-stream');
    });
    await Promise.all(batch);
    progress.update(first / INCIDENTS);
  }
  progress.done();
  return events;
}

const SERVICES = ['api', 'web', 'checkout', 'search', 'payments', 'auth', 'email', 'mobile'];
const OWNERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const CATEGORIES = [
  'CHANGE_DEPLOY',
  'CONFIGURATION',
  'CAPACITY',
  'NETWORK',
  'DEPENDENCY_THIRD_PARTY',
] as const;
const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
const CHANNELS: Channel[] = ['EMAIL', 'SMS', 'WEBSITE'];

function idOf(index: number): string {
  return `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

/** One incident's events, decided by the domain; minutes after `start` vary with `random`. */
function incidentHistory(index: number, start: number, open: boolean, random: () => number): NewEvent[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const minutes = (offset: number) => new Date(start + offset * 60_000).toISOString();
  const now = new Date().toISOString();
  let state = initialIncidentState();
  const envelopes: NewEvent[] = [];
  const run = (at: number, type: IncidentCommand['type'], data: object) => {
    const occurredAt = minutes(at);
    const command = { type, data, metadata: { actor: pick(OWNERS), occurredAt, now } } as IncidentCommand;
    for (const event of decide(command, state)) {
      state = evolve(state, { ...event, occurredAt, actor: command.metadata.actor });
      envelopes.push(newEvent(event.type, event.data, occurredAt, command.metadata.actor));
    }
  };
  const services = [...new Set([pick(SERVICES), pick(SERVICES)])];
  run(0, 'DeclareIncident', {
    incidentId: idOf(index),
    title: `Incident ${index}`,
    severity: pick(SEVERITIES),
    services,
  });
  run(1 + random() * 10, 'AcknowledgeIncident', {});
  let at = 5 + random() * 20;
  for (let update = 0; update < 2 + Math.floor(random() * 4); update++) {
    const channels = random() < 0.8 ? CHANNELS : ['EMAIL' as const];
    run(at, 'PostStatusUpdate', {
      status: 'INVESTIGATING',
      message: 'Working on it',
      channels,
      visibility: 'PUBLIC',
    });
    if (update === 0)
      run(at, 'SetResolutionEstimate', { estimatedResolutionAt: minutes(at + 60), reason: 'First' });
    at += 15 + random() * 40;
  }
  if (open) return envelopes;
  run(at, 'MitigateIncident', {});
  at += random() * 30;
  run(at, 'ResolveIncident', { summary: 'Fixed' });
  if (random() < 0.5) {
    run(at + 60, 'IdentifyRootCause', {
      rootCauseId: `rc-${index}`,
      category: pick(CATEGORIES),
      description: 'A change without a canary',
      trigger: 'A deploy',
      detection: 'An alert',
    });
    run(at + 90, 'PlanPreventiveMeasure', {
      measureId: `m-${index}`,
      title: 'Add a canary',
      kind: 'PREVENT',
      owner: pick(OWNERS),
      dueDate: minutes(at + 90 + 14 * 24 * 60),
      priority: 'P2',
      rootCauseId: `rc-${index}`,
    });
    if (random() < 0.7)
      run(at + 120, 'CompletePreventiveMeasure', { measureId: `m-${index}`, evidence: 'ci' });
  }
  if (random() < 0.3)
    run(at + 150, 'GrantCompensation', {
      grantId: `g-${index}`,
      segment: 'ENTERPRISE',
      creditPercent: 10,
      justification: 'Goodwill',
    });
  if (random() < 0.3)
    run(at + 200, 'RecordCustomerFeedback', {
      feedbackId: `f-${index}`,
      rating: 1 + Math.floor(random() * 5),
      channel: 'EMAIL',
    });
  return envelopes;
}
