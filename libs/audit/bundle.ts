/**
 * Audit bundles: a self-contained export that an auditor checks with no server and no database.
 *
 *   events.jsonl   one stored event per line, in global order, as canonical JSON (keys sorted,
 *                  globalPosition as a decimal string): the envelope, the data and the hash.
 *   manifest.json  canonical JSON: the scope, the event count, each stream's event count,
 *                  versions and head hash, the SHA-256 of events.jsonl's bytes, and `digest`,
 *                  the SHA-256 of the canonical manifest without `digest`.
 *
 * Verifying by hand: sha256sum events.jsonl equals eventsSha256; each stream's hashes chain
 * from GENESIS_HASH with chainHash (hash-chain.ts); each stream's last hash is its headHash.
 *
 * Every byte of both files is covered: events.jsonl by eventsSha256, manifest.json by its
 * digest and by having to be byte for byte the canonical JSON of what it says. Nothing is
 * signed, though: someone who rewrites a bundle and recomputes every hash gets a bundle that
 * verifies, with other head hashes and another digest. What makes a bundle evidence is its
 * digest (or head hashes) recorded somewhere the writer of the bundle cannot reach, when it
 * was exported: verifyBundle checks the digest when given it (`cli verify-bundle --digest`).
 * The head hashes of a bundle so checked are also the anchor that catches a store whose
 * stream tails were rewritten consistently since (see integrity.ts and bundle-anchor.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { incidentStreamId } from '../domain/index.js';
import { canonicalJson, hashedContent, type EventStore, type StoredEvent } from '../event-store/index.js';
import { syncDirectory } from '../event-store/sqlite/sync-directory.js';
import { isAlive } from '../local-process/local-process.js';
import { ChainVerifier, logPages, type BrokenLink, type OnProgress } from './integrity.js';

export const BUNDLE_FORMAT = 'incident-ledger-audit-bundle';
export const BUNDLE_FORMAT_VERSION = 1;
export const EVENTS_FILE = 'events.jsonl';
export const MANIFEST_FILE = 'manifest.json';

export type ExportTarget = { incidentId: string } | { all: true };

/** What a bundle holds: one incident's stream, or the whole log up to a position (null: the store was empty). */
export type BundleScope = { incidentId: string } | { all: true; throughPosition: string | null };

export interface StreamSummary {
  streamId: string;
  eventCount: number;
  firstVersion: number;
  lastVersion: number;
  headHash: string;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: typeof BUNDLE_FORMAT_VERSION;
  createdAt: string;
  scope: BundleScope;
  eventCount: number;
  /** Sorted by streamId. */
  streams: StreamSummary[];
  eventsSha256: string;
  digest: string;
}

/** Lines between two progress reports while verifying a bundle. */
const PROGRESS_EVERY = 1000;

/** An export found a broken hash chain: a bundle of it would certify altered history. */
export class BrokenChainError extends Error {
  constructor(readonly link: BrokenLink) {
    super(
      `the hash chain of stream ${link.streamId} breaks at version ${link.version} (position ` +
        `${link.position}): ${link.problem}. A bundle would certify altered history: nothing was exported.`,
    );
  }
}

/**
 * Writes events.jsonl, then manifest.json, into a new directory `outDir`; refuses one that exists.
 * Streams are always exported whole, from version 1, and their hash chains checked on the way:
 * a broken one fails the export (BrokenChainError). `all` exports the log as it stood when the
 * export started. The files are written into a temporary sibling directory, renamed to `outDir`
 * once complete: an export that fails, or is aborted through `signal`, leaves nothing behind.
 * Each file, the directory and its parent are synced to disk before it returns, so that a bundle
 * reported exported survives a power cut whole. An export killed outright leaves its temporary
 * directory: the next one into the same parent removes it (see removeDeadPartials), and tells
 * `onPartial` of it and of those it leaves. Returns the manifest.
 */
