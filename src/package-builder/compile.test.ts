import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archInfo } from '../apk/index.ts';
import { compileBuild, compileTest } from './compile.ts';
import { createPipelineLibrary } from './pipeline-library.ts';
import { loadRecipe } from './recipe/load.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'recipes');
const load = (name: string, text?: string) => loadRecipe(join(fixtures, name), text ?? readFileSync(join(fixtures, name), 'utf8'));
const x86 = archInfo('x86_64');

describe('compileBuild', () => {
  it('expands built-in pipelines with defaults and melange substitutions', async () => {
    const build = await compileBuild(load('hello.yaml'), { arch: x86, library: createPipelineLibrary() });
    const main = build.packages[0]!;
    expect(main.contextdir).toBe('/home/build/melange-out/hello');
    const configure = main.steps[1]!;
    expect(configure.uses).toBe('autoconf/configure');
    expect(configure.inputs).toMatchObject({ host: 'x86_64-pc-linux-gnu', build: 'x86_64-pc-linux-gnu', opts: '--disable-nls', dir: '.' });
    expect(configure.steps[0]!.runs).toContain("--host='x86_64-pc-linux-gnu'");
    expect(configure.steps[0]!.runs).toContain('--disable-nls');
    const install = main.steps[3]!.steps[0]!;
    expect(install.runs).toContain("DESTDIR='/home/build/melange-out/hello'");
    const doc = build.packages[1]!;
    expect(doc.name).toBe('hello-doc');
    expect(doc.steps[0]!.steps[0]!.runs).toContain("dst='/home/build/melange-out/hello-doc'");
    expect(build.needs).toEqual(expect.arrayContaining(['autoconf', 'make', 'wget', 'binutils']));
    expect(build.sources).toEqual([
      expect.objectContaining({ kind: 'fetch', package: 'hello', uri: 'https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz', sha256: '31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b', purlName: 'hello', purlVersion: '2.10' }),
    ]);
    // a remote fetch may use the network; nothing else may
    expect(main.steps[0]!.network).toBe(true);
    expect(main.steps[0]!.steps[0]!.network).toBe(true);
    expect(main.steps[1]!.steps[0]!.network).toBe(false);
  });

  it('grants the network to the steps of dependency-downloading pipelines (go/build) and to nothing else', async () => {
    const text = 'package:\n  name: gotool\n  version: 1\npipeline:\n  - uses: go/build\n    with:\n      packages: ./cmd/tool\n      output: tool\n  - runs: echo offline\n';
    const build = await compileBuild(loadRecipe('gotool.yaml', text), { arch: x86, library: createPipelineLibrary() });
    const [goBuild, own] = build.packages[0]!.steps;
    expect(goBuild!.network).toBe(true);
    expect(goBuild!.steps.every((step) => step.network)).toBe(true);
    expect(own!.network).toBe(false);
  });

  it('evaluates conditions, nests environments and working directories, and keeps assertions', async () => {
    const build = await compileBuild(load('features.yaml'), { arch: x86, library: createPipelineLibrary() });
    const outer = build.packages[0]!.steps[0]!;
    expect(outer.workdir).toBe('/home/build/src');
    expect(outer.requiredSteps).toBe(2);
    // the options.extra step is dropped: the option is not enabled
    expect(outer.steps.map((step) => step.runs?.trim())).toEqual(['echo demo-1.10 > "/home/build/melange-out/py3-demo/base"', 'echo native']);
    expect(outer.steps[1]!.environment).toEqual({ OUTER: '1' });
    expect(outer.steps[1]!.label).toBe('outer > echo native');
    expect(build.packages.map((pkg) => pkg.name)).toEqual(['py3-demo', 'py3.10-demo', 'py3.11-demo', 'py3.12-demo', 'py3-demo-doc']);
    expect(build.packages[2]!.steps[0]!.runs).toBe('mkdir -p /home/build/melange-out/py3.11-demo/usr/lib/python3.11');
    const aarch = await compileBuild(load('features.yaml'), { arch: archInfo('arm64'), library: createPipelineLibrary() });
    expect(aarch.packages[0]!.steps[0]!.steps).toHaveLength(2);
  });

  it('rejects undefined inputs, missing required inputs, bad checksums and undefined variables with positions', async () => {
    const base = 'package:\n  name: a\n  version: 1\npipeline:\n';
    const library = createPipelineLibrary();
    const compile = (text: string) => compileBuild(loadRecipe('r.yaml', text), { arch: x86, library });
    await expect(compile(`${base}  - uses: fetch\n    with:\n      uri: file:///x\n      colour: red\n`)).rejects.toThrow(/^r\.yaml:8:7: undefined input "colour" for pipeline fetch/);
    await expect(compile(`${base}  - uses: fetch\n    with:\n      expected-sha256: ${'a'.repeat(64)}\n`)).rejects.toThrow(/^r\.yaml:5:5: pipeline fetch requires input "uri"/);
    await expect(compile(`${base}  - uses: fetch\n    with:\n      uri: file:///x\n      expected-sha256: abc\n`)).rejects.toThrow(/r\.yaml:8:24: input expected-sha256 must be 64 lower-case hex digits/);
    await expect(compile(`${base}  - runs: echo \${{targets.subpkgdir}}\n`)).rejects.toThrow(/^r\.yaml:5:11: undefined variable \$\{\{targets\.subpkgdir\}\}/);
    await expect(compile(`${base}  - uses: no/such\n`)).rejects.toMatchObject({ code: 'PIPELINE_NOT_FOUND' });
    await expect(compile(`${base}  - uses: ../etc/passwd\n`)).rejects.toMatchObject({ code: 'RECIPE_INVALID' });
  });

  it('finds user pipelines in --pipeline-dir first, with nested inputs inherited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-pipelines-'));
    mkdirSync(join(dir, 'test'));
    writeFileSync(join(dir, 'test', 'outer.yaml'), 'description: wolfi-style extra key\ninputs:\n  who:\n    default: world\npipeline:\n  - uses: test/inner\n');
    writeFileSync(join(dir, 'test', 'inner.yaml'), 'inputs:\n  who:\n    required: true\n  greeting:\n    default: hello\nneeds:\n  packages:\n    - greeter-${{inputs.greeting}}\npipeline:\n  - runs: echo ${{inputs.greeting}} ${{inputs.who}}\n');
    const recipe = loadRecipe('r.yaml', 'package:\n  name: a\n  version: 1\npipeline:\n  - uses: test/outer\n    with:\n      who: kiln\n');
    const build = await compileBuild(recipe, { arch: x86, library: createPipelineLibrary([dir]) });
    expect(build.packages[0]!.steps[0]!.steps[0]!.steps[0]!.runs).toBe('echo hello kiln');
    expect(build.needs).toEqual(['greeter-hello']);
  });

  it('labels steps for the log with their variables substituted, as melange logs them', async () => {
    const text = 'package:\n  name: tool\n  version: 1\nvars:\n  dir: share\npipeline:\n  - runs: |\n      mkdir -p ${{targets.destdir}}/usr/${{vars.dir}}\n      true\n  - name: install ${{package.name}} into ${{targets.contextdir}}\n    pipeline:\n      - runs: echo ${{ package.full-version }}\n';
    const build = await compileBuild(loadRecipe('r.yaml', text), { arch: x86, library: createPipelineLibrary() });
    const [first, second] = build.packages[0]!.steps;
    expect(first!.label).toBe('mkdir -p /home/build/melange-out/tool/usr/share');
    expect(second!.label).toBe('install tool into /home/build/melange-out/tool');
    expect(second!.steps[0]!.label).toBe('install tool into /home/build/melange-out/tool > echo 1-r0');
  });

  it('compiles test pipelines of the main package and of subpackages', async () => {
    const recipe = load('hello.yaml');
    const test = await compileTest(recipe, { arch: x86, library: createPipelineLibrary() }, 'hello');
    expect(test.steps[0]!.runs).toContain('hello --version');
  });

  it('runs a test step that has both `runs` and `uses` as melange does: its own `runs`, then the pipeline it uses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-pipelines-'));
    mkdirSync(join(dir, 'test'));
    writeFileSync(join(dir, 'test', 'check.yaml'), 'inputs:\n  cc:\n    default: gcc\npipeline:\n  - runs: ${{inputs.cc}} --version\n');
    const text = 'package:\n  name: a\n  version: 1\ntest:\n  pipeline:\n    - uses: test/check\n      with:\n        cc: clang\n      runs: |\n        clang --help\n';
    const test = await compileTest(loadRecipe('r.yaml', text), { arch: x86, library: createPipelineLibrary([dir]) }, 'a');
    expect(test.steps[0]).toMatchObject({ uses: 'test/check', runs: 'clang --help\n' });
    expect(test.steps[0]!.steps.map((step) => step.runs)).toEqual(['clang --version']);
  });

  it('gives the network a pipeline grants to its own steps, never to a `runs` written beside its `uses`', async () => {
    const sha = 'a'.repeat(64);
    const text = `package:\n  name: a\n  version: 1\ntest:\n  pipeline:\n    - uses: fetch\n      with:\n        uri: https://example.org/a.tar.gz\n        expected-sha256: ${sha}\n      runs: |\n        curl https://example.org/\n`;
    const test = await compileTest(loadRecipe('r.yaml', text), { arch: x86, library: createPipelineLibrary() }, 'a');
    expect(test.steps[0]).toMatchObject({ uses: 'fetch', runs: 'curl https://example.org/\n', network: false });
    expect(test.steps[0]!.steps.length).toBeGreaterThan(0);
    expect(test.steps[0]!.steps.every((step) => step.network)).toBe(true);
  });
});
