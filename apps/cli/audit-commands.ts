/**
 * The audit commands of the CLI (`replay`, `verify`, `export`, `verify-bundle`), thin over
 * libs/audit. Each prints its result to `out` and its progress and warnings to `progress`, and
 * returns the exit code: 0 done and valid, 1 a broken chain or bundle, a store changed since a
 * bundle, or no such incident.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isUUID } from 'class-validator';
import { incidentStreamId } from '../../libs/domain/index.js';
import type { EventStore } from '../../libs/event-store/index.js';
import { SqliteEventStore } from '../../libs/event-store/sqlite/sqlite-event-store.js';
import {
  compareWithBundle,
  EVENTS_FILE,
  exportBundle,
  MANIFEST_FILE,
  verifyBundle,
  verifyStore,
  verifyStreamEvents,
  type BrokenLink,
  type BundleComparison,
  type BundleManifest,
  type FirstEvent,
  type ExportTarget,
  type OnProgress,
  type StreamChange,
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

/** A bundle to check, and the digest recorded when it was exported (lowercase), if given. */
export interface BundleArgs {
  dir: string;
  recordedDigest?: string;
}

/** `verify-bundle <dir> [--digest <hex>]`; throws a RangeError saying what is wrong. */
export function parseVerifyBundleArgs(args: string[]): BundleArgs {
  const { values, operands } = parseFlags('verify-bundle', args, ['--digest']);
  if (operands.length !== 1) throw new RangeError('verify-bundle takes one bundle directory');
  return bundleArgs(operands[0], values.get('--digest'));
}

/**
 * `verify [--against <bundle-dir> [--digest <hex>]]`: the bundle to compare the store with, if
 * any; throws a RangeError saying what is wrong.
 */
export function parseVerifyArgs(args: string[]): BundleArgs | undefined {
  const { values, operands } = parseFlags('verify', args, ['--against', '--digest']);
  if (operands.length > 0) throw new RangeError(`verify does not take ${operands.join(' ')}`);
  const dir = values.get('--against');
  if (dir !== undefined) return bundleArgs(dir, values.get('--digest'));
  if (values.has('--digest')) {
    throw new RangeError(
      "verify takes --digest with --against <bundle-dir> only: it is that bundle's recorded digest",
    );
  }
  return undefined;
}

/**
 * The `--flag <value>` pairs of `args`, each of `flags` at most once, and the other arguments;
 * throws a RangeError for another flag, one given twice or one without its value.
 */
function parseFlags(
  command: string,
  args: string[],
  flags: string[],
): { values: Map<string, string>; operands: string[] } {
  const values = new Map<string, string>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      operands.push(arg);
      continue;
    }
    if (!flags.includes(arg)) throw new RangeError(`${command} does not take ${arg}`);
    if (values.has(arg)) throw new RangeError(`${command} takes ${arg} once`);
    const value = args[++i];
    // `--against --digest <hex>`: the flag's value was forgotten, not a directory named --digest.
    if (value === undefined || value.startsWith('--')) throw new RangeError(`${arg} needs a value`);
    values.set(arg, value);
  }
  return { values, operands };
}

/**
 * The bundle of the command line; a RangeError when `dir` cannot be one (no directory, or one
 * that holds neither of a bundle's files) or `digest` no SHA-256. A bundle that lost one of its
 * files is still checked, and fails.
 */
function bundleArgs(dir: string, digest: string | undefined): BundleArgs {
  if (digest !== undefined && !/^[0-9a-f]{64}$/i.test(digest)) {
    throw new RangeError('--digest must be a SHA-256 in hex (64 digits), as export printed it');
  }
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) {
    throw new RangeError(`${dir} is not a directory: a bundle is the directory that export wrote`);
  }
  if (!existsSync(join(dir, MANIFEST_FILE)) && !existsSync(join(dir, EVENTS_FILE))) {
    throw new RangeError(`${dir} is no audit bundle: it holds neither ${MANIFEST_FILE} nor ${EVENTS_FILE}`);
  }
  return digest === undefined ? { dir } : { dir, recordedDigest: digest.toLowerCase() };
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
  'A chain cannot show a stream tail rewritten or dropped as a whole: `verify --against <bundle-dir>` ' +
  'compares the head hashes with those of an audit bundle exported earlier.\n';

