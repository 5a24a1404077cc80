import { benchAccountability } from './accountability.bench.js';
import { benchAppend } from './append.bench.js';
import { benchReadModels } from './read-models.bench.js';

/**
 * Runs the benchmarks: `npm run bench` (all) or `npm run bench -- <name filter>`.
 * A benchmark prints its lines through `report` and returns its figures; add new ones here.
 */
const benchmarks: Record<string, (report: (line: string) => void) => Promise<Record<string, number>>> = {
  'Event store appends (issue 2)': benchAppend,
  'Read models (issue 3)': benchReadModels,
  'Accountability queries (issue 4)': benchAccountability,
};

const filter = process.argv[2]?.toLowerCase() ?? '';
for (const [name, run] of Object.entries(benchmarks)) {
  if (!name.toLowerCase().includes(filter)) continue;
  console.log(`\n## ${name}\n`);
  const figures = await run((line) => console.log(line));
  console.log(`\n${JSON.stringify(figures)}`);
}
