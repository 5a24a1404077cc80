import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { EventStore, StoredEvent } from '../event-store/index.js';
import { compileForChildProcess } from '../event-store/testing/compile-for-child-process.js';
import { FeedFollower, inBatches, pause } from './feed-follower.js';

/** A feed with nothing after the checkpoint yet: it waits until its subscription is aborted. */
const quietStore = {
  async *subscribe(_after: bigint | null, options: { signal?: AbortSignal } = {}) {
    await pause(3_600_000, options.signal!);
    yield* [] as StoredEvent[];
  },
} as unknown as EventStore;

const AN_HOUR = 3_600_000;

describe('FeedFollower', () => {
  it('answers whoever waits for a position as soon as it stops, instead of at their timeout', async () => {
    const follower = new FeedFollower(quietStore, { readCheckpoint: () => 3n, handleBatch: () => undefined });
    follower.start();
    expect(await follower.waitFor(2n, AN_HOUR)).toBe(true);
    const waiting = follower.waitFor(10n, AN_HOUR);
    await follower.stop();
    // Without the answer on stop, these would hold a dispatcher's shutdown for an hour.
    expect(await waiting).toBe(false);
    expect(await follower.waitFor(10n, AN_HOUR)).toBe(false);
  }, 5_000);
});

describe('inBatches', () => {
  it('lets the event loop turn between full batches of a feed that never has to wait', async () => {
    // A catch-up over an embedded store: every read resolves without I/O.
    async function* backlog() {
      for (let i = 0; ; i++) yield i;
    }
    const turns: number[] = [];
    let batches = 0;
    const timer = setInterval(() => turns.push(batches), 0);
    try {
      for await (const batch of inBatches(backlog(), 100)) {
        expect(batch).toHaveLength(100);
        if (++batches === 5) break;
      }
    } finally {
      clearInterval(timer);
    }
    // Without the turn, the timer would not run before the loop ends.
    expect(turns.length).toBeGreaterThan(0);
    expect(turns[0]).toBeLessThan(5);
  });

  it('hands a read that fails while a batch is being handled to the caller, not to the process', () => {
    // In a process of its own: an unhandled rejection ends it (it crashed the server, while the
    // follower retries what its loop catches).
    const dir = mkdtempSync(join(tmpdir(), 'in-batches-'));
    try {
      compileForChildProcess(['libs/feed-follower/feed-follower.ts'], dir);
      const script = `
        import { inBatches } from ${JSON.stringify(join(dir, 'libs/feed-follower/feed-follower.js'))};
        // A full batch, then the store fails: the read after the batch is already under way.
        async function* failingAfterABatch() {
          for (let i = 0; i < 100; i++) yield i;
          throw new Error('transient read error');
        }
        const batches = [];
        try {
          for await (const batch of inBatches(failingAfterABatch(), 100)) {
            batches.push(batch.length);
            // Handling the batch takes a while (a transaction, a webhook round trip…).
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        } catch (error) {
          console.log(JSON.stringify({ batches, caught: error.message }));
        }`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
      expect(JSON.parse(child.stdout)).toEqual({ batches: [100], caught: 'transient read error' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