export async function exportBundle(
  store: EventStore,
  target: ExportTarget,
  outDir: string,
  onProgress?: OnProgress,
  signal?: AbortSignal,
  onPartial?: (partial: PartialBundle) => void,
): Promise<BundleManifest> {
  const createdAt = new Date().toISOString();
  if (existsSync(outDir)) {
    throw new Error(
      `${outDir} already exists: an export writes a new directory, and never into an existing one`,
    );
  }
  let scope: BundleScope;
  let pages: AsyncIterable<StoredEvent[]> | StoredEvent[][];
  if ('incidentId' in target) {
    const events = await store.readStream(incidentStreamId(target.incidentId));
    if (events.length === 0) throw new Error(`Incident ${target.incidentId} has no events`);
    scope = { incidentId: target.incidentId };
    pages = [events];
  } else {
    const head = await store.headPosition();
    scope = { all: true, throughPosition: head?.toString() ?? null };
    pages = logPages(store, head);
  }

  const out = resolve(outDir);
  const parent = dirname(out);
  const created = await mkdir(parent, { recursive: true });
  await removeDeadPartials(parent, onPartial);
  const partial = await mkdtemp(join(parent, `.${basename(out)}.partial-${hostname()}-${process.pid}-`));
  let manifest: BundleManifest;
  try {
    manifest = await writeBundle(partial, createdAt, scope, pages, onProgress, signal);
    signal?.throwIfAborted();
    await syncDirectory(partial);
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  // The rename is an entry of the parent, and each directory this export created one of its own parent.
  let dir = parent;
  await syncDirectory(dir);
  while (created !== undefined && dir !== dirname(created)) {
    dir = dirname(dir);
    await syncDirectory(dir);
  }
  return manifest;
}

/**
 * An export's temporary directory: `.<bundle>.partial-<host>-<pid>-XXXXXX`, named after the process
 * that writes it; an earlier release's, `.<bundle>.partial-XXXXXX`, names none.
 */
const PARTIAL_NAME = /^\..+\.partial-(?:(.+)-(\d+)-)?[A-Za-z0-9]{6}$/;

/** Another export's temporary directory, found in the parent of a new bundle. */
export interface PartialBundle {
  dir: string;
  removed: boolean;
  /** Whose it is, and why it was removed or left. */
  reason: string;
}

/**
 * Removes from `parent` the temporary directories of exports killed outright (kill -9, a crash,
 * a power cut): those named after a process of this machine that no longer runs, holding nothing
 * but a bundle's files. Any other is left, never deleted unsure: a live process's (another
 * export's, or a reused process id's), another machine's, an earlier release's.
 */
async function removeDeadPartials(
  parent: string,
  onPartial?: (partial: PartialBundle) => void,
): Promise<void> {
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    const name = PARTIAL_NAME.exec(entry.name);
    if (name === null || !entry.isDirectory()) continue;
    const dir = join(parent, entry.name);
    const verdict = await removeIfDead(dir, name[1], name[2]);
    if (verdict !== null) onPartial?.({ dir, ...verdict });
  }
}

/** Removes the partial bundle `dir` if its writer is dead; null if it is gone already. */
async function removeIfDead(
  dir: string,
  host: string | undefined,
  pid: string | undefined,
): Promise<Omit<PartialBundle, 'dir'> | null> {
  const left = (reason: string) => ({ removed: false, reason });
  if (host === undefined) {
    return left(
      "the partial bundle of an earlier release's export, which does not name its process (delete it if no export is running)",
    );
  }
  if (host !== hostname()) {
    return left(
      `the partial bundle of an export on host ${host}, whose processes cannot be checked from here (delete it if that export no longer runs)`,
    );
  }
  const by = `the partial bundle of an export by process ${pid}`;
  if (isAlive(Number(pid))) return left(`${by}, which is running (if that process is no export, delete it)`);
  try {
    if ((await readdir(dir)).some((file) => file !== EVENTS_FILE && file !== MANIFEST_FILE)) {
      return left(`named as ${by}, which no longer runs, but it holds files that an export does not write`);
    }
    await rm(dir, { recursive: true, force: true });
    return { removed: true, reason: `${by}, which no longer runs` };
  } catch (error) {
    // Another export removed it first.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return left(`${by}, which no longer runs, and it cannot be removed (${(error as Error).message})`);
  }
}

