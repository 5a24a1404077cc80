import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { initialIncidentState, type IncidentCommand } from '../domain/index.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import {
  ConsistencyTimeoutError,
  openReadModels,
  ProjectionRunner,
  projectionStatus,
  rebuild,
  type ReadModels,
} from './index.js';
import { CheckpointMovedError } from '../feed-follower/local-db.js';
import { compileForChildProcess, repoRoot } from '../event-store/testing/compile-for-child-process.js';
import { executeCommand, generateHistory, newEvent, seededRandom } from './testing/history.js';
import { allAnswers, allRows } from './testing/read-model-answers.js';

describe('ProjectionRunner', () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: ReadModels;
  let runner: ProjectionRunner;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'projection-runner-'));
    store = SqliteEventStore.open(join(dir, 'events.db'));
    readModels = openReadModels(dir);
    runner = new ProjectionRunner(store, readModels.db);
  });

  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    await runner.stop();
    readModels.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function declare(incidentId = randomUUID()): Promise<{ incidentId: string; position: bigint }> {
    const now = new Date().toISOString();
    const command: IncidentCommand = {
      type: 'DeclareIncident',
      data: { incidentId, title: 'Checkout errors', severity: 'SEV2' },
      metadata: { actor: 'alice', now, occurredAt: now },
    };
    const { position } = await executeCommand(store, incidentId, command, initialIncidentState());
    return { incidentId, position };
  }

  test('waitForPosition resolves once the write is visible, and times out while the runner is stopped', async () => {
    runner.start();
    const head = (await store.headPosition()) ?? 0n;
    const waiting = runner.waitForPosition(head + 1n, 2_000);

    const { incidentId, position } = await declare();

    await expect(waiting).resolves.toBeUndefined();
    await expect(runner.waitForPosition(position, 2_000)).resolves.toBeUndefined();
    expect(readModels.queries.incident(incidentId)).toMatchObject({ title: 'Checkout errors' });
    expect(await runner.status()).toEqual({ checkpoint: position, head: position, lag: 0n });

    await runner.stop();
    const later = await declare();
    const started = Date.now();

    const timedOut = runner.waitForPosition(later.position, 300);

    await expect(timedOut).rejects.toBeInstanceOf(ConsistencyTimeoutError);
    await expect(timedOut).rejects.toMatchObject({ position: later.position, checkpoint: position });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(await runner.status()).toEqual({ checkpoint: position, head: later.position, lag: 1n });
    // Reached positions need no runner.
    await expect(runner.waitForPosition(position, 10)).resolves.toBeUndefined();

    runner.start();
    await expect(runner.waitForPosition(later.position, 2_000)).resolves.toBeUndefined();
    expect(readModels.queries.incident(later.incidentId)).not.toBeNull();
  });

  test('events of unknown types and other streams are passed over without harm', async () => {
    const errors: unknown[] = [];
    runner.onError((error) => errors.push(error));
    runner.start();
    const { incidentId } = await declare();
    const now = new Date().toISOString();
    await store.appendToStream(
      `incident-${incidentId}`,
      [newEvent('IncidentTaggedInTheFuture', {}, now, 'bob')],
      1,
    );
    const maintenanceId = randomUUID();
    const window = { windowStart: now, windowEnd: new Date(Date.parse(now) + 3_600_000).toISOString() };
    const scheduled = { maintenanceId, title: 'Upgrade', ...window, services: ['db'], advanceNotice: null };
    await store.appendToStream(
      `maintenance-${maintenanceId}`,
      [
        newEvent('MaintenanceScheduled', scheduled, now, 'bob'),
        newEvent('MaintenanceExtended', {}, now, 'bob'),
      ],
      0,
    );
    const { position } = await declare();

    await runner.waitForPosition(position, 2_000);

    expect(errors).toEqual([]);
    expect(readModels.queries.incident(incidentId)).toMatchObject({ version: 1 });
    expect(readModels.queries.timeline(incidentId, 'ALL').at(-1)).toMatchObject({
      type: 'IncidentTaggedInTheFuture',
      visibility: 'INTERNAL',
      description: 'IncidentTaggedInTheFuture (not described by this release)',
    });
    expect(readModels.queries.eventsOf([incidentId]).get(incidentId)).toHaveLength(2);
    // Maintenance streams have their own read model, which skips the types it does not know.
    expect(readModels.maintenances.maintenance(maintenanceId)).toMatchObject({
      status: 'SCHEDULED',
      version: 1,
    });
  });

  test('a batch that failed is applied once when a retry succeeds', async () => {
    const errors: unknown[] = [];
    runner = new ProjectionRunner(store, readModels.db, { retryDelayMs: 5 });
    runner.onError((error) => errors.push(error));
    runner.start();
    await runner.waitForPosition((await declare()).position, 2_000);
    // The disk refuses the timeline's rows: after the incidents have folded the batch in memory.
    const other = openReadModels(dir);
    other.db.exec(
      `CREATE TRIGGER refuse_timeline BEFORE INSERT ON timeline BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`,
    );

    const { incidentIds } = await generateHistory(store, { seed: 5, events: 300 });
    while (errors.length < 3) await sleep(5);
    other.db.exec('DROP TRIGGER refuse_timeline');
    other.close();
    await runner.waitForPosition((await store.headPosition())!, 5_000);

    expect(String(errors[0])).toContain('disk trouble');
    await rebuild(store, join(dir, 'rebuilt'));
    const rebuilt = openReadModels(join(dir, 'rebuilt'));
    const now = new Date().toISOString();
    expect(allAnswers(readModels, incidentIds, now)).toEqual(allAnswers(rebuilt, incidentIds, now));
    expect(allRows(readModels.db)).toEqual(allRows(rebuilt.db));
    rebuilt.close();
  }, 30_000);

  test('two runners on one file never apply an event twice', async () => {
    const other = openReadModels(dir);
    const rival = new ProjectionRunner(store, other.db, { batchSize: 7, retryDelayMs: 5 });
    const conflicts: unknown[] = [];
    for (const each of [runner, rival]) each.onError((error) => conflicts.push(error));
    runner.start();
    rival.start();

    const { incidentIds } = await generateHistory(store, { seed: 3, events: 1_500 });
    // The one that lost the last race learns of it only at the next event: wait for the file.
    while ((await runner.status()).lag > 0n) await sleep(10);
    await rival.stop();
    other.close();

    expect(conflicts.length).toBeGreaterThan(0);
    expect(conflicts.every((error) => error instanceof CheckpointMovedError)).toBe(true);
    await rebuild(store, join(dir, 'rebuilt'));
    const rebuilt = openReadModels(join(dir, 'rebuilt'));
    expect(allRows(readModels.db)).toEqual(allRows(rebuilt.db));
    expect(incidentIds.length).toBeGreaterThan(50);
    rebuilt.close();
  }, 30_000);

  test('a projector killed with SIGKILL at random moments ends with the read models of a clean rebuild', async () => {
    const build = join(dir, 'build');
    compileForChildProcess(
      ['libs/read-models/index.ts', 'libs/event-store/sqlite/sqlite-event-store.ts'],
      build,
    );
    readModels.close(); // the child processes own the file until the end
    const random = seededRandom(11);
    const lagsAtKill: bigint[] = [];
    const incidentIds: string[] = [];

    for (let round = 0; round < 6; round++) {
      const projector = startProjector(build, dir);
      await projector.started();
      // The log grows while the projector runs, so that it is killed both catching up and live.
      const writing = generateHistory(store, { seed: 100 + round, events: 800 });
      await sleep(random() * 300);
      projector.child.kill('SIGKILL');
      expect(await projector.exit).toMatchObject({ signal: 'SIGKILL', stderr: '' });
      const killed = openReadModels(dir);
      lagsAtKill.push((await projectionStatus(store, killed.db)).lag);
      killed.close();
      incidentIds.push(...(await writing).incidentIds);
    }
    const head = (await store.headPosition())!;
    const final = startProjector(build, dir);
    await final.reached(head);
    final.child.kill('SIGKILL');
    await final.exit;

    // Most kills came with work left to do.
    expect(lagsAtKill.filter((lag) => lag > 0n).length).toBeGreaterThanOrEqual(3);
    readModels = openReadModels(dir);
    await rebuild(store, join(dir, 'rebuilt'));
    const rebuilt = openReadModels(join(dir, 'rebuilt'));
    expect(allRows(readModels.db)).toEqual(allRows(rebuilt.db));
    const now = new Date().toISOString();
    expect(allAnswers(readModels, incidentIds, now)).toEqual(allAnswers(rebuilt, incidentIds, now));
    rebuilt.close();
  }, 120_000);
});

