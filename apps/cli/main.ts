import { existsSync } from 'node:fs';
import path from 'node:path';
import { DataDirInUseError, DataDirLock } from '../../libs/data-dir/data-dir-lock.js';
import type { EventStore } from '../../libs/event-store/index.js';
import {
  deleteReadModels,
  inspectReadModelDb,
  isDamagedDatabaseError,
  NewerReadModelsError,
  projectionStatus,
  READ_MODELS_FILE,
  READ_MODELS_SCHEMA_VERSION,
  readModelsDamaged,
  rebuild,
} from '../../libs/read-models/index.js';
import {
  parseExportArgs,
  parseIncidentId,
  parseVerifyArgs,
  parseVerifyBundleArgs,
  runExport,
  runReplay,
  runVerify,
  runVerifyBundle,
} from './audit-commands.js';
import { progressBar } from './progress-bar.js';
import { ConfigError, loadConfig, type LedgerConfig } from '../api/config/ledger-config.js';
import { dataDirAdvice } from '../api/data-dir-problems.js';
import { EVENT_STORE_FILE, openEventStore } from '../api/event-store/event-store.module.js';

const USAGE = `Usage: npm run --silent cli -- <command>     (or: node dist/apps/cli/main.js <command>)

Commands:
  rebuild               Rebuild every read model from the event log into a new file, with a
                        progress bar on stderr, and put it in place of the old one once
                        complete. Stop the API server
                        that uses the same LEDGER_DATA_DIR first: rebuild refuses while one
                        runs there (and a server refuses to start during a rebuild).
                        Interrupted (Ctrl-C), it leaves the read models as they were and
                        exits 130.
  status                The read models' checkpoint, the event store's head, the lag, and
                        whether a server (or a rebuild) holds the data dir.
  replay <incidentId>   The incident's history as a readable timeline, read from the
                        event store: a line an event, control characters shown escaped
                        (\\n, \\u001b). Checks the incident's hash chain: if it is broken,
                        says where after the history, and exits with 1.
  verify [--against <bundle-dir> [--digest <hex>]]
                        Check every stream's hash chain; reports each broken stream where it
                        first breaks (stream, version, position, expected and found hash),
                        and on the embedded store the positions that lost their event (a
                        stream or a stream's end removed). Exit 1 if any.
                        A stream's tail rewritten with its hashes recomputed, or dropped,
                        needs an anchor: --against checks the bundle <bundle-dir> (as
                        verify-bundle), then that the store still holds each of its streams
                        up to its head hash; names each stream missing, shortened or
                        rewritten since, and, against a bundle of the whole log, each stream
                        it lacks that was recorded before it (by date or position); exits
                        1 if any.
  export (--incident <id> | --all) --out <dir>
                        Write a self-contained audit bundle into the new directory <dir>:
                        events.jsonl with every envelope and hash, and manifest.json with
                        each stream's head hash and an overall digest. Refuses a broken hash
                        chain. Interrupted (Ctrl-C), it leaves nothing at <dir> and exits 130.
                        The bundle is synced to disk before it is reported exported.
                        An export killed outright (kill -9, a crash) leaves a directory
                        .<name>.partial-<host>-<pid>-XXXXXX beside <dir>: the next export
                        into the same parent directory removes those of processes no longer
                        running on this host, and names on stderr those it leaves.
  verify-bundle <dir> [--digest <hex>]
                        Check a bundle offline (no server, no database): exit 1 if it is not
                        consistent with itself (a byte changed). A bundle rewritten with
                        every hash recomputed is consistent too: --digest, the digest that
                        export printed and you recorded, shows it is the bundle exported.
  --help, -h            This text.

Configuration, as for the server: LEDGER_DATA_DIR (default ./data) holds read-models.db
(and events.db for the embedded store); EVENTSTORE_URL selects KurrentDB.

Progress goes to stderr. Exit codes: 0 done, 1 failed (or found broken or changed),
2 usage or configuration error, 130 interrupted.
`;