async function writeBundle(
  dir: string,
  createdAt: string,
  scope: BundleScope,
  pages: AsyncIterable<StoredEvent[]> | StoredEvent[][],
  onProgress: OnProgress | undefined,
  signal: AbortSignal | undefined,
): Promise<BundleManifest> {
  const verifier = new ChainVerifier();
  const eventsSha256 = createHash('sha256');
  let eventCount = 0;
  async function* chunks(): AsyncGenerator<string> {
    for await (const page of pages) {
      for (const event of page) {
        const broken = verifier.check(event);
        if (broken !== null) throw new BrokenChainError(broken);
      }
      const chunk = page.map(toBundleLine).join('');
      eventsSha256.update(chunk);
      eventCount += page.length;
      onProgress?.({ done: eventCount });
      yield chunk;
    }
  }
  // flush: each file is fsynced before it is closed, as the manifest below. Both hold internal
  // notes: readable by their owner only, as the directory (mkdtemp's) and the data dir's files.
  const events = createWriteStream(join(dir, EVENTS_FILE), { flags: 'wx', flush: true, mode: 0o600 });
  await pipeline(Readable.from(chunks()), events, { signal });

  const manifest = withDigest({
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    createdAt,
    scope,
    eventCount,
    streams: [...verifier.streams]
      .map(([streamId, head]) => streamSummary(streamId, head))
      .sort((a, b) => (a.streamId < b.streamId ? -1 : 1)),
    eventsSha256: eventsSha256.digest('hex'),
  });
  await writeFile(join(dir, MANIFEST_FILE), `${canonicalJson(manifest)}\n`, {
    flag: 'wx',
    flush: true,
    mode: 0o600,
  });
  return manifest;
}

/** Where a bundle fails: the file, the line of events.jsonl, the broken link of a chain. */
export interface BundleProblem {
  file: typeof EVENTS_FILE | typeof MANIFEST_FILE;
  /** 1-based; null for the manifest and for checks of the whole file. */
  line: number | null;
  link: BrokenLink | null;
  message: string;
}

export interface BundleReport {
  valid: boolean;
  /** Events checked, the first broken one included. */
  checkedEvents: number;
  checkedStreams: number;
  /** Null when the manifest itself failed. */
  manifest: BundleManifest | null;
  problem: BundleProblem | null;
}

/**
 * Checks a bundle from its files alone, reading events.jsonl line by line; stops at the first
 * problem: the manifest (canonical bytes, digest, format, and the digest recorded at export when
 * given), then each line (an event as exported, of the scope's stream, continuing its stream's
 * chain from genesis), then events.jsonl's SHA-256, the event count, the last position (of a
 * bundle of the whole log) and each stream's summary against the manifest. Without `recordedDigest`, a valid bundle is only consistent with itself.
 */
export async function verifyBundle(
  dir: string,
  onProgress?: OnProgress,
  recordedDigest?: string,
): Promise<BundleReport> {
  const verifier = new ChainVerifier();
  let manifest: BundleManifest | null = null;
  try {
    manifest = await readManifest(join(dir, MANIFEST_FILE));
    if (recordedDigest !== undefined && manifest.digest !== recordedDigest) {
      throw manifestProblem(
        `its digest ${manifest.digest} is not the digest recorded at export, ${recordedDigest}: ` +
          'this is not the bundle that was exported',
      );
    }
    await checkEvents(join(dir, EVENTS_FILE), manifest, verifier, onProgress);
    checkStreams(manifest, verifier);
  } catch (error) {
    if (!(error instanceof BundleProblemError)) throw error;
    return {
      valid: false,
      checkedEvents: verifier.checkedEvents,
      checkedStreams: verifier.streams.size,
      manifest,
      problem: error.problem,
    };
  }
  return {
    valid: true,
    checkedEvents: verifier.checkedEvents,
    checkedStreams: verifier.streams.size,
    manifest,
    problem: null,
  };
}

