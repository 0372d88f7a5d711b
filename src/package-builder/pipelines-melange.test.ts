import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archInfo } from '../apk/index.ts';
import { compileBuild } from './compile.ts';
import { stepScript } from './engine.ts';
import type { CompiledStep } from './compile.ts';
import { builtinPipelineDir, createPipelineLibrary } from './pipeline-library.ts';
import { loadRecipe } from './recipe/load.ts';
import { pipelineDefinitionSchema } from './recipe/schema.ts';
import { YamlSource } from './recipe/yaml-source.ts';

// melange's built-in pipelines, provided by the same names and inputs (Kiln's own definitions).
// Each case compiles a recipe that uses the pipeline: every given input reaches the script,
// nothing is left unsubstituted, and every required input is enforced.

const x86 = archInfo('x86_64');
const library = createPipelineLibrary();

/** Pipeline name → inputs given in the test recipe (required ones included), plus what the
 *  compiled script must contain. */
const CASES: Record<string, { with?: Record<string, string>; required?: string[]; contains?: string[]; needs?: string[]; subpackage?: boolean }> = {
  'go/build': { with: { packages: './cmd/tool', output: 'tool', ldflags: '-X main.version=1' }, required: ['packages', 'output'], contains: ["-tags 'netgo,osusergo,'", "-ldflags '-w -X main.version=1'", '/home/build/melange-out/pkg/usr/bin/tool', '-buildmode \'default\''], needs: ['go', 'busybox'] },
  'go/build/v2': { with: { packages: './...', output: 'tool' }, contains: ['-trimpath', './...'] },
  'go/install': { with: { package: 'example.com/tool/cmd/tool', version: 'v1.2.3' }, required: ['package'], contains: ["'example.com/tool/cmd/tool'${version:+@$version}", "version='v1.2.3'"], needs: ['go', 'git'] },
  'go/bump': { with: { deps: 'golang.org/x/net@v0.33.0', modroot: 'src' }, required: ['deps'], contains: ["--packages 'golang.org/x/net@v0.33.0'", "cd 'src'"], needs: ['gobump'] },
  'go/deps': { with: { deps: 'a@v1' }, contains: ['go get "$dep"'] },
  'go/covdata': { contains: ["-i '/home/build'"] },
  'goreleaser/build': { contains: ["'/home/build/melange-out/pkg/usr/bin/pkg'"] },
  'cargo/build': { with: { output: 'tool', rustflags: '-C opt-level=3', jobs: '2' }, contains: ["RUSTFLAGS='-C opt-level=3' cargo auditable build --target-dir target --release", "'target/release/tool'"], needs: ['rust', 'cargo-auditable'] },
  'python/build': { contains: ['setup.py build'] },
  'python/install': { contains: ["--root='/home/build/melange-out/pkg'"] },
  'python/build-wheel': { contains: ['-m build', "installer -d '/home/build/melange-out/pkg' dist/*.whl"], needs: ['py3-build', 'py3-installer'] },
  'python/build-gpep517': { contains: ['gpep517 build-wheel'] },
  'python/pipinstall': { contains: ['pip install --prefix=/usr'] },
  'python/test': { with: { command: 'python3 -c "import demo"' }, required: ['command'], contains: ['python3 -c "import demo"'] },
  'python/import': { with: { imports: 'import demo\nfrom demo import x # comment', python: 'python3.12' }, contains: ["py='python3.12'", 'from demo import x # comment'] },
  'ruby/build': { with: { gem: 'rake', opts: '--strict' }, required: ['gem'], contains: ["gem build 'rake.gemspec' \"$@\" --strict"] },
  'ruby/install': { with: { gem: 'rake', version: '13.2.1' }, required: ['version'], contains: ["file='rake-13.2.1.gem'", "--version '13.2.1'"] },
  'ruby/install_runtime_deps': { with: { gem: 'rake' }, contains: ["'./rake.gemspec'"] },
  'ruby/clean': { contains: ['gem_make.out', "dir='/home/build/melange-out/pkg'"] },
  'ruby/require': { with: { require: 'rake' }, contains: ["one='rake'"], needs: ['ruby'] },
  'ruby/test': { with: { command: 'rake --version' }, required: ['command'], contains: ['rake --version'] },
  'perl/make': { contains: ['Makefile.PL INSTALLDIRS=vendor'], needs: ['perl'] },
  'perl/cpan-install': { contains: ['Makefile.PL INSTALLDIRS=vendor'] },
  'perl/cleanup': { contains: ["find '/home/build/melange-out/pkg'", '.packlist'] },
  'npm/install': { with: { package: 'yarn', version: '1.22.22', overrides: 'semver@7.6.0' }, required: ['package', 'version'], contains: ["install -g 'yarn@1.22.22' -prefix \"$prefix\"", "prefix='/home/build/melange-out/pkg/usr/'", "overrides='semver@7.6.0'"], needs: ['nodejs', 'npm'] },
  'pecl/phpize': { contains: ["--with-php-config='php-config'"] },
  'pecl/phpize-8.1': { contains: ['phpize'], needs: ['php-8.1-dev'] },
  'pecl/phpize-8.2': { contains: ['phpize'], needs: ['php-8.2-dev'] },
  'pecl/install': { with: { extension: 'redis' }, required: ['extension'], contains: ["echo 'extension=redis.so' > '/home/build/melange-out/pkg/etc/php/conf.d/redis.ini'"] },
  'php/composer-install': { with: { package: 'psr/log', version: '3.0.2' }, required: ['package', 'version'], contains: ["'psr/log:3.0.2'"], needs: ['composer'] },
  'R/build': { with: { package: 'jsonlite', version: '1.8.9' }, required: ['package', 'version'], contains: ["install.packages('.', lib = '$lib/'"], needs: ['R', 'R-dev'] },
  'cran/fetch': { with: { package: 'jsonlite', version: '1.8.9' }, required: ['package', 'version'], contains: ["file='jsonlite_1.8.9.tar.gz'"] },
  'cran/build': { with: { package: 'jsonlite', version: '1.8.9' }, required: ['package'], contains: ["'./jsonlite_1.8.9.tar.gz'"] },
  'cran/install': { with: { package: 'jsonlite', version: '1.8.9' }, required: ['package', 'version'], contains: ["file='jsonlite_1.8.9.tar.gz'"] },
  'split/alldocs': { subpackage: true, contains: ["src='/home/build/melange-out/pkg'", "dst='/home/build/melange-out/pkg-sub'", 'usr/share/info/dir'] },
  'split/docs': { subpackage: true, contains: ['usr/local/share/doc'] },
  'split/lib': { subpackage: true, with: { patterns: 'ssl\ncrypto', paths: 'usr/lib64' }, contains: ["printf '%s\\n' 'ssl\ncrypto'", 'glob="lib$p.so.*"'] },
  'split/bin': { subpackage: true, contains: ["name='pkg-sub'", 'usr/bin'] },
  'meson/test': { contains: ["meson test -C 'output'"] },
  copy: { with: { src: 'LICENSE', dest: '${{targets.contextdir}}/usr/share/licenses/' }, required: ['src'], contains: ["cp -r LICENSE \"$dest\"", "dest='/home/build/melange-out/pkg/usr/share/licenses/'"] },
  move: { with: { src: 'bin/tool' }, required: ['src'], contains: ['mv  bin/tool "$dest"'] },
  'git-am': { with: { patches: '0001-fix.patch' }, required: ['patches'], contains: ['git am 0001-fix.patch'] },
  'git-archive': { with: { path: 'tools/x' }, required: ['path'], contains: ['tools/x'] },
  'maven/configure-mirror': { contains: ['maven-central.storage-download.googleapis.com'] },
  'maven/pombump': { with: { properties: 'a=1' }, contains: ["--properties 'a=1'", "pom='pom.xml'"], needs: ['pombump'] },
  'ecosystems/maven': { contains: ['https://libraries.cgr.dev/java-all/'] },
  'xcover/profile': { with: { 'executable-path': '/usr/bin/tool' }, required: ['executable-path'], contains: ["--path '/usr/bin/tool'", "--timeout '60s'"], needs: ['xcover'] },
  'xcover/status': { contains: ['xcover status'] },
  'xcover/stop': { contains: ['xcover stop'] },
  'xcover/wait': { with: { 'wait-timeout': '5' }, contains: ["--timeout '5s'"] },
  'llvm/covreport': { contains: ['llvm-profdata merge'], needs: ['llvm-19'] },
};