/** The command line is wrong: exit code 2 with the usage. */
class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  const run = parseCommand(command, rest);
  if ('offline' in run) return run.offline();
  const config = loadConfig();
  requireEmbeddedStore(config);
  try {
    const store = await openEventStore(config);
    try {
      return await run(config, store);
    } finally {
      await store.close();
    }
  } catch (error) {
    // The read models' damage is explained where they are used: this is the event log's own file.
    if (!config.eventStoreUrl && isDamagedDatabaseError(error)) {
      throw new DamagedEventStoreError(
        path.resolve(config.dataDir, EVENT_STORE_FILE),
        (error as Error).message,
      );
    }
    throw error;
  }
}

class DamagedEventStoreError extends Error {
  constructor(file: string, reason: string) {
    super(dataDirAdvice.damagedEventStore(file, reason));
  }
}

/**
 * The server creates the embedded store on its first start; the CLI only works on one. Opening a
 * mistyped LEDGER_DATA_DIR would create an empty store there and report on it as if it were real.
 */
function requireEmbeddedStore(config: LedgerConfig): void {
  if (config.eventStoreUrl) return;
  const file = path.join(config.dataDir, EVENT_STORE_FILE);
  if (!existsSync(file)) {
    throw new ConfigError('LEDGER_DATA_DIR', `holds no event store (${path.resolve(file)} does not exist)`);
  }
}

/** Most commands work on the configured event store; `offline` ones need neither it nor the config. */
type Command =
  ((config: LedgerConfig, store: EventStore) => Promise<number>) | { offline: () => Promise<number> };

function parseCommand(command: string | undefined, args: string[]): Command {
  switch (command) {
    case 'rebuild':
      if (args.length > 0) throw new UsageError(`rebuild does not take ${args.join(' ')}`);
      return rebuildReadModels;
    case 'status':
      if (args.length > 0) throw new UsageError('status takes no arguments');
      return showStatus;
    case 'replay': {
      if (args.length !== 1) throw new UsageError('replay takes one incident id');
      const incidentId = usageOf(() => parseIncidentId(args[0], 'incidentId'));
      return (_, store) => runReplay(store, incidentId, process.stdout, process.stderr);
    }
    case 'verify': {
      const against = usageOf(() => parseVerifyArgs(args));
      return (_, store) => runVerify(store, process.stdout, process.stderr, against);
    }
    case 'export': {
      const exportArgs = usageOf(() => parseExportArgs(args));
      return (_, store) =>
        interruptible((signal) => runExport(store, exportArgs, process.stdout, process.stderr, signal));
    }
    case 'verify-bundle': {
      const bundle = usageOf(() => parseVerifyBundleArgs(args));
      return { offline: () => runVerifyBundle(bundle, process.stdout, process.stderr) };
    }
    case undefined:
      throw new UsageError('No command given');
    default:
      throw new UsageError(`Unknown command: ${command}`);
  }
}

/** Turns a parser's RangeError into a usage error. */
function usageOf<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Runs `work` with a signal that the first Ctrl-C (SIGINT) or SIGTERM aborts, for it to clean up
 * and return; a second one kills the process.
 */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupted = new AbortController();
  const abort = () => interrupted.abort();
  process.once('SIGINT', abort).once('SIGTERM', abort);
  try {
    return await work(interrupted.signal);
  } finally {
    process.off('SIGINT', abort).off('SIGTERM', abort);
  }
}

/** The read models' file cannot be read by SQLite. It holds only derived data: rebuild replaces it. */
class DamagedReadModelsError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(dataDirAdvice.damagedReadModels(file, reason));
  }
}

/**
 * Explains the errors of a read-model file that cannot be used: one that a newer release wrote, or
 * a damaged one (DamagedReadModelsError).
 */
async function explainingReadModelErrors<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  const file = path.join(dataDir, READ_MODELS_FILE);
  try {
    return await work();
  } catch (error) {
    if (error instanceof NewerReadModelsError) {
      throw new Error(dataDirAdvice.newerReadModels(error, file), { cause: error });
    }
    // SQLite's errors do not name the file: the event store's could be the damaged one.
    if (isDamagedDatabaseError(error) && readModelsDamaged(dataDir)) {
      throw new DamagedReadModelsError(file, (error as Error).message);
    }
    throw error;
  }
}