class BundleProblemError extends Error {
  constructor(readonly problem: BundleProblem) {
    super(problem.message);
  }
}

function manifestProblem(message: string): BundleProblemError {
  return new BundleProblemError({ file: MANIFEST_FILE, line: null, link: null, message });
}

function eventsProblem(message: string, line: number | null = null, link: BrokenLink | null = null) {
  return new BundleProblemError({ file: EVENTS_FILE, line, link, message });
}

/** One event as a line of events.jsonl. */
function toBundleLine(event: StoredEvent): string {
  const line = { ...hashedContent(event), globalPosition: event.globalPosition.toString(), hash: event.hash };
  return `${canonicalJson(line)}\n`;
}

/** A stream of a bundle, whose chain from version 1 verified up to `head`. */
function streamSummary(streamId: string, head: { version: number; hash: string }): StreamSummary {
  return {
    streamId,
    eventCount: head.version,
    firstVersion: 1,
    lastVersion: head.version,
    headHash: head.hash,
  };
}

/** The manifest with its digest: the hash of all its other fields (exported for a test's forger). */
export function withDigest(manifest: Omit<BundleManifest, 'digest'>): BundleManifest {
  return { ...manifest, digest: sha256(canonicalJson(manifest)) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function readManifest(path: string): Promise<BundleManifest> {
  const bytes = await readFile(path).catch((error: Error) => {
    throw manifestProblem(`cannot be read (${error.message})`);
  });
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as BundleManifest;
  } catch {
    throw manifestProblem('not JSON');
  }
  // Whitespace and key order do not change what JSON says; requiring the exact bytes written
  // makes every byte of the file count.
  if (!Buffer.from(`${canonicalJson(manifest)}\n`).equals(bytes)) {
    throw manifestProblem('not byte for byte the canonical JSON that an export writes');
  }
  if (typeof manifest !== 'object' || manifest === null) throw manifestProblem('not a JSON object');
  const { digest, ...rest } = manifest;
  const computed = withDigest(rest).digest;
  if (digest !== computed) {
    throw manifestProblem(`its digest ${String(digest)} does not match its content (${computed})`);
  }
  if (manifest.format !== BUNDLE_FORMAT || manifest.formatVersion !== BUNDLE_FORMAT_VERSION) {
    throw manifestProblem(
      `format ${String(manifest.format)} version ${String(manifest.formatVersion)}; this release reads ${BUNDLE_FORMAT} version ${BUNDLE_FORMAT_VERSION}`,
    );
  }
  if (!Array.isArray(manifest.streams) || typeof manifest.scope !== 'object' || manifest.scope === null) {
    throw manifestProblem('no list of streams or no scope');
  }
  return manifest;
}

async function checkEvents(
  path: string,
  manifest: BundleManifest,
  verifier: ChainVerifier,
  onProgress: OnProgress | undefined,
): Promise<void> {
  const input = createReadStream(path);
  // The SHA-256 is over the bytes as read, whatever the lines decode to.
  const sha = createHash('sha256');
  input.on('data', (chunk) => sha.update(chunk));
  const scopeStream = 'incidentId' in manifest.scope ? incidentStreamId(manifest.scope.incidentId) : null;
  let line = 0;
  let lastPosition: string | null = null;
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line += 1;
      const event = parseBundleLine(text, line);
      if (scopeStream !== null && event.streamId !== scopeStream) {
        throw eventsProblem(`an event of stream ${event.streamId} in a bundle of ${scopeStream}`, line);
      }
      const broken = verifier.check(event);
      if (broken !== null) {
        throw eventsProblem(
          `stream ${broken.streamId} version ${broken.version}: ${broken.problem}`,
          line,
          broken,
        );
      }
      lastPosition = event.globalPosition.toString();
      if (line % PROGRESS_EVERY === 0) onProgress?.({ done: line, total: manifest.eventCount });
    }
  } catch (error) {
    if (error instanceof BundleProblemError) throw error;
    throw eventsProblem(`cannot be read (${(error as Error).message})`, line === 0 ? null : line);
  } finally {
    input.destroy();
  }
  onProgress?.({ done: line, total: manifest.eventCount });
  const found = sha.digest('hex');
  if (found !== manifest.eventsSha256) {
    throw eventsProblem(`its SHA-256 is ${found}; the manifest says ${String(manifest.eventsSha256)}`);
  }
  if (line !== manifest.eventCount) {
    throw eventsProblem(`${line} events; the manifest says ${String(manifest.eventCount)}`);
  }
  // The export read the log through its head: the scope's position is the last event's.
  if ('all' in manifest.scope && manifest.scope.throughPosition !== lastPosition) {
    throw eventsProblem(
      `the manifest's scope is the log through position ${String(manifest.scope.throughPosition)}, but ` +
        (lastPosition === null ? 'there is no event' : `the last event is at position ${lastPosition}`),
    );
  }
}