/**
 * Checks every stream's chain; `against` a bundle, checks the bundle first (and stops there if it
 * fails), then that the store still holds each of its streams up to its head hash, and, for a
 * bundle of the whole log, that it holds no other stream recorded before the export. When the
 * store is not OK, the streams changed since the bundle come before that verdict, and no word on
 * the others: a matching head hash vouches for its stream only along a chain that holds.
 */
export async function runVerify(
  store: EventStore,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
  against?: BundleArgs,
): Promise<number> {
  let manifest: BundleManifest | undefined;
  if (against !== undefined) {
    const checked = await checkBundle(against, `verify --against ${against.dir}`, out, progress);
    if (checked === null) {
      out.write('The store was not compared with it.\n');
      return 1;
    }
    manifest = checked;
  }
  const firstEvents: FirstEvent[] = [];
  const report = await verifyStore(store, {
    onProgress: progressLine(progress, 'events checked'),
    // The embedded store's positions count its events: one missing is an event removed.
    positionsHandedOut: store instanceof SqliteEventStore ? await store.positionsHandedOut() : undefined,
    onFirstEvent:
      manifest &&
      (({ streamId, recordedAt, globalPosition }) =>
        firstEvents.push({ streamId, recordedAt, globalPosition })),
  });
  const anchor: Anchor | undefined = manifest && {
    manifest,
    comparison: await compareWithBundle(
      store,
      manifest,
      firstEvents,
      progressLine(progress, 'streams compared'),
    ),
  };
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
    if (anchor !== undefined) out.write(changeLines(anchor.comparison));
    const found = [`${report.broken.length} of ${report.checkedStreams} streams broken (the others verify)`];
    if (report.missingPositions.length > 0) found.push('events removed from the log');
    out.write(`NOT OK: ${found.join('; ')}.\n`);
    return 1;
  }
  out.write(
    `OK: ${report.checkedEvents} events in ${report.checkedStreams} streams, every hash chain holds.\n`,
  );
  if (anchor !== undefined) return writeAnchorVerdict(anchor, out);
  out.write(TAIL_CAVEAT);
  return 0;
}

/** A bundle that passed its check, and the store compared with its head hashes. */
interface Anchor {
  manifest: BundleManifest;
  comparison: BundleComparison;
}

/**
 * "CHANGED: stream …", a line for each stream of the bundle that the store no longer holds as
 * exported, then for each stream not in the bundle that was recorded before it.
 */
function changeLines(comparison: BundleComparison): string {
  const changed = comparison.changes.map(
    (change) =>
      `${printable(`CHANGED: stream ${change.streamId}${howChanged(change)}`)}\n` +
      (change.change === 'rewritten' ? hashLines(change) : ''),
  );
  const recordedBefore = (comparison.recordedBefore ?? []).map(
    ({ streamId, recordedAt, position }) =>
      printable(
        `CHANGED: stream ${streamId} is not in the bundle but recorded before its export (its first event: ` +
          `recorded at ${recordedAt}, position ${position}): inserted afterwards, or the bundle is not of the whole log`,
      ) + '\n',
  );
  return [...changed, ...recordedBefore].join('');
}

function howChanged(change: StreamChange): string {
  switch (change.change) {
    case 'missing':
      return ` is missing from the store (the bundle had it up to version ${change.bundleVersion})`;
    case 'shortened':
      return ` was shortened: found version ${change.foundVersion}, the bundle had version ${change.bundleVersion}`;
    case 'rewritten':
      return (
        `: head hash differs at version ${change.bundleVersion}` +
        (change.foundHash === null ? ' (the store has no event at that version)' : '')
      );
  }
}

