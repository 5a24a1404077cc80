import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { EVENTS_FILE } from '../../libs/audit/bundle.js';
import { tamper } from '../../libs/audit/testing/ledger-file.js';
import { SqliteEventStore } from '../../libs/event-store/sqlite/sqlite-event-store.js';
import { openReadModels, rebuild } from '../../libs/read-models/index.js';
import { registerProjector } from '../../libs/read-models/read-model-db.js';
import { compileForChildProcess } from '../../libs/event-store/testing/compile-for-child-process.js';
import { generateHistory, type GeneratedHistory } from '../../libs/read-models/testing/history.js';
import { allRows } from '../../libs/read-models/testing/read-model-answers.js';

describe('the operator CLI', () => {
  let dir: string;
  let dataDir: string;
  let cli: string;
  let history: GeneratedHistory;
  let head: bigint;

  /** Runs the compiled CLI on the temporary data dir. */
  function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    return runIn(dataDir, ...args);
  }

  function runIn(
    ledgerDataDir: string,
    ...args: string[]
  ): { status: number | null; stdout: string; stderr: string } {
    return spawnSync(process.execPath, [cli, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, LEDGER_DATA_DIR: ledgerDataDir },
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cli-'));
    dataDir = join(dir, 'data');
    compileForChildProcess(['apps/cli/main.ts'], join(dir, 'build'));
    cli = join(dir, 'build/apps/cli/main.js');
    const store = SqliteEventStore.open(join(dataDir, 'events.db'));
    history = await generateHistory(store, { seed: 5, events: 600 });
    head = (await store.headPosition())!;
    await store.close();
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('--help explains the commands and the API server caveat', () => {
    const { status, stdout } = run('--help');

    expect(status).toBe(0);
    for (const text of [
      'rebuild',
      'status',
      'replay <incidentId>',
      'verify ',
      'export (--incident <id> | --all) --out <dir>',
      'verify-bundle <dir>',
      'Stop the API server',
      'LEDGER_DATA_DIR',
    ]) {
      expect(stdout).toContain(text);
    }
  });

  test.each([
    '',
    'frobnicate',
    'replay',
    'replay a b',
    'status now',
    'rebuild --fast',
    'verify all',
    'export',
    'export --all',
    'export --all --incident x --out b',
    'export --out',
    'verify-bundle',
  ])('usage errors exit with 2: "%s"', (line) => {
    const { status, stderr } = run(...line.split(' ').filter((arg) => arg !== ''));

    expect(status).toBe(2);
    expect(stderr).toContain('Usage: npm run cli');
  });

  test('a bad configuration exits with 2 and names the setting', () => {
    const result = spawnSync(process.execPath, [cli, 'status'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, EVENTSTORE_URL: 'http://nowhere' },
    });

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('EVENTSTORE_URL');
  });

  test('a data dir without an event store is refused, and left without one', () => {
    const mistyped = join(dir, 'dta');

    const result = runIn(mistyped, 'status');

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('LEDGER_DATA_DIR holds no event store');
    expect(existsSync(mistyped)).toBe(false);
  });

  test('status, rebuild with a progress bar, status again', async () => {
    const before = run('status');
    expect(before.status).toBe(0);
    expect(before.stdout).toMatch(new RegExp(`Checkpoint: +none.*\\nHead: +${head}\\nLag: +${head}\\n`));

    const rebuilt = run('rebuild');

    expect(rebuilt.status).toBe(0);
    expect(rebuilt.stderr).toMatch(new RegExp(`\\[#{30}\\] ${head}/${head} events  \\d+ events/s  0 s left`));
    expect(rebuilt.stdout).toMatch(
      new RegExp(`Rebuilt the read models from ${head} events in .*checkpoint ${head}\\.`),
    );
    expect(run('status').stdout).toMatch(new RegExp(`Checkpoint: +${head}\\nHead: +${head}\\nLag: +0\\n`));
    // The same read models as a rebuild in this process.
    const store = SqliteEventStore.open(join(dataDir, 'events.db'));
    const expected = openReadModels(join(dir, 'expected.db'));
    await rebuild(store, expected.db);
    const actual = openReadModels(dataDir);
    expect(allRows(actual.db)).toEqual(allRows(expected.db));
    for (const readModels of [actual, expected]) readModels.close();
    await store.close();
  });

  test('rebuild refuses while another live process projects into the data dir, unless forced', () => {
    const readModels = openReadModels(dataDir);
    registerProjector(readModels.db); // as the API server's runner does: this test process is alive

    const refused = run('rebuild');
    const forced = run('rebuild', '--force');

    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`Process ${process.pid} (the API server?) is projecting into`);
    expect(run('status').stdout).toContain(`Projector:   process ${process.pid}`);
    expect(forced.status).toBe(0);
    readModels.close();
  });

  test('replay prints the history in the words and order of the timeline read model', () => {
    const [incidentId] = history.incidentIds;
    const readModels = openReadModels(dataDir);
    const timeline = readModels.queries.timeline(incidentId, 'ALL');
    readModels.close();

    const { status, stdout } = run('replay', incidentId);

    expect(status).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Incident ${incidentId}: ${timeline.length} events`);
    expect(lines).toHaveLength(timeline.length + 1);
    timeline.forEach((entry, i) => {
      const line = lines[i + 1];
      expect(line.startsWith(`${entry.occurredAt}  #${entry.version} `)).toBe(true);
      expect(line).toContain(` ${entry.visibility} `);
      expect(line).toContain(`${entry.actor}: ${entry.description}`);
      expect(line.endsWith(`[backdated: recorded ${entry.recordedAt}]`)).toBe(entry.backdated);
    });

    const unknown = run('replay', 'no-such-incident');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('No incident no-such-incident in the event store.');
  });

  describe('audit', () => {
    test('verify passes an untouched store and names the first broken link of a tampered copy', async () => {
      const untouched = run('verify');
      expect(untouched.status).toBe(0);
      expect(untouched.stdout).toContain(`OK: ${head} events in `);
      expect(untouched.stdout).toContain('every hash chain holds');

      const copy = join(dir, 'tampered');
      cpSync(dataDir, copy, { recursive: true });
      const [incidentId] = history.incidentIds;
      const victim = `incident-${incidentId}`;
      const store = SqliteEventStore.open(join(copy, 'events.db'));
      const position = (await store.readStream(victim))[1].globalPosition;
      await store.close();
      tamper(join(copy, 'events.db'), (db) =>
        db
          .prepare("UPDATE events SET actor = 'someone else' WHERE stream_id = ? AND stream_version = 2")
          .run(victim),
      );
      const broken = runIn(copy, 'verify');

      expect(broken.status).toBe(1);
      expect(broken.stdout).toContain(`BROKEN: stream ${victim}, version 2 (position ${position})`);
      expect(broken.stdout).toMatch(/expected hash [0-9a-f]{64}\n {2}found hash {4}[0-9a-f]{64}\n/);
    });

    test('an exported bundle verifies with no database, and fails after a one-byte change', () => {
      const [incidentId] = history.incidentIds;
      const bundle = join(dir, 'bundle-one');

      const exported = run('export', '--incident', incidentId, '--out', bundle);
      expect(exported.status).toBe(0);
      expect(exported.stdout).toMatch(/Exported \d+ events of 1 streams to .*\nDigest: [0-9a-f]{64}\n/);
      // No LEDGER_DATA_DIR that exists: verify-bundle must not need one.
      const verified = runIn(join(dir, 'nowhere'), 'verify-bundle', bundle);
      expect(verified.status).toBe(0);
      expect(verified.stdout).toContain(`OK: bundle ${bundle} holds`);

      const events = join(bundle, EVENTS_FILE);
      const bytes = readFileSync(events);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      writeFileSync(events, bytes);
      const changed = runIn(join(dir, 'nowhere'), 'verify-bundle', bundle);
      expect(changed.status).toBe(1);
      expect(changed.stdout).toContain(`INVALID bundle ${bundle}: ${EVENTS_FILE}`);
    });

    test('export --all holds every stream of the store', () => {
      const bundle = join(dir, 'bundle-all');

      const exported = run('export', '--all', '--out', bundle);

      expect(exported.status).toBe(0);
      expect(exported.stdout).toContain(`Exported ${head} events of `);
      expect(run('verify-bundle', bundle).status).toBe(0);
    });
  });
});