const isString = (value: unknown) => typeof value === 'string';
const isStringOrNull = (value: unknown) => value === null || typeof value === 'string';
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The type of every field of a line but globalPosition (a decimal string in the file). */
const FIELD_CHECKS: Record<Exclude<keyof StoredEvent, 'globalPosition'>, (value: unknown) => boolean> = {
  eventId: isString,
  type: isString,
  schemaVersion: isCount,
  data: isObject,
  occurredAt: isString,
  actor: isString,
  correlationId: isString,
  causationId: isStringOrNull,
  idempotencyKey: isStringOrNull,
  requestFingerprint: isStringOrNull,
  streamId: isString,
  streamVersion: isCount,
  recordedAt: isString,
  hash: isString,
};

function parseBundleLine(text: string, line: number): StoredEvent {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw eventsProblem('not JSON', line);
  }
  if (!isObject(value) || typeof value.globalPosition !== 'string' || !/^\d+$/.test(value.globalPosition)) {
    throw eventsProblem('not an event with a decimal globalPosition', line);
  }
  const wrong = Object.entries(FIELD_CHECKS).find(([field, check]) => !check(value[field]));
  if (wrong !== undefined) throw eventsProblem(`field ${wrong[0]} is missing or of the wrong type`, line);
  const event = { ...value, globalPosition: BigInt(value.globalPosition) } as StoredEvent;
  // Also refuses extra fields and any other spelling of the same event.
  if (toBundleLine(event) !== `${text}\n`) throw eventsProblem('not the canonical line of its event', line);
  return event;
}

/** Each stream of the manifest ends where its chain in events.jsonl ended, and no other stream is there. */
function checkStreams(manifest: BundleManifest, verifier: ChainVerifier): void {
  const listed = new Set<string>();
  for (const summary of manifest.streams) {
    const head = verifier.streams.get(summary?.streamId);
    if (head === undefined || listed.has(summary.streamId)) {
      throw manifestProblem(`stream ${summary?.streamId} listed twice or without events`);
    }
    const found = streamSummary(summary.streamId, head);
    if (canonicalJson(summary) !== canonicalJson(found)) {
      throw manifestProblem(
        `stream ${summary.streamId} listed as ${canonicalJson(summary)}; events.jsonl gives ${canonicalJson(found)}`,
      );
    }
    listed.add(summary.streamId);
  }
  const unlisted = [...verifier.streams.keys()].find((streamId) => !listed.has(streamId));
  if (unlisted !== undefined) throw manifestProblem(`stream ${unlisted} of events.jsonl is not listed`);
}
