// Runs every bench/<area>.bench.ts (or the areas named on the command line), writes each area's
// markdown to bench/results/<area>.md, and rebuilds bench/README.md from all results with the
// machine and date. Each bench module default-exports `(context) => Promise<string>` returning markdown.
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';

export interface BenchContext {
  /** Repository root. */
  root: string;
  /** Writes a progress line to stderr. */
  log: (message: string) => void;
}

const root = join(import.meta.dirname, '..');
const benchDir = join(root, 'bench');
const resultsDir = join(benchDir, 'results');
const only = new Set(process.argv.slice(2));
await mkdir(resultsDir, { recursive: true });

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node.js ${process.version}`;
const date = new Date().toISOString().slice(0, 10);
let failed = false;
for (const file of (await readdir(benchDir)).filter((name) => name.endsWith('.bench.ts')).sort()) {
  const area = file.replace(/\.bench\.ts$/, '');
  if (only.size && !only.has(area)) continue;
  process.stderr.write(`bench: ${area}\n`);
  try {
    const module = (await import(join(benchDir, file))) as { default: (context: BenchContext) => Promise<string> };
    const markdown = await module.default({ root, log: (message) => process.stderr.write(`  ${area}: ${message}\n`) });
    await writeFile(join(resultsDir, `${area}.md`), `<!-- ${date} · ${machine} -->\n${markdown.trim()}\n`);
  } catch (error) {
    failed = true;
    process.stderr.write(`bench: ${area} failed: ${(error as Error).stack ?? String(error)}\n`);
  }
}

const sections: string[] = [];
for (const file of (await readdir(resultsDir)).filter((name) => name.endsWith('.md')).sort()) {
  sections.push((await readFile(join(resultsDir, file), 'utf8')).trim());
}
await writeFile(
  join(benchDir, 'README.md'),
  `# Benchmarks\n\nRun with \`npm run bench\` (all areas) or \`npm run bench -- AREA…\`. Each area's section starts with a\ncomment giving the date and machine it was measured on; peers run side by side in the same run.\n\nAssembled ${date} from the per-area results below (each dated and with its machine and load).\n\n${sections.join('\n\n')}\n`,
);
process.exitCode = failed ? 1 : 0;