/**
 * Once every chain of the store held, which makes a matching head hash vouch for its stream up
 * to there: the changes, or that the bundle's streams are unchanged and the others created since.
 * Returns the exit code.
 */
function writeAnchorVerdict({ manifest, comparison }: Anchor, out: NodeJS.WritableStream): number {
  const { scope } = manifest;
  const exported = `exported at ${manifest.createdAt}`;
  const bundleStreams = `${manifest.streams.length} streams of the bundle, ${exported},`;
  const verdicts: string[] = [];
  if (comparison.changes.length > 0) {
    verdicts.push(
      `CHANGED: ${comparison.changes.length} of the ${bundleStreams} differ in the store: deleted, cut short or rewritten since.`,
    );
  }
  if (comparison.recordedBefore !== null && comparison.recordedBefore.length > 0) {
    const through =
      'all' in scope && scope.throughPosition !== null ? ` through position ${scope.throughPosition}` : '';
    verdicts.push(
      `CHANGED: ${comparison.recordedBefore.length} streams of the store not in the bundle, ${exported}${through}, ` +
        'were recorded before it.',
    );
  }
  out.write(changeLines(comparison));
  if (verdicts.length > 0) {
    out.write(verdicts.map((verdict) => `${printable(verdict)}\n`).join(''));
    return 1;
  }
  out.write(
    printable(
      `OK: ${bundleStreams} are unchanged in the store; events appended to them since: ${comparison.appendedSince}.`,
    ) +
      '\n' +
      (comparison.recordedBefore === null
        ? `Streams of the store not in the bundle, which holds one incident's: ${comparison.otherStreams} ` +
          '(whether any was inserted since, only a bundle of the whole log can tell).\n'
        : `Streams created since the export: ${comparison.otherStreams}.\n`),
  );
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
      'Record the digest somewhere the bundle cannot be changed from: it is what later proves the bundle unchanged ' +
      printable(`(verify-bundle ${args.outDir} --digest ${manifest.digest}).`) +
      '\n',
  );
  return 0;
}

export async function runVerifyBundle(
  bundle: BundleArgs,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
): Promise<number> {
  return (await checkBundle(bundle, `verify-bundle ${bundle.dir}`, out, progress)) === null ? 1 : 0;
}

/**
 * Checks the bundle, against the digest recorded at export when given, and says so on `out`;
 * returns its manifest when it passed. Without that digest, says that the bundle is only
 * consistent with itself, and how to check it: `command` followed by --digest.
 */
async function checkBundle(
  { dir, recordedDigest }: BundleArgs,
  command: string,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
): Promise<BundleManifest | null> {
  const report = await verifyBundle(dir, progressLine(progress, 'events checked'), recordedDigest);
  if (report.problem !== null) {
    // The message quotes the bundle, which may be anyone's.
    const { file, line, link, message } = report.problem;
    out.write(
      printable(`INVALID bundle ${dir}: ${file}${line === null ? '' : ` line ${line}`}: ${message}`) + '\n',
    );
    if (link !== null) out.write(hashLines(link));
    return null;
  }
  const manifest = report.manifest!;
  out.write(
    `OK: bundle ${dir} holds ${report.checkedEvents} events in ${report.checkedStreams} streams, ` +
      `every hash chain holds and matches the manifest.\nDigest: ${manifest.digest}`,
  );
  out.write(
    recordedDigest === undefined
      ? '\nThis shows only that the bundle is consistent with itself: one rewritten with every hash ' +
          'recomputed would be too. To show it is the bundle exported, check it against the digest recorded then: ' +
          `${printable(command)} --digest <recorded digest>\n`
      : ', the digest recorded at export (--digest).\n',
  );
  return manifest;
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