/** Every projector process started, killed after each test in case it failed half-way. */
const children: ChildProcessWithoutNullStreams[] = [];

interface Projector {
  child: ChildProcessWithoutNullStreams;
  /** Resolves once the child has read its checkpoint and starts following the log. */
  started(): Promise<void>;
  /** Resolves once the child has committed `position`. */
  reached(position: bigint): Promise<void>;
  exit: Promise<{ signal: NodeJS.Signals | null; stderr: string }>;
}

/** Runs testing/project-forever.mjs (a ProjectionRunner with batches of 20) on the data dir. */
function startProjector(build: string, dataDir: string): Projector {
  const driver = join(repoRoot, 'libs/read-models/testing/project-forever.mjs');
  const child = spawn(process.execPath, [driver, build, dataDir, '20']);
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (_, signal) => resolve({ signal, stderr })),
  );
  const checkpoints = () =>
    stdout
      .split('\n')
      .filter((line) => line !== '')
      .map(BigInt);
  const until = async (done: () => boolean) => {
    while (!done()) {
      if (child.exitCode !== null) throw new Error(`the projector exited with ${child.exitCode}:\n${stderr}`);
      await sleep(5);
    }
  };
  return {
    child,
    started: () => until(() => checkpoints().length > 0),
    reached: (position) => until(() => checkpoints().at(-1) === position),
    exit,
  };
}