function recipeUsing(name: string, inputs: Record<string, string>, subpackage: boolean): string {
  const withBlock = Object.keys(inputs).length === 0 ? '' : `    with:\n${Object.entries(inputs).map(([key, value]) => `      ${key}: ${JSON.stringify(value)}\n`).join('')}`;
  const step = `  - uses: ${name}\n${withBlock}`;
  return subpackage
    ? `package:\n  name: pkg\n  version: 1.0.0\npipeline:\n  - runs: true\nsubpackages:\n  - name: pkg-sub\n    pipeline:\n${step.replace(/^/gm, '    ')}`
    : `package:\n  name: pkg\n  version: 1.0.0\npipeline:\n${step}`;
}

const scriptsOf = (steps: readonly CompiledStep[]): string[] => steps.flatMap((step) => [...(step.runs !== undefined ? [stepScript(step)] : []), ...scriptsOf(step.steps)]);
const scripts = (steps: readonly CompiledStep[]): string => steps.map((step) => `${step.runs ?? ''}\n${scripts(step.steps)}`).join('\n');

function listPipelines(dir: string): string[] {
  const out: string[] = [];
  const visit = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const path = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.yaml')) out.push(path.slice(0, -'.yaml'.length));
    }
  };
  visit('');
  return out.sort();
}

