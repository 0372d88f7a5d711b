import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The published package is dist/, compiled by tsconfig.build.json. Test code must not end up there:
// test helpers and conformance suites import vitest (a dev dependency), so a dist file importing
// them would fail at run time for users. tsc compiles every file the included ones import, even an
// excluded one, so this checks the program tsc builds, not the exclude list.
const root = join(import.meta.dirname, '..', '..');

function buildProgramFiles(): string[] {
  const configPath = join(root, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
  return program
    .getSourceFiles()
    .map((file) => relative(root, file.fileName))
    .filter((path) => path.startsWith('src/'))
    .sort();
}

describe('tsconfig.build.json', () => {
  const files = buildProgramFiles();

  it('compiles the CLI and every domain index into dist', () => {
    expect(files).toContain('src/cli/main.ts');
    for (const domain of ['lib', 'apk', 'oci', 'sbom', 'image', 'package-builder', 'storage', 'metadata', 'registry', 'registry-client', 'sign', 'attest', 'app', 'cli']) {
      expect(files, domain).toContain(`src/${domain}/index.ts`);
    }
  });

  it('compiles no test, test helper or conformance suite (nothing in dist imports vitest)', () => {
    const testOnly = files.filter((path) => /\.test\.ts$/.test(path) || /from ['"]vitest(\/[^'"]*)?['"]/.test(readFileSync(join(root, path), 'utf8')));
    expect(testOnly).toEqual([]);
    const helpers = files.filter((path) => /(^|\/)(testing|test-support|test-server|conformance)\.ts$|-(testing|conformance)\.ts$|\/testing\//.test(path));
    expect(helpers).toEqual([]);
  });
});