/**
 * Rebuilds the read models, holding the data directory's lock. A file SQLite cannot open is deleted
 * first, with its -wal and -shm; one damaged further in is replaced without being read.
 */
async function rebuildReadModels(config: LedgerConfig, store: EventStore): Promise<number> {
  const rebuildThere = () =>
    explainingReadModelErrors(config.dataDir, () =>
      interruptible((signal) => rebuildInto(config.dataDir, store, signal)),
    );
  let lock: DataDirLock | null = null;
  try {
    lock = DataDirLock.acquire(config.dataDir);
    try {
      return await rebuildThere();
    } catch (error) {
      if (!(error instanceof DamagedReadModelsError)) throw error;
      deleteReadModels(config.dataDir);
      process.stderr.write(
        `${error.file} was damaged (${error.reason}): deleted it, with its -wal and -shm files, to rebuild ` +
          'the read models from the event log.\n',
      );
      return await rebuildThere();
    }
  } catch (error) {
    // A server runs there, or another rebuild: refused before anything is changed.
    if (!(error instanceof DataDirInUseError)) throw error;
    process.stderr.write(`Cannot rebuild: ${error.message}\n`);
    return 1;
  } finally {
    lock?.release();
  }
}

/** Aborted through `signal` (between pages of the log), the rebuild leaves the read models as they were and this returns 130. */
async function rebuildInto(dataDir: string, store: EventStore, signal: AbortSignal): Promise<number> {
  const started = performance.now();
  const bar = progressBar(process.stderr, started);
  try {
    const result = await rebuild(store, dataDir, { onProgress: bar, signal });
    const seconds = (performance.now() - started) / 1000;
    bar(result);
    process.stdout.write(
      `Rebuilt the read models from ${result.events} events in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.events / seconds)} events/s); checkpoint ${result.position ?? 'none'}.\n`,
    );
    return 0;
  } catch (error) {
    if (!signal.aborted) throw error;
    process.stderr.write(
      `\nInterrupted: the read models are as they were (${path.join(dataDir, READ_MODELS_FILE)}).\n`,
    );
    return 130;
  }
}

/** Looks at the read models as they are: an older release's file is neither migrated nor emptied. */
function showStatus(config: LedgerConfig, store: EventStore): Promise<number> {
  const file = path.join(config.dataDir, READ_MODELS_FILE);
  return explainingReadModelErrors(config.dataDir, async () => {
    const found = inspectReadModelDb(file);
    try {
      const usable = found !== null && found.schemaVersion > 0;
      const { checkpoint, head, lag } = await projectionStatus(store, usable ? found.db : null);
      process.stdout.write(
        [
          `Read models: ${file}${usable ? '' : ' (none yet: the server creates them when it starts, or run rebuild)'}`,
          ...(usable && found.schemaVersion < READ_MODELS_SCHEMA_VERSION
            ? [
                `Schema:      version ${found.schemaVersion}, older than this release's ` +
                  `${READ_MODELS_SCHEMA_VERSION}: this release's server rebuilds them when it starts (or run rebuild)`,
              ]
            : []),
          `Checkpoint:  ${checkpoint ?? 'none (nothing applied yet)'}`,
          `Head:        ${head ?? 'none (the event store is empty)'}`,
          `Lag:         ${lag}` +
            (lag < 0n
              ? ' (the read models are ahead of the event store: not its own, a restore out of order? ' +
                'Delete read-models.db, with its -wal and -shm files, or run rebuild)'
              : ''),
          `Server:      ${DataDirLock.isHeld(config.dataDir) ? 'running (or a rebuild)' : 'none running'}`,
        ].join('\n') + '\n',
      );
      return 0;
    } finally {
      found?.db.close();
    }
  });
}

// A reader that goes away (`| head`) takes no more output: the command still finishes, and exits
// with its own verdict (verify's, say), instead of failing on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`Failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
