import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// Bad input for `kiln pkg build` / `build-all` in the real sandbox: each fails with a clear message,
// a non-zero exit, and leaves no package, index or temporary file from the failed build behind.

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, cwd: process.cwd() });

function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'kiln-e2e-errors-'));
}

function recipe(name: string, pipeline: string, extra = ''): string {
  return `package:\n  name: ${name}\n  version: 1.0.0\n${extra}pipeline:\n${pipeline}`;
}

/** Everything in OUT/<arch> (including hidden staging leftovers). */
function outputFiles(out: string): string[] {
  const dir = join(out, 'x86_64');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

async function build(dir: string, file: string, text: string, out = join(dir, 'out')) {
  writeFileSync(join(dir, file), text);
  return kiln(['pkg', 'build', join(dir, file), '--bootstrap-host', '--out-dir', out, '--empty-workspace']);
}

describe('kiln pkg build rejects bad input cleanly', () => {
  it('source checksum mismatch: names the source and both digests, builds nothing', async () => {
    const dir = workdir();
    writeFileSync(join(dir, 'src.tar.gz'), 'not the expected bytes');
    const actual = createHash('sha256').update('not the expected bytes').digest('hex');
    const result = await build(dir, 'bad-sum.yaml', recipe('bad-sum', `  - uses: fetch\n    with:\n      uri: file://${dir}/src.tar.gz\n      expected-sha256: ${'0'.repeat(64)}\n`));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`source file://${dir}/src.tar.gz: expected sha256 ${'0'.repeat(64)}, got ${actual}`);
    expect(outputFiles(join(dir, 'out'))).toEqual([]);
  });

  it('failing step: names the step and its position, shows the log tail, leaves an existing index alone', async () => {
    const dir = workdir();
    const out = join(dir, 'out');
    const good = await build(dir, 'good.yaml', recipe('good', `  - runs: mkdir -p \${{targets.destdir}}/usr/share/good && echo ok > \${{targets.destdir}}/usr/share/good/ok\n`));
    expect(good.code, good.stderr).toBe(0);
    const before = outputFiles(out);
    const index = readFileSync(join(out, 'x86_64', 'APKINDEX.tar.gz'));
    const result = await build(dir, 'broken.yaml', recipe('broken', `  - name: compile\n    runs: |\n      echo compiling widget.c\n      echo "widget.c:3: error: boom" >&2\n      exit 4\n`));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/kiln: step "compile" \(.*broken\.yaml:5:5\) failed with exit code 4/);
    expect(result.stderr).toMatch(/--- last 2 lines of its log ---\ncompiling widget.c\nwidget.c:3: error: boom/);
    expect(outputFiles(out)).toEqual(before);
    expect(readFileSync(join(out, 'x86_64', 'APKINDEX.tar.gz')).equals(index)).toBe(true);
  });

  it('a step writing outside its destination hits the read-only root', async () => {
    const dir = workdir();
    const marker = `/usr/local/kiln-e2e-${process.pid}`;
    const result = await build(dir, 'escape.yaml', recipe('escape', `  - name: install without DESTDIR\n    runs: |\n      mkdir -p ${marker}\n      echo x > ${marker}/file\n`));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/step "install without DESTDIR" .* tried to write outside the workspace/);
    expect(existsSync(marker)).toBe(false);
    expect(outputFiles(join(dir, 'out'))).toEqual([]);
  });

  it('a step trying the network is cut off (even from the host loopback) unless the recipe asks', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      response.end('reachable');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const dir = workdir();
      const result = await build(dir, 'net.yaml', recipe('net', `  - name: download\n    runs: wget -O- http://127.0.0.1:${port}/\n`));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/step "download" .* tried to use the network/);
      expect(requests).toBe(0);
      expect(outputFiles(join(dir, 'out'))).toEqual([]);
      // with the opt-in annotation the same step reaches the host
      const allowed = await build(dir, 'net-ok.yaml', recipe('net-ok', `  - runs: wget -q -O- http://127.0.0.1:${port}/ > /dev/null\n`, '  annotations:\n    kiln.dev/network: "true"\n'));
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(requests).toBe(1);
    } finally {
      server.close();
    }
  });

  it('unsupported features and malformed recipes fail before anything runs, naming file:line:column', async () => {
    const dir = workdir();
    const setcap = await build(dir, 'caps.yaml', recipe('caps', '  - runs: true\n', '  setcap:\n    - path: /usr/bin/x\n      add:\n        cap_net_raw: "+ep"\n      reason: test\n'));
    expect(setcap.code).toBe(1);
    expect(setcap.stderr).toMatch(/caps\.yaml:5:5: package\.setcap \(file capabilities\) is not supported/);
    const typo = await build(dir, 'typo.yaml', recipe('typo', '  - runs: true\n    workdir: x\n'));
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/typo\.yaml:6:5: unknown key "workdir" in pipeline\[0\]/);
  });
});

describe('kiln pkg build-all rejects a dependency cycle', () => {
  it('lists the cycle, exits non-zero and builds nothing', async () => {
    const dir = workdir();
    const recipes = join(dir, 'recipes');
    mkdirSync(recipes);
    writeFileSync(join(recipes, 'a.yaml'), recipe('a', '  - runs: true\n', '  dependencies:\n    runtime:\n      - b\n'));
    writeFileSync(join(recipes, 'b.yaml'), recipe('b', '  - runs: true\n', 'environment:\n  contents:\n    packages:\n      - a\n'));
    const result = await kiln(['pkg', 'build-all', recipes, '--bootstrap-host', '--out-dir', join(dir, 'out')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/dependency cycle: a -> b -> a/);
    expect(outputFiles(join(dir, 'out'))).toEqual([]);
  });
});
