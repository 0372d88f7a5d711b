import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AptSourceFetcher } from './source-fetcher.ts';

describe('AptSourceFetcher input', () => {
  it('refuses a package name or version apt would read as an option, before running apt or touching the cache', async () => {
    const cacheDir = join(await mkdtemp(join(tmpdir(), 'kiln-apt-source-')), 'cache');
    try {
      const fetcher = new AptSourceFetcher({ cacheDir, mirrors: [] });
      const sha = 'a'.repeat(64);
      await expect(fetcher.fetch({ package: '-c/tmp/evil', version: 'conf', dscSha256: sha })).rejects.toMatchObject({ code: 'DEBIAN_SOURCE_INVALID', message: expect.stringContaining('"-c/tmp/evil" is not a Debian source package name') });
      await expect(fetcher.fetch({ package: 'zlib', version: '-oDir=/tmp', dscSha256: sha })).rejects.toMatchObject({ code: 'DEBIAN_SOURCE_INVALID', message: expect.stringContaining('is not a Debian version') });
      await expect(fetcher.availableVersions('--option=x')).rejects.toMatchObject({ code: 'DEBIAN_SOURCE_INVALID' });
      await expect(readdir(cacheDir)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(join(cacheDir, '..'), { recursive: true, force: true });
    }
  });
});
