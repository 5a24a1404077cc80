import type { RebuildProgress } from '../../libs/read-models/index.js';

/** Where the bar is drawn: stderr (a stand-in in tests). */
export interface ProgressOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Draws a rebuild's progress on `out`, one of
 *   [#####.........................] 12000/50000 events  41000 events/s  1 s left
 *   [##############################] 50000/50000 events  building indexes and committing…
 *   [##############################] 50000/50000 events  done
 * redrawn in place on a terminal (clearing the rest of the line; at most every 100 ms while
 * replaying), a line a second otherwise; each change of phase is drawn at once. The total is
 * estimated from positions, which is exact for the SQLite store (its positions count the events).
 */
export function progressBar(
  out: ProgressOutput,
  started: number,
  now: () => number = () => performance.now(),
): (progress: RebuildProgress) => void {
  let drawn = -Infinity;
  return (progress) => {
    const time = now();
    if (progress.phase === 'replaying' && time - drawn < (out.isTTY ? 100 : 1_000)) return;
    drawn = time;
    const line = progressText(progress, (time - started) / 1000);
    // \r goes back to the line's start, ESC [ K erases what a longer line left after this one.
    out.write(out.isTTY ? `\r${line}\u001b[K${progress.phase === 'done' ? '\n' : ''}` : `${line}\n`);
  };
}

function progressText({ phase, events, position, head }: RebuildProgress, seconds: number): string {
  const total =
    position !== null && head !== null && position > 0n ? Number((head * BigInt(events)) / position) : events;
  const done = Math.min(events / Math.max(total, 1), 1);
  const counted =
    head === null
      ? 'no events to replay (the event store is empty)'
      : `[${'#'.repeat(Math.round(done * 30)).padEnd(30, '.')}] ${events}/${total} events`;
  if (phase === 'finishing') return `${counted}  building indexes and committing…`;
  if (phase === 'done') return `${counted}  done`;
  const rate = events / Math.max(seconds, 0.001);
  const left = Math.ceil(Math.max(total - events, 0) / Math.max(rate, 1));
  return `${counted}  ${Math.round(rate)} events/s  ${left} s left`;
}
