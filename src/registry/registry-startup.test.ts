// Start-up failures are the operator's to fix, not Kiln bugs: `kiln registry serve` exits 1 with one
// line naming the file or the address at fault.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/program.ts';
import { tempDir } from './test-support.ts';

async function serve(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await runCli(['registry', 'serve', '--log-level', 'silent', ...args], { stdout: () => {}, stderr: (text) => void (stderr += text), env: {}, cwd, isTTY: false });
  return { code, stderr };
}

describe('kiln registry serve start-up errors', () => {
  it('names a missing TLS certificate or key file', async () => {
    await using dir = await tempDir('kiln-registry-startup-');
    await writeFile(join(dir.path, 'config.yaml'), 'addr: 127.0.0.1:0\nhttp:\n  tls:\n    certificate: missing.crt\n    key: missing.key\n');
    const result = await serve(['--config', join(dir.path, 'config.yaml'), '--data-dir', join(dir.path, 'data')], dir.path);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`kiln: ${join(dir.path, 'config.yaml')}: http.tls.certificate ${join(dir.path, 'missing.crt')}: cannot read: no such file\n`);
  });

  it('names an address already in use', async () => {
    await using dir = await tempDir('kiln-registry-startup-');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const result = await serve(['--addr', `127.0.0.1:${port}`, '--data-dir', join(dir.path, 'data')], dir.path);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`kiln: cannot listen on 127.0.0.1:${port}: the address is already in use (another registry or service is listening there)\n`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('names a config whose aliases expand without end, instead of failing as a bug', async () => {
    await using dir = await tempDir('kiln-registry-startup-');
    let bomb = 'x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n';
    for (let level = 1; level <= 8; level++) bomb += `x${level}: &x${level} [${Array.from({ length: 10 }, () => `*x${level - 1}`).join(', ')}]\n`;
    await writeFile(join(dir.path, 'config.yaml'), bomb);
    const result = await serve(['--config', join(dir.path, 'config.yaml'), '--data-dir', join(dir.path, 'data')], dir.path);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^kiln: ${join(dir.path, 'config.yaml').replace(/[.]/g, '\\.')}:\\d+:\\d+: the document expands to more than 1000000 values`));
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
