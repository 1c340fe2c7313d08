/**
 * `npm run bench`: runs every `scripts/bench/*.bench.ts` (or those named on the command line)
 * and prints each result as a Markdown table, ready for the README. Benchmarks, never timed
 * tests: the machines are shared and noisy, so figures are ratios measured within one run.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What a benchmark module's default export resolves to. */
export interface BenchTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** Targets and how to read the figures. */
  notes?: string[];
}

export type Benchmark = () => Promise<BenchTable | BenchTable[]>;

function render(table: BenchTable): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [
    `### ${table.title}`,
    '',
    line(table.columns),
    line(table.columns.map(() => '---')),
    ...table.rows.map(line),
    ...(table.notes?.length ? ['', ...table.notes.map((note) => `- ${note}`)] : []),
    '',
  ].join('\n');
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => wanted.length === 0 || wanted.some((w) => name.startsWith(w)))
  .sort();

console.log(`Node ${process.version}, ${new Date().toISOString()}\n`);
for (const file of files) {
  const module = (await import(new URL(file, import.meta.url).href)) as { default: Benchmark };
  const result = await module.default();
  for (const table of Array.isArray(result) ? result : [result]) console.log(render(table));
}
