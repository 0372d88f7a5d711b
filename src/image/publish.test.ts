import { describe, expect, it } from 'vitest';
import type { BuiltIndex } from '../oci/index.ts';
import { publishIndex } from './publish.ts';
import type { PublishTarget, RegistryPort } from './publish.ts';

const blob = (name: string) => ({ mediaType: `application/x-${name}`, digest: `sha256:${name.padEnd(64, '0')}`, data: new Uint8Array([1]) });

// Two images (two layers and one layer), pushed to two repositories and three tags.
const built = {
  index: blob('index'),
  images: [
    { layers: [blob('layer1'), blob('layer2')], config: blob('config1'), manifest: blob('manifest1') },
    { layers: [blob('layer3')], config: blob('config2'), manifest: blob('manifest2') },
  ],
} as unknown as BuiltIndex;

describe('publishIndex progress', () => {
  it('counts every blob and manifest pushed, up to a total known from the start', async () => {
    const pushes: string[] = [];
    const registry: RegistryPort = {
      pushBlob: (repo, _source, options) => Promise.resolve(void pushes.push(`${repo.repository} ${options?.digest}`)),
      putManifest: (ref: PublishTarget) => Promise.resolve((pushes.push(`${ref.repository} ${ref.tag ?? ref.digest}`), { digest: built.index.digest })),
    };
    const targets: PublishTarget[] = [
      { registry: 'r.example', repository: 'a', tag: '1' },
      { registry: 'r.example', repository: 'a', tag: 'latest' },
      { registry: 'r.example', repository: 'b', tag: '1' },
    ];
    const seen: Array<[number, number, string]> = [];
    const refs = await publishIndex(registry, built, targets, (done, total, item) => void seen.push([done, total, item]));
    // per repository 3 layers + 2 configs + 2 manifests + the index = 8, twice, then 3 tags
    expect(pushes).toHaveLength(19);
    expect(seen.map(([done, total]) => [done, total])).toEqual(Array.from({ length: 19 }, (_, index) => [index + 1, 19]));
    expect(seen.slice(0, 5).map(([, , item]) => item)).toEqual([
      `r.example/a ${blob('layer1').digest}`,
      `r.example/a ${blob('layer2').digest}`,
      `r.example/a ${blob('config1').digest}`,
      `r.example/a@${blob('manifest1').digest}`,
      `r.example/a ${blob('layer3').digest}`,
    ]);
    expect(seen.at(-1)![2]).toBe('r.example/b:1');
    expect(refs[0]).toBe(`r.example/b@${built.index.digest}`);
  });
});
