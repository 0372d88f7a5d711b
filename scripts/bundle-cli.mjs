// Bundles the compiled CLI (dist/cli/main.js and every module it imports, statically or lazily) into
// dist/kiln.js plus shared chunks in dist/bundle/: one file per lazily loaded command group instead of
// dozens of modules, which Node.js resolves, reads and compiles one by one. npm packages stay
// external, except commander, which every command loads: bundled, it skips Node's package
// resolution and CommonJS export scan, and the child_process module it needs only to run
// executable subcommands (which Kiln has none of) is loaded when first used, not at start-up.
// The module layout the bundle came from is kept in dist/bundle/meta.json (which compiled modules
// each output file holds), so tests can check what a command loads.
// Run by `npm run build` after tsc.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
await rm(join(dist, 'bundle'), { recursive: true, force: true });
await mkdir(join(dist, 'bundle'), { recursive: true });
/** Builtins that commander (CommonJS) requires, as modules esbuild can bundle into ESM output:
 *  a CommonJS `require` of a builtin has no `require` to call in an ES module. */
const COMMANDER_BUILTINS = {
  'node:process': 'module.exports = process;',
  'node:events': "export { EventEmitter } from 'node:events';",
  'node:path': "export * from 'node:path';",
  // Only what commander uses: copying all of fs would load its stream classes.
  'node:fs': "export { existsSync, realpathSync } from 'node:fs';",
  'node:child_process': [
    "import { createRequire } from 'node:module';",
    'const load = createRequire(import.meta.url);',
    'let childProcess;',
    "export function spawn(...args) { return (childProcess ??= load('node:child_process')).spawn(...args); }",
  ].join('\n'),
};

/** npm packages stay external (resolved by Node at run time), except commander. */
const bundleCommander = {
  name: 'bundle-commander',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.namespace === 'commander-builtin') return { path: args.path, external: true };
      if (args.path === 'commander' || args.path.startsWith('commander/')) return undefined;
      if (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)) {
        if (!Object.hasOwn(COMMANDER_BUILTINS, args.path)) throw new Error(`commander requires ${args.path}: add it to COMMANDER_BUILTINS`);
        return { path: args.path, namespace: 'commander-builtin' };
      }
      return { path: args.path, external: true };
    });
    build.onLoad({ filter: /.*/, namespace: 'commander-builtin' }, (args) => ({ contents: COMMANDER_BUILTINS[args.path], loader: 'js' }));
  },
};

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
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  plugins: [bundleCommander],
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.fromEntries(
  Object.entries(result.metafile.outputs).map(([file, output]) => [file, Object.keys(output.inputs).sort()]),
);
await writeFile(join(dist, 'bundle', 'meta.json'), `${JSON.stringify({ outputs }, null, 1)}\n`);
