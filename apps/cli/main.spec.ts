import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { EVENTS_FILE, MANIFEST_FILE, type BundleManifest } from '../../libs/audit/bundle.js';
import { bundleEvents, resealBundle } from '../../libs/audit/testing/forged-bundle.js';
import { insertRow, renumberPositions, seedStreams, tamper } from '../../libs/audit/testing/ledger-file.js';
import { chainHash, GENESIS_HASH, type StoredEvent } from '../../libs/event-store/index.js';
import { newEvent } from '../../libs/event-store/testing/event-store.contract.js';
import { SqliteEventStore } from '../../libs/event-store/sqlite/sqlite-event-store.js';
import { openReadModels, READ_MODELS_SCHEMA_VERSION, rebuild } from '../../libs/read-models/index.js';
import { DataDirLock } from '../../libs/data-dir/data-dir-lock.js';
import { compileForChildProcess } from '../../libs/event-store/testing/compile-for-child-process.js';
import { closedPort } from '../../test/support/server-process.js';
import {
  executeCommand,
  generateHistory,
  loadIncident,
  type GeneratedHistory,
} from '../../libs/read-models/testing/history.js';
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
      '.<name>.partial-<host>-<pid>-XXXXXX',
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
    expect(stderr).toContain('Usage: npm run --silent cli');
  });

  test.each([
    [['replay', 'not-a-uuid'], 'incidentId must be a UUID'],
    [['replay', ''], 'incidentId must be a UUID'],
    [['export', '--incident', 'not-a-uuid', '--out', 'b'], '--incident must be a UUID'],
    [
      ['export', '--incident', randomUUID(), '--incident', randomUUID(), '--out', 'b'],
      'export takes --incident once',
    ],
    [['export', '--all', '--out', 'b6', '--out', 'b7'], 'export takes --out once'],
    [['verify', 'all'], 'verify does not take all'],
    [['verify', '--all'], 'verify does not take --all'],
    [['verify', '--against'], '--against needs a value'],
    [['verify', '--against', '--digest', 'a'.repeat(64)], '--against needs a value'],
    [['verify', '--against', 'apps', '--against', 'libs'], 'verify takes --against once'],
    [
      ['verify', '--digest', 'a'.repeat(64)],
      "verify takes --digest with --against <bundle-dir> only: it is that bundle's recorded digest",
    ],
    [
      ['verify', '--against', 'no-such-bundle'],
      'no-such-bundle is not a directory: a bundle is the directory that export wrote',
    ],
    [
      ['verify', '--against', 'package.json'],
      'package.json is not a directory: a bundle is the directory that export wrote',
    ],
    [
      ['verify', '--against', 'apps'],
      'apps is no audit bundle: it holds neither manifest.json nor events.jsonl',
    ],
    [['verify-bundle', 'apps'], 'apps is no audit bundle: it holds neither manifest.json nor events.jsonl'],
    [['verify-bundle', 'apps', 'libs'], 'verify-bundle takes one bundle directory'],
    [['verify-bundle', 'apps', '--digest'], '--digest needs a value'],
    ...['abc', 'g'.repeat(64), 'a'.repeat(65)].map((digest) => [
      ['verify-bundle', 'apps', '--digest', digest],
      '--digest must be a SHA-256 in hex (64 digits), as export printed it',
    ]),
  ])('usage errors exit with 2 and say why: %j', (args, message) => {
    const { status, stderr } = run(...args);

    expect(status).toBe(2);
    expect(stderr).toContain(`${message}\n\nUsage: npm run --silent cli`);
  });

  test('a bad configuration exits with 2 and names the setting', () => {
    const result = spawnSync(process.execPath, [cli, 'status'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, EVENTSTORE_URL: 'http://nowhere' },
    });

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('EVENTSTORE_URL');
  });

  test('a KurrentDB server that does not answer is named, without the credentials', async () => {
    const port = await closedPort();
    const result = spawnSync(process.execPath, [cli, 'status'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, EVENTSTORE_URL: `kurrentdb://admin:s3cret@127.0.0.1:${port}?tls=false` },
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `Failed: the KurrentDB server of EVENTSTORE_URL (kurrentdb://***@127.0.0.1:${port}?tls=false) does not answer`,
    );
    expect(result.stderr).not.toContain('s3cret');
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
    // Not a terminal: a line a second while replaying, and a line for each phase after it.
    const bar = `\\[#{30}\\] ${head}/${head} events`;
    expect(rebuilt.stderr).toMatch(
      new RegExp(
        `${bar}  \\d+ events/s  0 s left\\n${bar}  building indexes and committing…\\n${bar}  done\\n$`,
      ),
    );
    expect(rebuilt.stdout).toMatch(
      new RegExp(`Rebuilt the read models from ${head} events in .*checkpoint ${head}\\.`),
    );
    expect(run('status').stdout).toMatch(new RegExp(`Checkpoint: +${head}\\nHead: +${head}\\nLag: +0\\n`));
    // The same read models as a rebuild in this process.
    const store = SqliteEventStore.open(join(dataDir, 'events.db'));
    await rebuild(store, join(dir, 'expected'));
    const expected = openReadModels(join(dir, 'expected'));
    const actual = openReadModels(dataDir);
    expect(allRows(actual.db)).toEqual(allRows(expected.db));
    for (const readModels of [actual, expected]) readModels.close();
    await store.close();
  });

  test('rebuild says so when the event store is empty, instead of a bar of 0/0', () => {
    const empty = join(dir, 'empty');
    SqliteEventStore.open(join(empty, 'events.db')).close();

    const rebuilt = runIn(empty, 'rebuild');

    expect(rebuilt.status).toBe(0);
    expect(rebuilt.stderr).toBe(
      'no events to replay (the event store is empty)  building indexes and committing…\n' +
        'no events to replay (the event store is empty)  done\n',
    );
    expect(rebuilt.stdout).toContain('Rebuilt the read models from 0 events in ');
    expect(rebuilt.stdout).toContain('checkpoint none.');
  });

  test('a data dir whose name ends in .db is a directory like any other', () => {
    const named = join(dir, 'ledger.db');
    cpSync(join(dataDir, 'events.db'), join(named, 'events.db'));

    expect(runIn(named, 'rebuild').status).toBe(0);
    const status = runIn(named, 'status');

    expect(status.status).toBe(0);
    expect(status.stdout).toContain(`Read models: ${join(named, 'read-models.db')}\nCheckpoint:  ${head}\n`);
  });

  describe('a read-models.db that cannot be used', () => {
    /** A copy of the data dir whose read-models.db `spoil` changed, and the bytes of its events.db. */
    function spoiled(name: string, spoil: (file: string) => void): { copy: string; events: Buffer } {
      const copy = join(dir, name);
      cpSync(dataDir, copy, { recursive: true });
      spoil(join(copy, 'read-models.db'));
      return { copy, events: readFileSync(join(copy, 'events.db')) };
    }

    test('of a newer release: rebuild and status name the file and say what to do', () => {
      const { copy } = spoiled('newer', (file) => {
        const db = new Database(file);
        db.pragma('user_version = 99');
        db.close();
      });

      for (const command of ['rebuild', 'status']) {
        const result = runIn(copy, command);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`${join(copy, 'read-models.db')} has schema version 99`);
        expect(result.stderr).toContain(
          'a newer release wrote it. Use that release; or, to go back to this one, delete',
        );
        expect(result.stderr).toContain('and run rebuild');
      }
    });

    test("status only looks: an older release's file is neither migrated nor emptied, a missing one not created", () => {
      const older = READ_MODELS_SCHEMA_VERSION - 1;
      let timelineRows: unknown;
      const { copy } = spoiled('older', (file) => {
        const db = new Database(file);
        db.pragma(`user_version = ${older}`);
        timelineRows = db.prepare('SELECT count(*) AS rows FROM timeline').get();
        db.close();
      });

      const status = runIn(copy, 'status');

      expect(status.stderr).toBe('');
      expect(status.status).toBe(0);
      expect(status.stdout).toContain(
        `Read models: ${join(copy, 'read-models.db')}\nSchema:      version ${older}, older than this ` +
          `release's ${READ_MODELS_SCHEMA_VERSION}: this release's server rebuilds them when it starts (or run ` +
          `rebuild)\nCheckpoint:  ${head}\n`,
      );
      // An older release's server may be running on it still.
      const db = new Database(join(copy, 'read-models.db'), { readonly: true });
      expect(db.pragma('user_version', { simple: true })).toBe(older);
      expect(db.prepare('SELECT count(*) AS rows FROM timeline').get()).toEqual(timelineRows);
      expect(timelineRows).not.toEqual({ rows: 0 });
      db.close();

      const none = join(dir, 'no-read-models');
      cpSync(join(dataDir, 'events.db'), join(none, 'events.db'));
      const nothing = runIn(none, 'status');
      expect(nothing.status).toBe(0);
      expect(nothing.stdout).toContain(
        `Read models: ${join(none, 'read-models.db')} (none yet: the server creates them when it starts, or ` +
          `run rebuild)\nCheckpoint:  none (nothing applied yet)\nHead:        ${head}\nLag:         ${head}\n`,
      );
      expect(existsSync(join(none, 'read-models.db'))).toBe(false);
    });

    test('ahead of the event store (a restore out of order): status says so', () => {
      const { copy } = spoiled('ahead', (file) => {
        const db = new Database(file);
        db.prepare('UPDATE checkpoint SET position = ?').run(String(head + 100n));
        db.close();
      });

      const status = runIn(copy, 'status');

      expect(status.status).toBe(0);
      expect(status.stdout).toContain(
        'Lag:         -100 (the read models are ahead of the event store: not its own, a restore out of ' +
          'order? Delete read-models.db, with its -wal and -shm files, or run rebuild)\n',
      );
    });

    const notADatabase = (file: string) => writeFileSync(file, 'not a database '.repeat(1000));
    /** Overwrites bytes of the tables' pages, past the header and the schema's page. */
    const damaged = (file: string) => {
      const bytes = readFileSync(file);
      for (let offset = 3 * 16384; offset < bytes.length; offset += 5 * 16384)
        bytes.fill(0xff, offset, offset + 200);
      writeFileSync(file, bytes);
    };

    test('one SQLite cannot read: status names it and says that it can be deleted and rebuilt', () => {
      const { copy } = spoiled('not-a-database', notADatabase);

      const status = runIn(copy, 'status');

      expect(status.status).toBe(1);
      expect(status.stderr).toBe(
        `Failed: ${join(copy, 'read-models.db')} is damaged (file is not a database). It holds only derived ` +
          'data: run rebuild, which deletes it (with its -wal and -shm files) and rebuilds it from the event ' +
          'log, or delete them and start the server.\n',
      );
    });

    test('a damaged events.db: commands name it, say it cannot be rebuilt, and leave the read models', () => {
      const copy = join(dir, 'damaged-events');
      cpSync(dataDir, copy, { recursive: true });
      damaged(join(copy, 'events.db'));
      const readModels = readFileSync(join(copy, 'read-models.db'));

      for (const command of ['verify', 'rebuild']) {
        const result = runIn(copy, command);
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(
          new RegExp(
            `Failed: ${join(copy, 'events.db')} is damaged \\(database disk image is malformed\\)\\. It is the ` +
              'event log itself, which nothing can rebuild: stop the server, keep a copy of it \\(with its -wal ' +
              'and -shm files\\), and restore it from a backup\\.\\n$',
          ),
        );
      }
      expect(readFileSync(join(copy, 'read-models.db'))).toEqual(readModels);
    });

    test.each([
      // SQLite cannot open it: rebuild says so, and deletes it first.
      ['not a database', notADatabase, true],
      // Damaged further in: a rebuild writes a new file without reading the old one's pages.
      ['damaged', damaged, false],
    ])(
      '%s: rebuild replaces it with read models rebuilt from the log, leaving events.db alone',
      (name, spoil, told) => {
        const { copy, events } = spoiled(`rebuilt-${name.replaceAll(' ', '-')}`, spoil);

        const rebuilt = runIn(copy, 'rebuild');

        expect(rebuilt.status).toBe(0);
        expect(
          rebuilt.stderr.startsWith(
            `${join(copy, 'read-models.db')} was damaged (file is not a database): deleted it, with its -wal and ` +
              '-shm files, to rebuild the read models from the event log.\n',
          ),
        ).toBe(told);
        expect(runIn(copy, 'status').stdout).toContain(
          `Checkpoint:  ${head}\nHead:        ${head}\nLag:         0\n`,
        );
        expect(readFileSync(join(copy, 'events.db'))).toEqual(events);
      },
    );
  });

  test('rebuild refuses while a server (or another rebuild) holds the data dir, and changes nothing', () => {
    expect(run('rebuild').status).toBe(0);
    const readModels = openReadModels(dataDir);
    const before = allRows(readModels.db);
    const server = DataDirLock.acquire(dataDir); // as the API server holds it while it runs

    const refused = run('rebuild');
    const status = run('status');

    expect(refused).toMatchObject({ status: 1, stdout: '' });
    expect(refused.stderr).toBe(
      `Cannot rebuild: another process works on this data directory (it holds ${join(dataDir, 'server.lock')}): ` +
        'one server per data directory, and none during a rebuild. `fuser -v` on that file names the process.\n',
    );
    expect(status.stdout).toContain('Server:      running (or a rebuild)\n');
    expect(allRows(readModels.db)).toEqual(before);

    server.release();
    expect(run('status').stdout).toContain('Server:      none running\n');
    readModels.close(); // a rebuild replaces the file: nothing may hold it open
    expect(run('rebuild').status).toBe(0);
  });

  test("an older release's read models are not emptied under that release's live server", () => {
    const readModels = openReadModels(dataDir);
    // Schema 5 named its server in a table instead of locking the data dir: this live test process.
    const olderRelease = (pid: number) => {
      readModels.db.exec(
        'DROP TABLE IF EXISTS projector; CREATE TABLE projector (id INTEGER PRIMARY KEY, pid INTEGER, host TEXT);',
      );
      readModels.db.prepare('INSERT INTO projector VALUES (1, ?, ?)').run(pid, hostname());
      readModels.db.pragma('user_version = 5');
    };
    olderRelease(process.pid);
    const before = allRows(readModels.db);

    const refused = run('rebuild');

    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      `Cannot rebuild: ${readModels.file} is an older release's, and that release's server (process ` +
        `${process.pid}) projects into it: stop it first\n`,
    );
    expect(allRows(readModels.db)).toEqual(before);
    expect(readModels.db.pragma('user_version', { simple: true })).toBe(5);

    // Once that server has stopped (a process that has exited), its table goes with the old file.
    const exited = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    olderRelease(exited);
    readModels.close(); // a rebuild replaces the file: nothing may hold it open
    expect(run('rebuild').status).toBe(0);
    const rebuilt = openReadModels(dataDir);
    expect(rebuilt.db.pragma('user_version', { simple: true })).toBe(READ_MODELS_SCHEMA_VERSION);
    expect(rebuilt.db.prepare("SELECT name FROM sqlite_master WHERE name = 'projector'").all()).toEqual([]);
    rebuilt.close();
  });

  test('a rebuild interrupted by Ctrl-C leaves the read models as they were, and exits 130', async () => {
    // A log long enough for the rebuild to be caught between its pages.
    const big = join(dir, 'big-rebuild');
    const store = SqliteEventStore.open(join(big, 'events.db'));
    await seedStreams(store, ['incident-1', 'incident-2', 'incident-3', 'incident-4'], 15_000, 1_000);
    expect(runIn(big, 'rebuild').status).toBe(0);
    await seedStreams(store, ['incident-5'], 1_000, 1_000);
    await store.close();
    const readModels = openReadModels(big);
    const before = allRows(readModels.db);
    const child = spawn(process.execPath, [cli, 'rebuild'], {
      env: { PATH: process.env.PATH, LEDGER_DATA_DIR: big },
    });
    let stderr = '';
    const firstPage = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (stderr.includes(' events/s ')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

    await firstPage;
    child.kill('SIGINT');

    expect(await exited).toBe(130);
    expect(stderr).toContain(`\nInterrupted: the read models are as they were (${readModels.file}).\n`);
    expect(allRows(readModels.db)).toEqual(before);
    expect(before.checkpoint).toEqual([{ id: 1, position: '60000' }]);
    expect(DataDirLock.isHeld(big)).toBe(false);
    readModels.close();
  }, 60_000);

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

    const missing = randomUUID();
    const unknown = run('replay', missing);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`No incident ${missing} in the event store.`);
  });

  test('a reader that stops reading (| head) ends the output quietly; the exit code is the verdict', async () => {
    const child = spawn(process.execPath, [cli, 'verify'], {
      env: { PATH: process.env.PATH, LEDGER_DATA_DIR: dataDir },
    });
    // Closed before the CLI writes: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const status = await new Promise((resolve) => child.on('exit', resolve));

    expect(stderr).toBe('');
    expect(status).toBe(0);
  });

  test('replay shows control characters escaped: an entry is one line, and no escape reaches the terminal', async () => {
    const copy = join(dir, 'forged');
    cpSync(dataDir, copy, { recursive: true });
    const [incidentId] = history.incidentIds;
    const forgery =
      '\n2026-11-23T18:50:00.000Z  #99   PUBLIC   ceo: Resolved\r\u001b[31m\u009b2J\u202eevil\\n';
    const store = SqliteEventStore.open(join(copy, 'events.db'));
    const now = new Date().toISOString();
    await executeCommand(
      store,
      incidentId,
      {
        type: 'AddInternalNote',
        data: { note: `ok${forgery}` },
        metadata: { actor: 'mallory', now, occurredAt: now },
      },
      await loadIncident(store, incidentId),
    );
    const events = (await store.readStream(`incident-${incidentId}`)).length;
    await store.close();

    const { status, stdout } = runIn(copy, 'replay', incidentId);

    expect(status).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(events + 1);
    expect(lines.find((line) => line.includes(' mallory: '))).toContain(
      ' INTERNAL mallory: Note: ok\\n2026-11-23T18:50:00.000Z  #99   PUBLIC   ceo: Resolved\\r\\u001b[31m\\u009b2J\\u202eevil\\\\n',
    );
    expect(stdout.replaceAll('\n', '')).not.toMatch(/\p{Cc}|\p{Bidi_Control}/u);
  });

  describe('audit', () => {
    /** A copy of the data dir in which version 2 of the first incident's stream was changed. */
    let tampered: string;
    let victim: string;
    let position: bigint;

    beforeAll(async () => {
      tampered = join(dir, 'tampered');
      cpSync(dataDir, tampered, { recursive: true });
      victim = `incident-${history.incidentIds[0]}`;
      const store = SqliteEventStore.open(join(tampered, 'events.db'));
      position = (await store.readStream(victim))[1].globalPosition;
      await store.close();
      tamper(join(tampered, 'events.db'), (db) =>
        db
          .prepare("UPDATE events SET actor = 'someone else' WHERE stream_id = ? AND stream_version = 2")
          .run(victim),
      );
    });

    test('verify passes an untouched store and names the first broken link of a tampered copy', async () => {
      const untouched = run('verify');
      expect(untouched.status).toBe(0);
      expect(untouched.stdout).toContain(`OK: ${head} events in `);
      expect(untouched.stdout).toContain('every hash chain holds');

      const broken = runIn(tampered, 'verify');

      expect(broken.status).toBe(1);
      expect(broken.stdout).toContain(`BROKEN: stream ${victim}, version 2 (position ${position})`);
      expect(broken.stdout).toMatch(/expected hash [0-9a-f]{64}\n {2}found hash {4}[0-9a-f]{64}\n/);
      expect(broken.stdout).toMatch(/\nNOT OK: 1 of \d+ streams broken \(the others verify\)\.\n$/);
    });

    test('verify shows a hostile hash escaped: a tampered store cannot write to the terminal', () => {
      const copy = join(dir, 'hostile-hash');
      cpSync(dataDir, copy, { recursive: true });
      const hostile = '\u001b[2J\u001b[32mOK: every hash chain holds\u001b[0m';
      tamper(join(copy, 'events.db'), (db) =>
        db.prepare('UPDATE events SET hash = ? WHERE global_position = 2').run(hostile),
      );

      const verified = runIn(copy, 'verify');

      expect(verified.status).toBe(1);
      expect(verified.stdout).toContain(
        `  found hash    \\u001b[2J\\u001b[32mOK: every hash chain holds\\u001b[0m\n`,
      );
      expect(verified.stdout.replaceAll('\n', '')).not.toMatch(/\p{Cc}/u);
    });

    test('verify names every broken stream, and the events removed from the log that no chain shows', async () => {
      const copy = join(dir, 'removed');
      cpSync(tampered, copy, { recursive: true });
      const [, second, third] = history.incidentIds.map((id) => `incident-${id}`);
      const store = SqliteEventStore.open(join(copy, 'events.db'));
      const removed = (await store.readStream(third)).map((event) => event.globalPosition);
      await store.close();
      tamper(join(copy, 'events.db'), (db) => {
        db.prepare("UPDATE events SET actor = 'mallory' WHERE stream_id = ? AND stream_version = 1").run(
          second,
        );
        // A whole incident, and the newest event of the log.
        db.prepare('DELETE FROM events WHERE stream_id = ?').run(third);
        db.prepare('DELETE FROM events WHERE global_position = ?').run(head);
      });

      const verified = runIn(copy, 'verify');

      expect(verified.status).toBe(1);
      expect(verified.stdout).toContain(`BROKEN: stream ${victim}, version 2 (position ${position})`);
      expect(verified.stdout).toContain(`BROKEN: stream ${second}, version 1 `);
      expect(verified.stdout).toContain(
        `MISSING: position ${removed[0]} was handed out by the store, but no event holds it: events were ` +
          "removed from the log (a whole stream, or a stream's newest events, which no chain shows).\n",
      );
      expect(verified.stdout).toContain(
        `MISSING: position ${head} was handed out by the store, but no event holds it`,
      );
      expect(verified.stdout).toMatch(
        /\nNOT OK: 2 of \d+ streams broken \(the others verify\); events removed from the log\.\n$/,
      );
    });

    test('replay of a tampered stream prints its history, then where the chain breaks, and exits with 1', () => {
      const [incidentId] = history.incidentIds;

      const replayed = runIn(tampered, 'replay', incidentId);

      expect(replayed.status).toBe(1);
      expect(replayed.stdout).toMatch(/#2 +\S+ +someone else: /);
      expect(replayed.stdout).toBe(
        run('replay', incidentId).stdout.replace(/(#2 +\S+ +)\S+:/, '$1someone else:'),
      );
      expect(replayed.stderr).toMatch(
        new RegExp(
          `^BROKEN: stream ${victim}, version 2: the hash does not match this content chained on the previous hash\\n` +
            '  expected hash [0-9a-f]{64}\\n  found hash    [0-9a-f]{64}\\n' +
            'The history above cannot be trusted from version 1 on: ',
        ),
      );
    });

    test('replay of a stream whose data was changed beyond what the ledger writes still prints it, and the break', () => {
      const [incidentId] = history.incidentIds;
      const changed = join(dir, 'declaration-without-services');
      cpSync(dataDir, changed, { recursive: true });
      tamper(join(changed, 'events.db'), (db) =>
        db
          .prepare(
            "UPDATE events SET data = json_remove(data, '$.services') WHERE stream_id = ? AND stream_version = 1",
          )
          .run(victim),
      );

      const replayed = runIn(changed, 'replay', incidentId);

      expect(replayed.status).toBe(1);
      expect(replayed.stdout).toMatch(/#1 +\S+ +\S+: IncidentDeclared \(its data cannot be described\)\n/);
      expect(replayed.stdout.split('\n').slice(2)).toEqual(
        run('replay', incidentId).stdout.split('\n').slice(2),
      );
      expect(replayed.stderr).toMatch(new RegExp(`^BROKEN: stream ${victim}, version 1: `));
    });

    test.each([
      ['--incident', () => history.incidentIds[0]],
      ['--all', () => undefined],
    ])('export %s refuses a broken chain and leaves nothing behind', (flag, id) => {
      const parent = join(dir, `refused${flag}`);
      const bundle = join(parent, 'bundle');

      const exported = runIn(
        tampered,
        'export',
        ...[flag, id()].filter((arg) => arg !== undefined),
        '--out',
        bundle,
      );

      expect(exported.status).toBe(1);
      expect(exported.stderr).toBe(
        `Failed: the hash chain of stream ${victim} breaks at version 2 (position ${position}): the hash does ` +
          'not match this content chained on the previous hash. A bundle would certify altered history: nothing was exported.\n',
      );
      expect(readdirSync(parent)).toEqual([]);
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

    test('export never writes into an existing directory', () => {
      const bundle = join(dir, 'bundle-all');
      const before = readFileSync(join(bundle, EVENTS_FILE));
      const empty = join(dir, 'empty-dir');
      mkdirSync(empty);

      for (const out of [bundle, empty]) {
        const exported = run('export', '--all', '--out', out);
        expect(exported.status).toBe(1);
        expect(exported.stderr).toBe(
          `Failed: ${out} already exists: an export writes a new directory, and never into an existing one\n`,
        );
      }
      expect(readFileSync(join(bundle, EVENTS_FILE))).toEqual(before);
      expect(readdirSync(empty)).toEqual([]);
    });

    describe('verify --against a bundle exported earlier', () => {
      /** A copy of the data dir, exported (whole, and one incident), then appended to. */
      let anchored: string;
      let bundle: string;
      let incidentBundle: string;
      let manifest: BundleManifest;
      /** Events appended since the export to a stream of the bundle, and streams created since. */
      let appended: number;
      const created = ['maintenance-1', 'maintenance-2'];
      /** Where no data dir is: the bundle commands must not need one. */
      let nowhere: string;
      let exportOutput: string;

      beforeAll(async () => {
        anchored = join(dir, 'anchored');
        nowhere = join(dir, 'nowhere');
        cpSync(dataDir, anchored, { recursive: true });
        bundle = join(dir, 'anchor-all');
        incidentBundle = join(dir, 'anchor-incident');
        const [incidentId] = history.incidentIds;
        const exported = runIn(anchored, 'export', '--all', '--out', bundle);
        expect(exported.status).toBe(0);
        exportOutput = exported.stdout;
        expect(runIn(anchored, 'export', '--incident', incidentId, '--out', incidentBundle).status).toBe(0);
        manifest = JSON.parse(readFileSync(join(bundle, MANIFEST_FILE), 'utf8')) as BundleManifest;
        const store = SqliteEventStore.open(join(anchored, 'events.db'));
        const now = new Date().toISOString();
        const note = {
          type: 'AddInternalNote',
          data: { note: 'after the export' },
          metadata: { actor: 'auditor', now, occurredAt: now },
        } as const;
        ({ appended } = await executeCommand(store, incidentId, note, await loadIncident(store, incidentId)));
        await seedStreams(store, created, 2);
        await store.close();
      });

      /** A copy of the anchored data dir, changed by `change` as someone with write access would. */
      function tamperedCopy(name: string, change: Parameters<typeof tamper>[1]): string {
        const copy = join(dir, name);
        cpSync(anchored, copy, { recursive: true });
        tamper(join(copy, 'events.db'), change);
        return copy;
      }

      /** The bundle's streams, in its order, but the one appended to since. */
      const untouchedSince = () =>
        manifest.streams.filter((stream) => stream.streamId !== `incident-${history.incidentIds[0]}`);

      /**
       * The only event of a stream that a forger inserts, dated an hour before the export; its id
       * is escaped when shown, as `shownId`.
       */
      function backdatedEvent() {
        const recordedAt = new Date(Date.parse(manifest.createdAt) - 3_600_000).toISOString();
        const event = {
          ...newEvent({ occurredAt: recordedAt }),
          streamId: 'incident-\u001b[2Jforged',
          streamVersion: 1,
          recordedAt,
        };
        return { event, hash: chainHash(GENESIS_HASH, event), shownId: 'incident-\\u001b[2Jforged' };
      }

      /** The line naming a stream not in the bundle, whose first event is `first`, as recorded before it. */
      const recordedBeforeLine = (first: Pick<StoredEvent, 'streamId' | 'recordedAt' | 'globalPosition'>) =>
        `CHANGED: stream ${first.streamId} is not in the bundle but recorded before its export (its first event: ` +
        `recorded at ${first.recordedAt}, position ${first.globalPosition}): inserted afterwards, or the bundle is ` +
        'not of the whole log\n';

      const recordedBeforeVerdict = (streams: number) =>
        `CHANGED: ${streams} streams of the store not in the bundle, exported at ${manifest.createdAt} through ` +
        `position ${head}, were recorded before it.\n`;

      const headUnchanged = (streams: number) =>
        `OK: ${streams} streams of the bundle, exported at ${manifest.createdAt}, are unchanged in the store; ` +
        `events appended to them since: ${appended}.\n`;

      test('export tells how to check the bundle against the digest it prints', () => {
        expect(exportOutput).toContain(
          `Digest: ${manifest.digest}\nRecord the digest somewhere the bundle cannot be changed from: it is what ` +
            `later proves the bundle unchanged (verify-bundle ${bundle} --digest ${manifest.digest}).\n`,
        );
      });

      test('passes a store appended to since, saying so; says that the bundle alone is consistent with itself only', () => {
        const verified = runIn(anchored, 'verify', '--against', bundle);

        expect(verified.status).toBe(0);
        expect(verified.stdout).toBe(
          `OK: bundle ${bundle} holds ${manifest.eventCount} events in ${manifest.streams.length} streams, every ` +
            `hash chain holds and matches the manifest.\nDigest: ${manifest.digest}\n` +
            'This shows only that the bundle is consistent with itself: one rewritten with every hash recomputed ' +
            'would be too. To show it is the bundle exported, check it against the digest recorded then: ' +
            `verify --against ${bundle} --digest <recorded digest>\n` +
            `OK: ${manifest.eventCount + appended + 2 * created.length} events in ` +
            `${manifest.streams.length + created.length} streams, every hash chain holds.\n` +
            headUnchanged(manifest.streams.length) +
            `Streams created since the export: ${created.length}.\n`,
        );
        expect(appended).toBeGreaterThan(0);
        // Without a bundle, verify says what it cannot see, and what can.
        expect(runIn(anchored, 'verify').stdout).toContain(
          '`verify --against <bundle-dir>` compares the head hashes',
        );
      });

      test('with the digest recorded at export, says the bundle is that one; an incident bundle anchors its stream only', () => {
        const incidentDigest = (
          JSON.parse(readFileSync(join(incidentBundle, MANIFEST_FILE), 'utf8')) as BundleManifest
        ).digest;
        const incident = runIn(anchored, 'verify', '--against', incidentBundle, '--digest', incidentDigest);
        // The digest as export printed it, or in capitals.
        const bundleOnly = runIn(nowhere, 'verify-bundle', bundle, '--digest', manifest.digest.toUpperCase());

        expect(incident.status).toBe(0);
        expect(incident.stdout).toContain(
          `Digest: ${incidentDigest}, the digest recorded at export (--digest).\nOK: `,
        );
        expect(incident.stdout).not.toContain('consistent with itself');
        expect(incident.stdout).toMatch(
          new RegExp(
            `OK: 1 streams of the bundle, exported at \\S+, are unchanged in the store; events appended to them ` +
              `since: ${appended}\\.\\nStreams of the store not in the bundle, which holds one incident's: ` +
              `${manifest.streams.length + created.length - 1} \\(whether any was inserted since, only a bundle ` +
              'of the whole log can tell\\)\\.\\n$',
          ),
        );
        expect(bundleOnly.status).toBe(0);
        expect(bundleOnly.stdout).toContain(
          `Digest: ${manifest.digest}, the digest recorded at export (--digest).\n`,
        );
      });

      test('names each stream of the bundle deleted, cut short or rewritten since, which the chains cannot show, and the streams moved into its positions', async () => {
        const [deleted, shortened, rewritten] = untouchedSince().filter((stream) => stream.lastVersion >= 3);
        const store = SqliteEventStore.open(join(anchored, 'events.db'));
        const [previous, last] = await store.readStream(rewritten.streamId, rewritten.lastVersion - 1);
        await store.close();
        const forgedHash = chainHash(previous.hash, { ...last, actor: 'mallory' });
        const copy = tamperedCopy('anchored-rewritten', (db) => {
          db.prepare('DELETE FROM events WHERE stream_id = ?').run(deleted.streamId);
          db.prepare('DELETE FROM events WHERE stream_id = ? AND stream_version > ?').run(
            shortened.streamId,
            shortened.lastVersion - 2,
          );
          db.prepare(
            "UPDATE events SET actor = 'mallory', hash = ? WHERE stream_id = ? AND stream_version = ?",
          ).run(forgedHash, rewritten.streamId, rewritten.lastVersion);
          renumberPositions(db);
        });

        // Renumbered, the streams created since sit at positions that the bundle holds: named too.
        const renumbered = SqliteEventStore.open(join(copy, 'events.db'));
        const createdFirst = await Promise.all(
          created.map(async (streamId) => (await renumbered.readStream(streamId, 1, 1))[0]),
        );
        await renumbered.close();

        const verified = runIn(copy, 'verify', '--against', bundle, '--digest', manifest.digest);

        expect(createdFirst.every((event) => event.globalPosition <= head)).toBe(true);
        expect(verified.status).toBe(1);
        expect(verified.stdout.split('every hash chain holds.\n')).toEqual([
          expect.stringMatching(/^OK: bundle .*\nOK: \d+ events in \d+ streams, $/s),
          `CHANGED: stream ${deleted.streamId} is missing from the store (the bundle had it up to version ` +
            `${deleted.lastVersion})\n` +
            `CHANGED: stream ${shortened.streamId} was shortened: found version ${shortened.lastVersion - 2}, the ` +
            `bundle had version ${shortened.lastVersion}\n` +
            `CHANGED: stream ${rewritten.streamId}: head hash differs at version ${rewritten.lastVersion}\n` +
            `  expected hash ${rewritten.headHash}\n  found hash    ${forgedHash}\n` +
            createdFirst.map(recordedBeforeLine).join('') +
            `CHANGED: 3 of the ${manifest.streams.length} streams of the bundle, exported at ${manifest.createdAt}, ` +
            'differ in the store: deleted, cut short or rewritten since.\n' +
            recordedBeforeVerdict(created.length),
        ]);
        // What verify alone says of it, on a store whose positions were made to count its events again.
        expect(runIn(copy, 'verify').status).toBe(0);
      });

      test('names each stream not in the bundle but recorded before it, by date or by position; an incident bundle cannot tell', async () => {
        const [, moved] = created;
        const store = SqliteEventStore.open(join(anchored, 'events.db'));
        const [{ recordedAt: movedAt }] = await store.readStream(moved);
        await store.close();
        const backdated = backdatedEvent();
        const copy = tamperedCopy('anchored-inserted', (db) => {
          // At the end of the log, dated before the export.
          insertRow(db, backdated.event, backdated.hash);
          // A stream created since, moved to the head of the log: its own date is after the export.
          renumberPositions(db, `stream_id = '${moved}' DESC, global_position`);
        });
        const forgedPosition = manifest.eventCount + appended + 2 * created.length + 1;

        const verified = runIn(copy, 'verify', '--against', bundle, '--digest', manifest.digest);
        const incident = runIn(copy, 'verify', '--against', incidentBundle);

        expect(Date.parse(movedAt)).toBeGreaterThan(Date.parse(manifest.createdAt));
        expect(verified.status).toBe(1);
        expect(verified.stdout.split('every hash chain holds.\n')).toEqual([
          expect.stringMatching(/^OK: bundle .*\nOK: \d+ events in \d+ streams, $/s),
          recordedBeforeLine({ streamId: moved, recordedAt: movedAt, globalPosition: 1n }) +
            recordedBeforeLine({
              ...backdated.event,
              streamId: backdated.shownId,
              globalPosition: BigInt(forgedPosition),
            }) +
            recordedBeforeVerdict(2),
        ]);
        expect(incident.status).toBe(0);
        expect(incident.stdout).toContain(
          `Streams of the store not in the bundle, which holds one incident's: ` +
            `${manifest.streams.length + created.length} (whether any was inserted since`,
        );
      });

      test('a store whose chains are broken too: the broken links, then the changed heads and the streams inserted, shown escaped', () => {
        const [gone] = manifest.streams.filter((stream) => !untouchedSince().includes(stream));
        const [garbled] = untouchedSince();
        const backdated = backdatedEvent();
        const copy = tamperedCopy('anchored-broken', (db) => {
          insertRow(db, backdated.event, backdated.hash);
          // The bundle's head event of a stream appended to since: its later events remain.
          db.prepare('DELETE FROM events WHERE stream_id = ? AND stream_version = ?').run(
            gone.streamId,
            gone.lastVersion,
          );
          db.prepare('UPDATE events SET hash = ? WHERE stream_id = ? AND stream_version = ?').run(
            '\u001b[2Jforged',
            garbled.streamId,
            garbled.lastVersion,
          );
        });

        const verified = runIn(copy, 'verify', '--against', bundle);

        expect(verified.status).toBe(1);
        const changed = {
          [gone.streamId]:
            `CHANGED: stream ${gone.streamId}: head hash differs at version ${gone.lastVersion} (the store has ` +
            `no event at that version)\n  expected hash ${gone.headHash}\n`,
          [garbled.streamId]:
            `CHANGED: stream ${garbled.streamId}: head hash differs at version ${garbled.lastVersion}\n` +
            `  expected hash ${garbled.headHash}\n  found hash    \\u001b[2Jforged\n`,
        };
        const changes = verified.stdout.indexOf('CHANGED: ');
        expect(verified.stdout.slice(0, changes)).toContain(`\nBROKEN: stream ${garbled.streamId}, `);
        // In the bundle's order, then the stream inserted, before the verdict.
        expect(verified.stdout.slice(changes)).toBe(
          manifest.streams.map(({ streamId }) => changed[streamId] ?? '').join('') +
            recordedBeforeLine({
              ...backdated.event,
              streamId: backdated.shownId,
              globalPosition: BigInt(manifest.eventCount + appended + 2 * created.length + 1),
            }) +
            `NOT OK: 2 of ${manifest.streams.length + created.length + 1} streams broken (the others verify); ` +
            'events removed from the log.\n',
        );
        expect(verified.stdout.replaceAll('\n', '')).not.toMatch(/\p{Cc}/u);
      });

      test('a bundle forged with every hash recomputed passes alone, but not against the digest recorded at export', () => {
        const forged = join(dir, 'anchor-forged');
        cpSync(bundle, forged, { recursive: true });
        const [cut] = untouchedSince();
        resealBundle(
          forged,
          bundleEvents(forged).filter(
            (event) => !(event.streamId === cut.streamId && event.streamVersion === cut.lastVersion),
          ),
        );
        const forgedDigest = (JSON.parse(readFileSync(join(forged, MANIFEST_FILE), 'utf8')) as BundleManifest)
          .digest;
        const invalid =
          `INVALID bundle ${forged}: ${MANIFEST_FILE}: its digest ${forgedDigest} is not the digest recorded at ` +
          `export, ${manifest.digest}: this is not the bundle that was exported\n`;

        const alone = runIn(nowhere, 'verify-bundle', forged);
        const checked = runIn(nowhere, 'verify-bundle', forged, '--digest', manifest.digest);
        const against = runIn(anchored, 'verify', '--against', forged, '--digest', manifest.digest);

        expect(alone.status).toBe(0);
        expect(alone.stdout).toContain(
          `Digest: ${forgedDigest}\nThis shows only that the bundle is consistent with itself: one rewritten ` +
            'with every hash recomputed would be too. To show it is the bundle exported, check it against the ' +
            `digest recorded then: verify-bundle ${forged} --digest <recorded digest>\n`,
        );
        expect(checked.status).toBe(1);
        expect(checked.stdout).toBe(invalid);
        expect(against.status).toBe(1);
        expect(against.stdout).toBe(`${invalid}The store was not compared with it.\n`);
      });
    });

    describe('an export caught midway', () => {
      /** A data dir whose log is long enough for an export to be caught in the middle. */
      let big: string;

      beforeAll(async () => {
        big = join(dir, 'big');
        const store = SqliteEventStore.open(join(big, 'events.db'));
        await seedStreams(store, ['incident-1', 'incident-2', 'incident-3', 'incident-4'], 15_000, 1_000);
        await store.close();
      }, 60_000);

      /** Starts `export --all --out <parent>/<name>` of the big log; resolves once its temporary directory is there. */
      async function exportCaughtWriting(parent: string, name: string) {
        mkdirSync(parent, { recursive: true });
        const before = readdirSync(parent);
        const child = spawn(process.execPath, [cli, 'export', '--all', '--out', join(parent, name)], {
          env: { PATH: process.env.PATH, LEDGER_DATA_DIR: big },
        });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        let partial: string | undefined;
        while ((partial = readdirSync(parent).find((entry) => !before.includes(entry))) === undefined) {
          if (child.exitCode !== null) throw new Error(`the export ended before writing: ${stderr}`);
          await sleep(5);
        }
        return { child, partial, exited, stderr: () => stderr };
      }

      test('an export interrupted by Ctrl-C leaves nothing at --out, and can be run again', async () => {
        const parent = join(dir, 'interrupted');
        const bundle = join(parent, 'bundle');
        const interrupted = await exportCaughtWriting(parent, 'bundle');

        interrupted.child.kill('SIGINT');

        expect(await interrupted.exited).toBe(130);
        expect(interrupted.stderr()).toContain(`Interrupted: nothing was written to ${bundle}.\n`);
        expect(readdirSync(parent)).toEqual([]);
        const again = runIn(big, 'export', '--all', '--out', bundle);
        expect(again.status).toBe(0);
        expect(again.stdout).toContain('Exported 60000 events of 4 streams');
        expect(readdirSync(parent)).toEqual(['bundle']);
      }, 60_000);

      test('an export killed outright leaves its directory, named after it, which the next export there removes', async () => {
        const parent = join(dir, 'killed');
        const killed = await exportCaughtWriting(parent, 'bundle');

        killed.child.kill('SIGKILL');
        await killed.exited;

        const pid = killed.child.pid;
        expect(killed.partial.slice(0, -6)).toBe(`.bundle.partial-${hostname()}-${pid}-`);
        expect(readdirSync(parent)).toEqual([killed.partial]);
        // Refused input changes nothing, the dead export's directory included.
        const refused = runIn(big, 'export', '--incident', randomUUID(), '--out', join(parent, 'none'));
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain('has no events');
        expect(readdirSync(parent)).toEqual([killed.partial]);
        const next = runIn(big, 'export', '--all', '--out', join(parent, 'next'));
        expect(next.status).toBe(0);
        expect(next.stderr).toContain(
          `Removed ${join(parent, killed.partial)}: the partial bundle of an export by process ${pid}, ` +
            'which no longer runs.\n',
        );
        expect(readdirSync(parent)).toEqual(['next']);
      }, 60_000);

      test("the next export leaves a running export's directory, and those it cannot judge, and names them", async () => {
        const parent = join(dir, 'crowded');
        const running = await exportCaughtWriting(parent, 'running');
        running.child.kill('SIGSTOP');
        const dead = spawnSync(process.execPath, ['-e', '']).pid;
        const foreign = `.b.partial-${hostname()}-${dead}-QqQ111`;
        const others: Record<string, string> = {
          [`.b.partial-elsewhere.example-${dead}-AbC123`]:
            'the partial bundle of an export on host elsewhere.example, whose processes cannot be checked ' +
            'from here (delete it if that export no longer runs)',
          '.b.partial-XyZ789':
            "the partial bundle of an earlier release's export, which does not name its process (delete it " +
            'if no export is running)',
          [foreign]:
            `named as the partial bundle of an export by process ${dead}, which no longer runs, but it ` +
            'holds files that an export does not write',
        };
        for (const name of Object.keys(others)) {
          mkdirSync(join(parent, name));
          writeFileSync(join(parent, name, EVENTS_FILE), '');
        }
        writeFileSync(join(parent, foreign, 'notes.txt'), "not an export's");
        // A file, not a directory: no export's.
        const file = `.b.partial-${hostname()}-${dead}-FiLe12`;
        writeFileSync(join(parent, file), '');

        const next = runIn(big, 'export', '--all', '--out', join(parent, 'next'));
        running.child.kill('SIGCONT');

        expect(next.status).toBe(0);
        expect(next.stderr).toContain(
          `Left ${join(parent, running.partial)}: the partial bundle of an export by process ` +
            `${running.child.pid}, which is running (if that process is no export, delete it).\n`,
        );
        for (const [name, reason] of Object.entries(others)) {
          expect(next.stderr).toContain(`Left ${join(parent, name)}: ${reason}.\n`);
        }
        expect(next.stderr).not.toContain(file);
        expect(await running.exited).toBe(0);
        expect(readdirSync(parent).sort()).toEqual([...Object.keys(others), file, 'next', 'running'].sort());
        expect(run('verify-bundle', join(parent, 'running')).status).toBe(0);
      }, 60_000);
    });
  });
});
