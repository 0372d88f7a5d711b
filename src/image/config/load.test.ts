import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../lib/index.ts';
import { loadImageConfig, loadImageConfigText, resolveLocalPath } from './load.ts';
import { parseGoInteger } from './parse.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'images');
const examples = join(fixtures, 'apko-examples');
const locked = join(fixtures, 'locked-configs');

function errorOf(fn: () => unknown): { code: string; message: string; detail: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    if (isKilnError(error)) return { code: error.code, message: error.message, detail: { ...error.detail } };
    throw error;
  }
  throw new Error('expected an error');
}

let workdir: string;
beforeAll(async () => {
  // apko's include example names `examples/alpine-base.yaml` relative to apko's repository root.
  workdir = await mkdtemp(join(tmpdir(), 'kiln-image-config-'));
  await symlink(examples, join(workdir, 'examples'));
});
afterAll(async () => {
  await rm(workdir, { recursive: true, force: true });
});

describe('apko example configurations', async () => {
  const files = (await readdir(examples)).filter((name) => name.endsWith('.yaml'));
  files.push('on_top_of_base/base_image.yaml');
  it('has the fixtures', () => expect(files.length).toBeGreaterThanOrEqual(20));
  it.each(files)('%s loads', async (name) => {
    const loaded = await loadImageConfig(join(examples, name), { cwd: workdir });
    expect(loaded.checksum).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/);
    expect(loaded.config.contents.packages.length).toBeGreaterThan(0);
    for (const arch of loaded.config.archs) expect(['386', 'amd64', 'arm/v6', 'arm/v7', 'arm64', 'loong64', 'ppc64le', 'riscv64', 's390x']).toContain(arch);
  });
  it('merges include under the including file (overlay adds nano after alpine-base)', async () => {
    const loaded = await loadImageConfig(join(examples, 'overlay.yaml'), { cwd: workdir });
    expect(loaded.config.contents.packages).toEqual(['alpine-base', 'nano']);
    expect(loaded.config.archs).toEqual(['amd64', 'arm64']);
    expect(loaded.config.cmd).toBe('/bin/sh -l');
    expect(loaded.files).toHaveLength(2);
  });
  it('normalises aliases, octal permissions and defaults', async () => {
    const nginx = (await loadImageConfig(join(examples, 'nginx-rootless.yaml'))).config;
    expect(nginx.paths[0]).toMatchObject({ path: '/run/nginx', type: 'directory', uid: 10000, gid: 10000, permissions: 0o755 });
    expect(nginx.accounts.users[0]).toEqual({ username: 'nginx', uid: 10000, gid: 10000, homedir: '/home/nginx' });
    expect(nginx.entrypoint.services.nginx).toBe('/usr/sbin/nginx -c /etc/nginx/nginx.conf -g "daemon off;"');
    const wolfi = (await loadImageConfig(join(examples, 'wolfi-base.yaml'))).config;
    expect(wolfi.archs).toEqual(['amd64', 'arm64']);
  });
});

describe('Chainguard locked configurations', async () => {
  const files = (await readdir(locked)).filter((name) => name.endsWith('.json'));
  it('has the fixtures', () => expect(files.length).toBeGreaterThan(80));
  it.each(files)('%s loads', async (name) => {
    const loaded = await loadImageConfig(join(locked, name));
    expect(loaded.config.contents.packages.length).toBeGreaterThan(0);
    // empty strings and nulls are absent
    expect(loaded.config.cmd === undefined || loaded.config.cmd.length > 0).toBe(true);
    expect(loaded.config.layering === undefined || loaded.config.layering.strategy === 'origin').toBe(true);
    if (!name.includes('.index.')) expect(loaded.config.archs).toHaveLength(1);
  });
});

