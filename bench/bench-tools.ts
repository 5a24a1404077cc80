/** What every benchmark shares: percentiles and a progress line. */

export function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (quantile: number) => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

export interface StepProgress {
  /** `fraction` of the step is done (0..1); shown in steps of 5%. */
  update(fraction: number): void;
  done(): void;
}

/** A percentage on one stderr line, rewritten in place (on a terminal; a log gets the report lines only). */
export function stepProgress(name: string): StepProgress {
  let shown = -1;
  const show = (percent: number) => {
    if (!process.stderr.isTTY || percent === shown) return;
    shown = percent;
    process.stderr.write(`\r  ${name}: ${percent}%`);
  };
  show(0);
  return {
    update: (fraction) => show(Math.min(100, Math.floor(fraction * 20) * 5)),
    done: () => {
      show(100);
      if (process.stderr.isTTY) process.stderr.write('\n');
    },
  };
}
