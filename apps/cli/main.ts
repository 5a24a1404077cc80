import { existsSync } from 'node:fs';
import path from 'node:path';
import { incidentStreamId } from '../../libs/domain/index.js';
import type { EventStore } from '../../libs/event-store/index.js';
import {
  activeProjector,
  openReadModels,
  projectionStatus,
  rebuild,
  toIncidentStreamEvent,
  toTimelineEntry,
  type RebuildProgress,
} from '../../libs/read-models/index.js';
import { parseExportArgs, runExport, runVerify, runVerifyBundle } from './audit-commands.js';
import { ConfigError, loadConfig, type LedgerConfig } from '../api/config/ledger-config.js';
import { EVENT_STORE_FILE, openEventStore } from '../api/event-store/event-store.module.js';

const USAGE = `Usage: npm run cli -- <command>     (or: node dist/apps/cli/main.js <command>)

Commands:
  rebuild [--force]     Drop every read model and rebuild it from the event log, with a
                        progress bar on stderr. Stop the API server that uses the same
                        LEDGER_DATA_DIR first: rebuild refuses while one is projecting there
                        (--force skips that check, for a process id that was reused).
  status                The read models' checkpoint, the event store's head and the lag.
  replay <incidentId>   The incident's history as a readable timeline, read from the
                        event store.
  verify                Check every stream's hash chain; reports the first broken link
                        (stream, version, position, expected and found hash). Exit 1 if broken.
  export (--incident <id> | --all) --out <dir>
                        Write a self-contained audit bundle: events.jsonl with every
                        envelope and hash, and manifest.json with each stream's head hash
                        and an overall digest.
  verify-bundle <dir>   Check a bundle offline (no server, no database). Exit 1 if any byte
                        of it was changed.
  --help, -h            This text.

Configuration, as for the server: LEDGER_DATA_DIR (default ./data) holds read-models.db
(and events.db for the embedded store); EVENTSTORE_URL selects KurrentDB.

Progress goes to stderr. Exit codes: 0 done, 1 failed (or broken), 2 usage or configuration error.
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
  const store = await openEventStore(config);
  try {
    return await run(config, store);
  } finally {
    await store.close();
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
    case 'rebuild': {
      const unknown = args.filter((arg) => arg !== '--force');
      if (unknown.length > 0) throw new UsageError(`rebuild does not take ${unknown.join(' ')}`);
      return (config, store) => rebuildReadModels(config, store, args.includes('--force'));
    }
    case 'status':
      if (args.length > 0) throw new UsageError('status takes no arguments');
      return showStatus;
    case 'replay':
      if (args.length !== 1) throw new UsageError('replay takes one incident id');
      return (_, store) => replay(store, args[0]);
    case 'verify':
      if (args.length > 0) throw new UsageError('verify takes no arguments');
      return (_, store) => runVerify(store, process.stdout, process.stderr);
    case 'export': {
      const exportArgs = usageOf(() => parseExportArgs(args));
      return (_, store) => runExport(store, exportArgs, process.stdout, process.stderr);
    }
    case 'verify-bundle':
      if (args.length !== 1) throw new UsageError('verify-bundle takes one bundle directory');
      return { offline: () => runVerifyBundle(args[0], process.stdout, process.stderr) };
    case undefined:
      throw new UsageError('No command given');
    default:
      throw new UsageError(`Unknown command: ${command}`);
  }
}

/** Turns parseExportArgs' RangeError into a usage error. */
function usageOf<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

async function rebuildReadModels(config: LedgerConfig, store: EventStore, force: boolean): Promise<number> {
  const readModels = openReadModels(config.dataDir);
  try {
    const projector = activeProjector(readModels.db);
    if (projector !== null && !force) {
      process.stderr.write(
        `Process ${projector} (the API server?) is projecting into ${readModels.file}: stop it before ` +
          'rebuilding, or pass --force if that process is not one.\n',
      );
      return 1;
    }
    const started = performance.now();
    const bar = progressBar(started);
    const result = await rebuild(store, readModels.db, bar);
    const seconds = (performance.now() - started) / 1000;
    bar(result, true);
    process.stdout.write(
      `Rebuilt the read models from ${result.events} events in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.events / seconds)} events/s); checkpoint ${result.position ?? 'none'}.\n`,
    );
    return 0;
  } finally {
    readModels.close();
  }
}

async function showStatus(config: LedgerConfig, store: EventStore): Promise<number> {
  const readModels = openReadModels(config.dataDir);
  try {
    const { checkpoint, head, lag } = await projectionStatus(store, readModels.db);
    const projector = activeProjector(readModels.db);
    process.stdout.write(
      [
        `Read models: ${readModels.file}`,
        `Checkpoint:  ${checkpoint ?? 'none (nothing applied yet)'}`,
        `Head:        ${head ?? 'none (the event store is empty)'}`,
        `Lag:         ${lag}`,
        `Projector:   ${projector === null ? 'none running on this machine' : `process ${projector}`}`,
      ].join('\n') + '\n',
    );
    return 0;
  } finally {
    readModels.close();
  }
}

async function replay(store: EventStore, incidentId: string): Promise<number> {
  const stored = await store.readStream(incidentStreamId(incidentId));
  if (stored.length === 0) {
    process.stderr.write(`No incident ${incidentId} in the event store.\n`);
    return 1;
  }
  // The timeline read model's order: occurredAt, then version.
  const entries = stored
    .map((event) => toTimelineEntry(toIncidentStreamEvent(event)!))
    .sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.version - b.version);
  process.stdout.write(`Incident ${incidentId}: ${entries.length} event${entries.length === 1 ? '' : 's'}\n`);
  for (const entry of entries) {
    const backdated = entry.backdated ? `  [backdated: recorded ${entry.recordedAt}]` : '';
    process.stdout.write(
      `${entry.occurredAt}  #${String(entry.version).padEnd(4)} ${entry.visibility.padEnd(8)} ` +
        `${entry.actor}: ${entry.description}${backdated}\n`,
    );
  }
  return 0;
}

/**
 * Draws "[#####.....] 12000/50000 events  41000 events/s  1 s left" on stderr: redrawn in place
 * on a terminal (at most every 100 ms), a line a second otherwise. The total is estimated from
 * positions, which is exact for the SQLite store (its positions count the events).
 */
function progressBar(started: number): (progress: RebuildProgress, last?: boolean) => void {
  const tty = process.stderr.isTTY;
  let drawn = 0;
  return ({ events, position, head }, last = false) => {
    const now = performance.now();
    if (!last && now - drawn < (tty ? 100 : 1_000)) return;
    drawn = now;
    const total =
      position !== null && head !== null && position > 0n
        ? Number((head * BigInt(events)) / position)
        : events;
    const done = Math.min(events / Math.max(total, 1), 1);
    const rate = events / Math.max((now - started) / 1000, 0.001);
    const bar = '#'.repeat(Math.round(done * 30)).padEnd(30, '.');
    const left = Math.ceil(Math.max(total - events, 0) / Math.max(rate, 1));
    const line = `[${bar}] ${events}/${total} events  ${Math.round(rate)} events/s  ${left} s left`;
    process.stderr.write(tty ? `\r${line}${last ? '\n' : ''}` : `${line}\n`);
  };
}

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