describe('configuration errors', () => {
  it('names file, line and column of an unknown field', () => {
    const error = errorOf(() => loadImageConfigText('contents:\n  packages: [a]\n  pakages: [b]\n', 'x.yaml'));
    expect(error.code).toBe('IMAGE_CONFIG_INVALID');
    expect(error.message).toContain('x.yaml:3:3: contents.pakages: unknown field');
    expect(error.detail).toMatchObject({ file: 'x.yaml', line: 3, column: 3 });
  });
  it('names the position of an ill-typed value', () => {
    const error = errorOf(() => loadImageConfigText('contents:\n  packages: [a]\naccounts:\n  users:\n    - username: u\n      uid: [1]\n', 'y.yaml'));
    expect(error.message).toContain('y.yaml:6:12: accounts.users[0].uid');
  });
  it('rejects uid 0, missing username and an unknown path type', () => {
    expect(errorOf(() => loadImageConfigText('accounts:\n  users:\n    - username: r\n      uid: 0\n', 'z.yaml')).message).toContain('z.yaml:4:12');
    expect(errorOf(() => loadImageConfigText('accounts:\n  users:\n    - uid: 5\n', 'z.yaml')).message).toContain('needs a username');
    expect(errorOf(() => loadImageConfigText('paths:\n  - path: /x\n    type: fifo\n', 'z.yaml')).message).toContain('z.yaml:3:11: paths[0].type');
  });
  it('reports YAML syntax errors with a position', () => {
    const error = errorOf(() => loadImageConfigText('contents:\n  packages: [a\n', 's.yaml'));
    expect(error.code).toBe('IMAGE_CONFIG_INVALID');
    expect(error.message).toMatch(/s\.yaml:\d+:\d+/);
  });
  it('reports unknown architectures with their position', () => {
    const error = errorOf(() => loadImageConfigText('archs:\n  - amd64\n  - sparc\n', 'a.yaml'));
    expect(error.code).toBe('IMAGE_ARCH_UNKNOWN');
    expect(error.message).toContain('a.yaml:3:5');
  });
  it('keeps the literal text of string fields', () => {
    const loaded = loadImageConfigText('cmd: 1.10\nenvironment:\n  PORT: 0080\n  FLAG: yes\n', 'c.yaml').config;
    expect(loaded.cmd).toBe('1.10');
    expect(loaded.environment).toEqual({ PORT: '0080', FLAG: 'yes' });
  });
  it('detects include cycles and missing includes', async () => {
    await writeFile(join(workdir, 'a.yaml'), 'include: b.yaml\n');
    await writeFile(join(workdir, 'b.yaml'), 'include: a.yaml\n');
    await expect(loadImageConfig('a.yaml', { cwd: workdir })).rejects.toMatchObject({ code: 'IMAGE_CONFIG_INCLUDE' });
    await writeFile(join(workdir, 'c.yaml'), 'include: nowhere.yaml\n');
    await expect(loadImageConfig('c.yaml', { cwd: workdir })).rejects.toMatchObject({ code: 'IMAGE_CONFIG_INCLUDE', message: expect.stringContaining('nowhere.yaml') });
  });
});

describe('parseGoInteger', () => {
  it.each([
    ['0755', 0o755],
    ['0o755', 0o755],
    ['0x1ed', 0x1ed],
    ['493', 493],
    ['0', 0],
    ['1_000', 1000],
    ['0b101', 5],
    ['-7', -7],
  ])('%s → %d', (text, value) => expect(parseGoInteger(text)).toBe(value));
  it('rejects non-integers', () => expect(parseGoInteger('08')).toBeNaN());
});

describe('relative paths in a configuration', () => {
  it('are found from the working directory first, as apko does, else beside the files of the configuration', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kiln-image-paths-'));
    try {
      const configDir = join(root, 'project');
      const elsewhere = join(root, 'elsewhere');
      await mkdir(join(configDir, 'keys'), { recursive: true });
      await mkdir(join(configDir, 'shared'));
      await mkdir(join(elsewhere, 'keys'), { recursive: true });
      await writeFile(join(configDir, 'keys', 'a.rsa.pub'), 'beside');
      await writeFile(join(elsewhere, 'keys', 'a.rsa.pub'), 'cwd');
      await writeFile(join(configDir, 'keys', 'b.rsa.pub'), 'beside');
      await writeFile(join(configDir, 'shared', 'base.yaml'), 'contents:\n  packages: [busybox]\n');
      await writeFile(join(configDir, 'image.yaml'), 'include: shared/base.yaml\ncontents:\n  keyring: [keys/a.rsa.pub, keys/b.rsa.pub]\n  packages: [curl]\n');
      // The include is found beside the including file although the working directory lacks it.
      const loaded = await loadImageConfig(join(configDir, 'image.yaml'), { cwd: elsewhere });
      expect(loaded.config.contents.packages).toEqual(['busybox', 'curl']);
      expect(loaded.configDirs).toEqual([configDir, join(configDir, 'shared')]);
      // The text is kept as written; only where to read it is resolved.
      expect(loaded.config.contents.keyring).toEqual(['keys/a.rsa.pub', 'keys/b.rsa.pub']);
      expect(resolveLocalPath('keys/a.rsa.pub', elsewhere, loaded.configDirs)).toBe(join(elsewhere, 'keys', 'a.rsa.pub'));
      expect(resolveLocalPath('keys/b.rsa.pub', elsewhere, loaded.configDirs)).toBe(join(configDir, 'keys', 'b.rsa.pub'));
      expect(resolveLocalPath('keys/none.rsa.pub', elsewhere, loaded.configDirs)).toBe(join(elsewhere, 'keys', 'none.rsa.pub'));
      expect(resolveLocalPath('/abs/key.pub', elsewhere, loaded.configDirs)).toBe('/abs/key.pub');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