describe("melange's built-in pipelines", () => {
  for (const [name, spec] of Object.entries(CASES)) {
    it(`${name}: compiles with its inputs substituted${spec.required ? ' and its required inputs enforced' : ''}`, async () => {
      const build = await compileBuild(loadRecipe('r.yaml', recipeUsing(name, spec.with ?? {}, spec.subpackage ?? false)), { arch: x86, library });
      const pkg = build.packages[spec.subpackage ? 1 : 0]!;
      const step = spec.subpackage ? pkg.steps[0]! : pkg.steps[0]!;
      expect(step.uses).toBe(name);
      const script = scripts(step.steps);
      expect(script).not.toContain('${{');
      // Quote style aside (inputs sit in double quotes, as in melange, so `$VAR` and `$(…)` in them expand).
      const unquoted = script.replaceAll('"', "'");
      for (const text of spec.contains ?? []) expect(unquoted).toContain(text.replaceAll('"', "'"));
      for (const pkgName of spec.needs ?? []) expect(build.needs).toContain(pkgName);
      // every script parses as POSIX sh (dash), as the engine runs it
      for (const text of scriptsOf(step.steps)) execFileSync('sh', ['-n', '-c', text]);
      for (const input of spec.required ?? []) {
        const without = { ...spec.with };
        delete without[input];
        await expect(compileBuild(loadRecipe('r.yaml', recipeUsing(name, without, spec.subpackage ?? false)), { arch: x86, library })).rejects.toMatchObject({
          code: 'PIPELINE_INPUT_INVALID',
          message: expect.stringContaining(`requires input "${input}"`) as unknown,
        });
      }
    });
  }

  it('go/build expands shell substitutions in ldflags as melange does (recipes pass $(git rev-parse HEAD))', async () => {
    const recipe = recipeUsing('go/build', { packages: '.', output: 'dive', ldflags: '-X main.commit=$(git rev-parse HEAD)\n-X main.version=v1' }, false);
    const build = await compileBuild(loadRecipe('r.yaml', recipe), { arch: x86, library });
    const script = scripts(build.packages[0]!.steps[0]!.steps);
    expect(script).toContain('-ldflags "-w -X main.commit=$(git rev-parse HEAD)\n-X main.version=v1"');
  });

  it('every built-in definition parses, and every ${{inputs.X}} it uses is declared', () => {
    const dir = builtinPipelineDir();
    const names = listPipelines(dir);
    expect(names.length).toBeGreaterThanOrEqual(Object.keys(CASES).length);
    for (const name of names) {
      const file = join(dir, `${name}.yaml`);
      const source = YamlSource.parse(file, readFileSync(file, 'utf8'));
      const definition = source.validate(pipelineDefinitionSchema, 'PIPELINE_INVALID');
      const declared = new Set(Object.keys(definition.inputs ?? {}));
      const used = [...source.text.matchAll(/\$\{\{\s*inputs\.([A-Za-z0-9._-]+)\s*\}\}/g)].map((match) => match[1]!);
      const undeclared = used.filter((input) => !declared.has(input));
      expect(undeclared, `${relative(dir, file)} uses undeclared inputs`).toEqual([]);
    }
  });

  it('docs/recipes.md lists every built-in pipeline with its required inputs', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'recipes.md'), 'utf8');
    for (const name of listPipelines(builtinPipelineDir())) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, `docs/recipes.md has no row for ${name}`).toBeDefined();
      const file = join(builtinPipelineDir(), `${name}.yaml`);
      const definition = YamlSource.parse(file, readFileSync(file, 'utf8')).validate(pipelineDefinitionSchema, 'PIPELINE_INVALID');
      for (const [input, spec] of Object.entries(definition.inputs ?? {})) expect(row).toContain(spec?.required ? `**${input}**` : input);
    }
  });

  it('covers every pipeline melange ships except the vendor-specific redis-valkey/* family', () => {
    const melange = [
      'R/build', 'autoconf/configure', 'autoconf/make', 'autoconf/make-install', 'cargo/build', 'cmake/build', 'cmake/configure', 'cmake/install', 'copy',
      'cran/build', 'cran/fetch', 'cran/install', 'ecosystems/maven', 'fetch', 'git-am', 'git-archive', 'git-checkout', 'go/build', 'go/build/v2', 'go/bump',
      'go/covdata', 'go/deps', 'go/install', 'goreleaser/build', 'llvm/covreport', 'maven/configure-mirror', 'maven/pombump', 'meson/configure',
      'meson/install', 'meson/test', 'move', 'npm/install', 'patch', 'pecl/install', 'pecl/phpize', 'pecl/phpize-8.1', 'pecl/phpize-8.2', 'perl/cleanup',
      'perl/cpan-install', 'perl/make', 'php/composer-install', 'python/build', 'python/build-gpep517', 'python/build-wheel', 'python/import',
      'python/install', 'python/pipinstall', 'python/test', 'ruby/build', 'ruby/clean', 'ruby/install', 'ruby/install_runtime_deps', 'ruby/require',
      'ruby/test', 'split/alldocs', 'split/bin', 'split/debug', 'split/dev', 'split/docs', 'split/infodir', 'split/lib', 'split/locales',
      'split/manpages', 'split/static', 'strip', 'xcover/profile', 'xcover/status', 'xcover/stop', 'xcover/wait',
    ];
    const ours = new Set(listPipelines(builtinPipelineDir()));
    expect(melange.filter((name) => !ours.has(name))).toEqual([]);
  });
});
