import { describe, expect, test } from '@jest/globals';
import type { RebuildProgress } from '../../libs/read-models/index.js';
import { progressBar } from './progress-bar.js';

/** What a terminal shows after `output`: \r goes back to the line's start, ESC [ K erases to its end. */
function screen(output: string): string[] {
  const lines = [''];
  let column = 0;
  // eslint-disable-next-line no-control-regex -- the terminal's control sequences are what it reads
  for (const [, control, text] of output.matchAll(/(\r|\n|\u001b\[K)|([^\r\n\u001b]+)/g)) {
    const last = lines.length - 1;
    if (control === '\r') column = 0;
    else if (control === '\n') {
      lines.push('');
      column = 0;
    } else if (control !== undefined) lines[last] = lines[last].slice(0, column);
    else {
      lines[last] = lines[last].slice(0, column) + text + lines[last].slice(column + text.length);
      column += text.length;
    }
  }
  return lines;
}

describe('the progress bar of rebuild', () => {
  /** Feeds `updates` to a bar, each at its time in ms; what it wrote. */
  function draw(isTTY: boolean, updates: [number, RebuildProgress][]): string {
    let written = '';
    let time = 0;
    const bar = progressBar({ isTTY, write: (text) => (written += text) }, 0, () => time);
    for (const [at, progress] of updates) {
      time = at;
      bar(progress);
    }
    return written;
  }

  const at = (phase: RebuildProgress['phase'], events: number, head: bigint | null = 10_000n) => ({
    phase,
    events,
    position: events === 0 ? null : BigInt(events),
    head,
  });

  test('on a terminal, each redraw clears what a longer line left', () => {
    const output = draw(true, [
      [100, at('replaying', 1_000)],
      [10_000, at('replaying', 9_000)],
      [10_010, at('finishing', 10_000)],
      [12_000, at('done', 10_000)],
    ]);

    expect(screen(output)).toEqual([`[${'#'.repeat(30)}] 10000/10000 events  done`, '']);
    // Without the erase, the "1 s left" of the longer line before shows through.
    expect(screen(output.replaceAll('\u001b[K', ''))[0]).not.toMatch(/done$/);
  });

  test('after the last event, says what remains: the indexes and the commit', () => {
    const output = draw(true, [
      [500, at('replaying', 10_000)],
      [510, at('finishing', 10_000)],
    ]);

    expect(screen(output)).toEqual([
      `[${'#'.repeat(30)}] 10000/10000 events  building indexes and committing…`,
    ]);
  });

  test('on an empty store, says so instead of a bar of 0/0', () => {
    const output = draw(false, [
      [10, at('finishing', 0, null)],
      [20, at('done', 0, null)],
    ]);

    expect(output).toBe(
      'no events to replay (the event store is empty)  building indexes and committing…\n' +
        'no events to replay (the event store is empty)  done\n',
    );
  });

  test('elsewhere, a line a second while replaying, and a line for each phase', () => {
    const output = draw(false, [
      [100, at('replaying', 1_000)],
      [600, at('replaying', 2_000)],
      [1_200, at('replaying', 5_000)],
      [1_300, at('finishing', 10_000)],
      [1_400, at('done', 10_000)],
    ]);

    expect(output.split('\n')).toEqual([
      `[###${'.'.repeat(27)}] 1000/10000 events  10000 events/s  1 s left`,
      `[${'#'.repeat(15)}${'.'.repeat(15)}] 5000/10000 events  4167 events/s  2 s left`,
      `[${'#'.repeat(30)}] 10000/10000 events  building indexes and committing…`,
      `[${'#'.repeat(30)}] 10000/10000 events  done`,
      '',
    ]);
  });
});
