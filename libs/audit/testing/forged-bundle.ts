import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../../event-store/index.js';
import { EVENTS_FILE, MANIFEST_FILE, withDigest, type BundleManifest } from '../bundle.js';

/** The hex SHA-256 of `bytes`, as bundles record their digests: the specs' own, to check the bundle's. */
export const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The events of a bundle's events.jsonl, a parsed line each, for a forger to change. */
export function bundleEvents(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, EVENTS_FILE), 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Rewrites the bundle in `dir` as a forger who knows the format would: events.jsonl from `events`,
 * and a manifest with every hash, count, summary and last position recomputed for it.
 */
export function resealBundle(
  dir: string,
  events: Record<string, unknown>[],
  manifestChanges: Partial<BundleManifest> = {},
): void {
  const eventsText = events.map((event) => `${canonicalJson(event)}\n`).join('');
  writeFileSync(join(dir, EVENTS_FILE), eventsText);
  const streams = new Map<string, BundleManifest['streams'][number]>();
  for (const event of events) {
    const streamId = event.streamId as string;
    const summary = streams.get(streamId);
    streams.set(streamId, {
      streamId,
      eventCount: (summary?.eventCount ?? 0) + 1,
      firstVersion: summary?.firstVersion ?? (event.streamVersion as number),
      lastVersion: event.streamVersion as number,
      headHash: event.hash as string,
    });
  }
  const { digest: _, ...manifest } = JSON.parse(
    readFileSync(join(dir, MANIFEST_FILE), 'utf8'),
  ) as BundleManifest;
  const resealed = {
    ...manifest,
    scope:
      'all' in manifest.scope
        ? {
            all: true as const,
            throughPosition: (events.at(-1)?.globalPosition as string | undefined) ?? null,
          }
        : manifest.scope,
    eventCount: events.length,
    streams: [...streams.values()].sort((a, b) => (a.streamId < b.streamId ? -1 : 1)),
    eventsSha256: sha256(eventsText),
    ...manifestChanges,
  };
  writeFileSync(join(dir, MANIFEST_FILE), `${canonicalJson(withDigest(resealed))}\n`);
}
