// Bundles the compiled CLI (dist/cli/main.js and every module it imports, statically or lazily) into
// dist/kiln.js plus shared chunks in dist/bundle/: one file per lazily loaded command group instead of
// dozens of modules, which Node.js resolves, reads and compiles one by one. npm packages stay
// external. The module layout the bundle came from is kept in dist/bundle/meta.json (which compiled
// modules each output file holds), so tests can check what a command loads.
// Run by `npm run build` after tsc.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
await rm(join(dist, 'bundle'), { recursive: true, force: true });
await mkdir(join(dist, 'bundle'), { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { kiln: 'dist/cli/main.js' },
  outdir: 'dist',
  entryNames: '[name]',
  chunkNames: 'bundle/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.fromEntries(
  Object.entries(result.metafile.outputs).map(([file, output]) => [file, Object.keys(output.inputs).sort()]),
);
await writeFile(join(dist, 'bundle', 'meta.json'), `${JSON.stringify({ outputs }, null, 1)}\n`);
