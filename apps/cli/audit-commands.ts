/**
 * The audit commands of the CLI (`replay`, `verify`, `export`, `verify-bundle`), thin over
 * libs/audit. Each prints its result to `out` and its progress and warnings to `progress`, and
 * returns the exit code: 0 done and valid, 1 a broken chain or bundle (or no such incident).
 */
import { isUUID } from 'class-validator';
import { incidentStreamId } from '../../libs/domain/index.js';
import type { EventStore } from '../../libs/event-store/index.js';
import { SqliteEventStore } from '../../libs/event-store/sqlite/sqlite-event-store.js';
import {
  exportBundle,
  verifyBundle,
  verifyStore,
  verifyStreamEvents,
  type BrokenLink,
  type ExportTarget,
  type OnProgress,
} from '../../libs/audit/index.js';
import { toIncidentStreamEvent, toTimelineEntry } from '../../libs/read-models/index.js';

/**
 * An incident id from the command line; a RangeError, as the API's BAD_USER_INPUT, when it is no
 * UUID (the check the API's inputs use).
 */
export function parseIncidentId(value: string, argument: string): string {
  if (!isUUID(value)) throw new RangeError(`${argument} must be a UUID`);
  return value;
}

export interface ExportArgs {
  target: ExportTarget;
  outDir: string;
}

/** `--incident <id> --out <dir>` or `--all --out <dir>`; throws a RangeError saying what is wrong. */
export function parseExportArgs(args: string[]): ExportArgs {
  let incidentId: string | undefined;
  let all = false;
  let outDir: string | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (seen.has(flag)) throw new RangeError(`export takes ${flag} once`);
    seen.add(flag);
    if (flag === '--all') all = true;
    else if ((flag === '--incident' || flag === '--out') && i + 1 === args.length) {
      throw new RangeError(`${flag} needs a value`);
    } else if (flag === '--incident') incidentId = parseIncidentId(args[++i], '--incident');
    else if (flag === '--out') outDir = args[++i];
    else throw new RangeError(`export does not take ${flag}`);
  }
  if (all === (incidentId !== undefined)) {
    throw new RangeError('export takes either --incident <id> or --all');
  }
  if (outDir === undefined) throw new RangeError('export needs --out <dir>');
  return { target: incidentId === undefined ? { all: true } : { incidentId }, outDir };
}

/**
 * The incident's history as a timeline, a line an event, in the timeline read model's order and
 * words, read from the event store. Its hash chain is checked: when broken, the history is still
 * printed, and `progress` says where the chain breaks (exit code 1).
 */
export async function runReplay(
  store: EventStore,
  incidentId: string,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
): Promise<number> {
  const streamId = incidentStreamId(incidentId);
  const stored = await store.readStream(streamId);
  if (stored.length === 0) {
    progress.write(`No incident ${incidentId} in the event store.\n`);
    return 1;
  }
  const integrity = verifyStreamEvents(stored);
  // The timeline read model's order: occurredAt, then version.
  const entries = stored
    .map((event) => toTimelineEntry(toIncidentStreamEvent(event)!))
    .sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.version - b.version);
  out.write(`Incident ${incidentId}: ${entries.length} event${entries.length === 1 ? '' : 's'}\n`);
  for (const entry of entries) {
    const backdated = entry.backdated ? `  [backdated: recorded ${printable(entry.recordedAt)}]` : '';
    out.write(
      `${printable(entry.occurredAt)}  #${String(entry.version).padEnd(4)} ${printable(entry.visibility).padEnd(8)} ` +
        `${printable(entry.actor)}: ${printable(entry.description)}${backdated}\n`,
    );
  }
  if (integrity.valid) return 0;
  const version = integrity.firstBrokenVersion!;
  progress.write(
    brokenLine({ ...integrity, streamId, version, problem: integrity.problem! }) +
      `The history above cannot be trusted from version ${Math.max(version - 1, 1)} on: the event store ` +
      'was changed outside the ledger (`verify` checks every stream).\n',
  );
  return 1;
}

/**
 * `text` on one line and harmless to a terminal: control characters (newlines, escape sequences),
 * line separators and bidirectional overrides are escaped as \n, \u001b…, and `\` as `\\`, so
 * that text from the store or a bundle can neither forge lines nor drive the terminal.
 */
