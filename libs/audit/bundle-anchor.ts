/**
 * A bundle's head hashes as the anchor of a store (see integrity.ts for what the chain alone
 * cannot show): a stream of the bundle that the store no longer holds up to the bundle's last
 * version, or whose event there has another hash, was deleted, cut short or rewritten since
 * the export. A stream whose head matches is unchanged up to there, given that the store's
 * chain holds (verifyStore checks that): each hash covers everything before it.
 *
 * The bundle is only as good an anchor as it is genuine: check it first, against the digest
 * recorded at export (verifyBundle).
 */
import type { EventStore } from '../event-store/index.js';
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

export interface BundleComparison {
  /** In the manifest's order (by streamId). */
  changes: StreamChange[];
  /** The bundle's streams whose event at its last version still has its head hash. */
  unchangedStreams: number;
  /** Events appended since the export to those unchanged streams. */
  appendedSince: number;
}

/** Streams between two progress reports. */
const PROGRESS_EVERY = 100;

/**
 * Reads each stream of the manifest from its last version on, through the EventStore port (so
 * on any adapter), and compares the event there with the manifest's head hash.
 */
export async function compareWithBundle(
  store: EventStore,
  manifest: BundleManifest,
  onProgress?: OnProgress,
): Promise<BundleComparison> {
  const comparison: BundleComparison = { changes: [], unchangedStreams: 0, appendedSince: 0 };
  for (const [index, { streamId, lastVersion, headHash }] of manifest.streams.entries()) {
    const since = await store.readStream(streamId, lastVersion);
    const at = { streamId, bundleVersion: lastVersion };
    if (since.length === 0) {
      // Only what it lacks is known: the stream's version tells gone from cut short.
      const foundVersion = await store.streamVersion(streamId);
      comparison.changes.push(
        foundVersion === 0 ? { ...at, change: 'missing' } : { ...at, change: 'shortened', foundVersion },
      );
    } else if (since[0].streamVersion !== lastVersion || since[0].hash !== headHash) {
      const foundHash = since[0].streamVersion === lastVersion ? since[0].hash : null;
      comparison.changes.push({ ...at, change: 'rewritten', expectedHash: headHash, foundHash });
    } else {
      comparison.unchangedStreams += 1;
      comparison.appendedSince += since.at(-1)!.streamVersion - lastVersion;
    }
    const done = index + 1;
    if (done % PROGRESS_EVERY === 0 || done === manifest.streams.length) {
      onProgress?.({ done, total: manifest.streams.length });
    }
  }
  return comparison;
}
