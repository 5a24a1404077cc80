/**
 * A bundle's head hashes as the anchor of a store (see integrity.ts for what the chain alone
 * cannot show): a stream of the bundle that the store no longer holds up to the bundle's last
 * version, or whose event there has another hash, was deleted, cut short or rewritten since
 * the export. A stream whose head matches is unchanged up to there, given that the store's
 * chain holds (verifyStore checks that): each hash covers everything before it.
 *
 * A bundle of the whole log held every stream there was: a stream the store holds and the bundle
 * does not, but whose first event was recorded before the export, was inserted since with an
 * earlier date or position (or the bundle is not of this log). A bundle of one incident cannot
 * tell such a stream from any other.
 *
 * The bundle is only as good an anchor as it is genuine: check it first, against the digest
 * recorded at export (verifyBundle).
 */
import type { EventStore, StoredEvent } from '../event-store/index.js';
import type { BundleManifest } from './bundle.js';
import type { OnProgress } from './integrity.js';

/** A stream of the bundle that the store no longer holds as it was exported. */
export type StreamChange = { streamId: string; bundleVersion: number } & (
  | { change: 'missing' }
  | { change: 'shortened'; foundVersion: number }
  | {
      change: 'rewritten';
      expectedHash: string;
      /** Null when the store has no event at bundleVersion, but later ones. */
      foundHash: string | null;
    }
);

/** A stream the store holds and the bundle does not, by its first event. */
export interface StreamNotInBundle {
  streamId: string;
  recordedAt: string;
  position: bigint;
}

export interface BundleComparison {
  /** In the manifest's order (by streamId). */
  changes: StreamChange[];
  /** The bundle's streams whose event at its last version still has its head hash. */
  unchangedStreams: number;
  /** Events appended since the export to those unchanged streams. */
  appendedSince: number;
  /** The store's streams that the bundle does not hold. */
  otherStreams: number;
  /**
   * Those of them whose first event was recorded before the export: its recordedAt more than
   * RECORDED_BEFORE_SLACK_MS before the bundle's createdAt, or its position not after the last one
   * the bundle holds. In log order;
   * null for a bundle of one incident, which cannot tell.
   */
  recordedBefore: StreamNotInBundle[] | null;
}

/** Streams between two progress reports. */
const PROGRESS_EVERY = 100;

/**
 * How much earlier than the export a stream not in the bundle must have been recorded to be named:
 * an append is stamped before it commits, so one stamped just before the export began can commit
 * after the export read the head; and the hosts that stamp and export may disagree a little on the
 * time. A forgery dated within it goes unnamed by its date (by its position, it still may be).
 */
export const RECORDED_BEFORE_SLACK_MS = 60_000;

/**
 * Through the EventStore port (so on any adapter): judges the streams the bundle does not hold by
 * `firstEvents`, the first event of each stream of the store in log order (verifyStore tells them,
 * on the walk it makes anyway), then reads each stream of the manifest at its last version and
 * compares the event there with the manifest's head hash (`onProgress` counts those streams).
 */
export async function compareWithBundle(
  store: EventStore,
  manifest: BundleManifest,
  firstEvents: readonly FirstEvent[],
  onProgress?: OnProgress,
): Promise<BundleComparison> {
  const comparison: BundleComparison = {
    changes: [],
    unchangedStreams: 0,
    appendedSince: 0,
    ...streamsNotInBundle(manifest, firstEvents),
  };
  for (const [index, { streamId, lastVersion, headHash }] of manifest.streams.entries()) {
    const [found] = await store.readStream(streamId, lastVersion, 1);
    const at = { streamId, bundleVersion: lastVersion };
    // What it lacks, or holds since: the stream's version tells gone from cut short, and counts.
    const foundVersion = await store.streamVersion(streamId);
    if (found === undefined) {
      comparison.changes.push(
        foundVersion === 0 ? { ...at, change: 'missing' } : { ...at, change: 'shortened', foundVersion },
      );
    } else if (found.streamVersion !== lastVersion || found.hash !== headHash) {
      const foundHash = found.streamVersion === lastVersion ? found.hash : null;
      comparison.changes.push({ ...at, change: 'rewritten', expectedHash: headHash, foundHash });
    } else {
      comparison.unchangedStreams += 1;
      comparison.appendedSince += foundVersion - lastVersion;
    }
    const done = index + 1;
    if (done % PROGRESS_EVERY === 0 || done === manifest.streams.length) {
      onProgress?.({ done, total: manifest.streams.length });
    }
  }
  return comparison;
}

/** A stream's first event, as far as the comparison needs it. */
export type FirstEvent = Pick<StoredEvent, 'streamId' | 'recordedAt' | 'globalPosition'>;

/** The store's streams that `manifest` does not hold, judged by their first event. */
function streamsNotInBundle(
  manifest: BundleManifest,
  firstEvents: readonly FirstEvent[],
): Pick<BundleComparison, 'otherStreams' | 'recordedBefore'> {
  const { scope } = manifest;
  const wholeLog = 'all' in scope;
  const namedBefore = Date.parse(manifest.createdAt) - RECORDED_BEFORE_SLACK_MS;
  const throughPosition = wholeLog && scope.throughPosition !== null ? BigInt(scope.throughPosition) : null;
  const inBundle = new Set(manifest.streams.map(({ streamId }) => streamId));
  let otherStreams = 0;
  const recordedBefore: StreamNotInBundle[] = [];
  for (const { streamId, recordedAt, globalPosition } of firstEvents) {
    if (inBundle.has(streamId)) continue;
    otherStreams += 1;
    const beforeExport =
      Date.parse(recordedAt) < namedBefore || (throughPosition !== null && globalPosition <= throughPosition);
    if (wholeLog && beforeExport) {
      recordedBefore.push({ streamId, recordedAt, position: globalPosition });
    }
  }
  return { otherStreams, recordedBefore: wholeLog ? recordedBefore : null };
}