export function printable(text: string): string {
  return text.replace(
    /[\\\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}]/gu,
    (char) => ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const TAIL_CAVEAT =
  'A chain cannot show a stream tail rewritten or dropped as a whole: compare the head hashes ' +
  'with those of an audit bundle exported earlier.\n';

export async function runVerify(
  store: EventStore,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
): Promise<number> {
  const report = await verifyStore(store, {
    onProgress: progressLine(progress, 'events checked'),
    // The embedded store's positions count its events: one missing is an event removed.
    positionsHandedOut: store instanceof SqliteEventStore ? await store.positionsHandedOut() : undefined,
  });
  for (const link of report.broken) out.write(brokenLine(link));
  for (const { from, to } of report.missingPositions) {
    const which = from === to ? `position ${from} was` : `positions ${from} to ${to} were`;
    out.write(
      `MISSING: ${which} handed out by the store, but no event holds ${from === to ? 'it' : 'them'}: ` +
        "events were removed from the log (a whole stream, or a stream's newest events, which no chain " +
        'shows).\n',
    );
  }
  if (!report.valid) {
    const found = [`${report.broken.length} of ${report.checkedStreams} streams broken (the others verify)`];
    if (report.missingPositions.length > 0) found.push('events removed from the log');
    out.write(`NOT OK: ${found.join('; ')}.\n`);
    return 1;
  }
  out.write(
    `OK: ${report.checkedEvents} events in ${report.checkedStreams} streams, every hash chain holds.\n`,
  );
  out.write(TAIL_CAVEAT);
  return 0;
}

/**
 * Exports a bundle; aborted through `signal`, removes what it wrote and returns 130. Says on
 * `progress` which partial bundles of other exports it removed from the parent, or left there.
 */
export async function runExport(
  store: EventStore,
  args: ExportArgs,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
  signal?: AbortSignal,
): Promise<number> {
  let manifest;
  try {
    manifest = await exportBundle(
      store,
      args.target,
      args.outDir,
      progressLine(progress, 'events exported'),
      signal,
      ({ dir, removed, reason }) =>
        progress.write(`${printable(`${removed ? 'Removed' : 'Left'} ${dir}: ${reason}`)}.\n`),
    );
  } catch (error) {
    if (!signal?.aborted) throw error;
    progress.write(`Interrupted: nothing was written to ${args.outDir}.\n`);
    return 130;
  }
  out.write(
    `Exported ${manifest.eventCount} events of ${manifest.streams.length} streams to ${args.outDir}\n` +
      `Digest: ${manifest.digest}\n` +
      'Record the digest somewhere the bundle cannot be changed from: it is what later proves the bundle unchanged.\n',
  );
  return 0;
}

export async function runVerifyBundle(
  dir: string,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
): Promise<number> {
  const report = await verifyBundle(dir, progressLine(progress, 'events checked'));
  if (report.problem !== null) {
    // The message quotes the bundle, which may be anyone's.
    const { file, line, link, message } = report.problem;
    out.write(
      printable(`INVALID bundle ${dir}: ${file}${line === null ? '' : ` line ${line}`}: ${message}`) + '\n',
    );
    if (link !== null) out.write(hashLines(link));
    return 1;
  }
  out.write(
    `OK: bundle ${dir} holds ${report.checkedEvents} events in ${report.checkedStreams} streams, ` +
      `every hash chain holds and matches the manifest.\nDigest: ${report.manifest?.digest}\n`,
  );
  return 0;
}

/** "BROKEN: stream …, version 2 (position 19): the hash does not match…", and the hashes. */
function brokenLine(link: Omit<BrokenLink, 'position'> & { position?: bigint }): string {
  const at = link.position === undefined ? '' : ` (position ${link.position})`;
  return (
    printable(`BROKEN: stream ${link.streamId}, version ${link.version}${at}: ${link.problem}`) +
    `\n${hashLines(link)}`
  );
}

/** The found hash is the store's or the bundle's, as anyone may have written it: shown escaped. */
function hashLines({ expectedHash, foundHash }: Pick<BrokenLink, 'expectedHash' | 'foundHash'>): string {
  return (
    (expectedHash === null ? '' : `  expected hash ${expectedHash}\n`) +
    (foundHash === null ? '' : `  found hash    ${printable(foundHash)}\n`)
  );
}

/** "12000/50000 events checked", at most a line a second. */
function progressLine(out: NodeJS.WritableStream, what: string): OnProgress {
  let written = performance.now();
  return ({ done, total }) => {
    if (performance.now() - written < 1000) return;
    written = performance.now();
    out.write(`${done}${total === undefined ? '' : `/${total}`} ${what}\n`);
  };
}
