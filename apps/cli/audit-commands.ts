/**
 * The audit commands of the CLI (`verify`, `export`, `verify-bundle`), thin over libs/audit.
 * Each prints its result to `out` and its progress to `progress`, and returns the exit code:
 * 0 done and valid, 1 a broken chain or bundle.
 */
import type { EventStore } from '../../libs/event-store/index.js';
import {
  exportBundle,
  verifyBundle,
  verifyStore,
  type BrokenLink,
  type ExportTarget,
  type OnProgress,
} from '../../libs/audit/index.js';

export interface ExportArgs {
  target: ExportTarget;
  outDir: string;
}

/** `--incident <id> --out <dir>` or `--all --out <dir>`; throws a RangeError saying what is wrong. */
export function parseExportArgs(args: string[]): ExportArgs {
  let incidentId: string | undefined;
  let all = false;
  let outDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flag === '--all') all = true;
    else if ((flag === '--incident' || flag === '--out') && i + 1 === args.length) {
      throw new RangeError(`${flag} needs a value`);
    } else if (flag === '--incident') incidentId = args[++i];
    else if (flag === '--out') outDir = args[++i];
    else throw new RangeError(`export does not take ${flag}`);
  }
  if (all === (incidentId !== undefined)) {
    throw new RangeError('export takes either --incident <id> or --all');
  }
  if (outDir === undefined) throw new RangeError('export needs --out <dir>');
  return { target: incidentId === undefined ? { all: true } : { incidentId }, outDir };
}

const TAIL_CAVEAT =
  'A chain cannot show a stream tail rewritten or dropped as a whole: compare the head hashes ' +
  'with those of an audit bundle exported earlier.\n';

export async function runVerify(
  store: EventStore,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
): Promise<number> {
  const report = await verifyStore(store, progressLine(progress, 'events checked'));
  if (report.firstBroken !== null) {
    const { streamId, version, position, problem } = report.firstBroken;
    out.write(`BROKEN: stream ${streamId}, version ${version} (position ${position}): ${problem}\n`);
    out.write(hashLines(report.firstBroken));
    return 1;
  }
  out.write(
    `OK: ${report.checkedEvents} events in ${report.checkedStreams} streams, every hash chain holds.\n`,
  );
  out.write(TAIL_CAVEAT);
  return 0;
}

export async function runExport(
  store: EventStore,
  args: ExportArgs,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream,
): Promise<number> {
  const manifest = await exportBundle(
    store,
    args.target,
    args.outDir,
    progressLine(progress, 'events exported'),
  );
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
    const { file, line, link, message } = report.problem;
    out.write(`INVALID bundle ${dir}: ${file}${line === null ? '' : ` line ${line}`}: ${message}\n`);
    if (link !== null) out.write(hashLines(link));
    return 1;
  }
  out.write(
    `OK: bundle ${dir} holds ${report.checkedEvents} events in ${report.checkedStreams} streams, ` +
      `every hash chain holds and matches the manifest.\nDigest: ${report.manifest?.digest}\n`,
  );
  return 0;
}

function hashLines({ expectedHash, foundHash }: BrokenLink): string {
  return (
    (expectedHash === null ? '' : `  expected hash ${expectedHash}\n`) +
    (foundHash === null ? '' : `  found hash    ${foundHash}\n`)
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
