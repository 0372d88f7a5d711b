import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulateApk } from './simulate.ts';

const dir = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk', 'solver');
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
const basic = [{ key: 'basic.repo', index: read('basic.repo') }];

// Behaviours of apk-tools' applets that the upstream odd-numbered fixtures do not exercise.
describe('simulateApk', () => {
  it('refuses to commit a world entry pinned to a tag no repository has', () => {
    const result = simulateApk({ args: ['add', 'a@nowhere'], repositories: basic });
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe(
      "WARNING: The repository tag for world dependency 'a@nowhere' does not exist\nERROR: Not committing changes due to missing repository tags.\n",
    );
  });

  it('lists removals with -v before committing', () => {
    const result = simulateApk({ args: ['-v', 'del', 'a'], repositories: basic, installed: read('basic.installed'), world: 'a' });
    expect(result.output).toBe(
      'The following packages will be REMOVED:\n  a (1)\n  b (1)\nAfter this operation, 2 B of disk space will be freed.\n' +
        '(1/2) Purging a (1)\n(2/2) Purging b (1)\nOK: 0 packages, 0 dirs, 0 files, 0 B\n',
    );
  });

  it('reinstalls packages marked broken in the installed database and counts them as errors', () => {
    const installed = read('basic.installed').replace('P:b\n', 'P:b\nf:f\n');
    const result = simulateApk({ args: ['fix'], repositories: basic, installed, world: 'a' });
    expect(result.output).toBe('(1/1) Reinstalling b (1)\n1 error; 2 B in 2 packages\n');
    expect(result.exitCode).toBe(1);
  });

  it('reports unknown names and options like apk', () => {
    expect(simulateApk({ args: ['del', 'zzz'], repositories: basic }).output).toBe('ERROR: No such package: zzz\n');
    expect(simulateApk({ args: ['fix', 'zzz'], repositories: basic }).output).toBe("ERROR: Package 'zzz' not found\n");
    expect(simulateApk({ args: ['add', '--bogus', 'a'], repositories: basic }).exitCode).toBe(1);
  });

  it('cannot open a root whose world file does not parse', () => {
    expect(simulateApk({ args: ['upgrade'], repositories: basic, world: 'a>' }).output).toBe('ERROR: Unable to read database: dependency format is invalid\n');
  });

  it('creates a dated virtual package when -t has no version', () => {
    const result = simulateApk({ args: ['add', '-t', '.build-deps'], repositories: basic, now: new Date('2024-01-02T03:04:05Z') });
    expect(result.output).toBe('WARNING: creating empty virtual package\n(1/1) Installing .build-deps (20240102.030405)\nOK: 0 B in 1 packages\n');
  });

  it('masks repository packages under --no-network and --network=no, not under --network', () => {
    for (const option of ['--no-network', '--network=no']) {
      expect(simulateApk({ args: [option, 'add', 'a'], repositories: basic }).output).toContain('    masked in: --no-network\n');
    }
    expect(simulateApk({ args: ['--network', 'add', 'a'], repositories: basic }).output).not.toContain('masked in');
  });

  it("accepts apk(8) 3.0's global and commit options that do not change a plan, and refuses bad values", () => {
    const plain = simulateApk({ args: ['add', 'a'], repositories: basic });
    expect(plain.exitCode).toBe(0);
    const options = [
      ['--root-tmpfs'], ['--root-tmpfs=auto'], ['--no-root-tmpfs'], ['--cache=no'], ['--no-cache'], ['--cache-predownload'], ['--check-certificate=no'],
      ['--interactive=no'], ['--no-interactive'], ['--legacy-info'], ['--no-logfile'], ['--preserve-env'], ['--pretty-print=auto'], ['--progress'],
      ['--no-progress'], ['--purge'], ['--sync=yes'], ['--no-scripts'], ['--no-commit-hooks'], ['--clean-protected'], ['--simulate'], ['-s'],
      ['--force-no-chroot'], ['--force-binary-stdout'], ['--uvol-manager', '/bin/true'], ['--compression', 'zstd:9'], ['--sign-key', 'k.rsa'],
      ['--cache-max-age', '60'], ['--initramfs-diskless-boot'],
    ];
    for (const option of options) {
      const result = simulateApk({ args: [...option, 'add', 'a'], repositories: basic });
      expect(result, option.join(' ')).toEqual(plain);
    }
    for (const bad of ['--root-tmpfs=maybe', '--no-root-tmpfs=yes', '--network=auto', '--force=yes']) {
      expect(simulateApk({ args: [bad, 'add', 'a'], repositories: basic }).exitCode, bad).toBe(1);
    }
  });
});
