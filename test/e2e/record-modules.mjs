// Records every module a Node.js process loads, for cli-startup.test.ts: run it as
// `node --import ./record-modules.mjs …` with KILN_MODULE_LOG set to a file. ES modules are recorded
// as they are resolved (a module hook, which Node runs on its own thread); CommonJS modules, which a
// package's own require() calls load without that hook, are listed from require's cache at exit, and
// Node's own public modules from its load list, as `node:NAME`.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

const log = process.env.KILN_MODULE_LOG;

/** Module hook: passes resolution on and appends the URL it resolved to. */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (log) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}

if (isMainThread && log) {
  register(import.meta.url);
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    const builtins = process.moduleLoadList.filter((entry) => entry.startsWith('NativeModule ') && !entry.startsWith('NativeModule internal/')).map((entry) => `node:${entry.slice('NativeModule '.length)}`);
    appendFileSync(log, [...Object.keys(cache).map((path) => `file://${path}`), ...builtins].map((line) => `${line}\n`).join(''));
  });
}
