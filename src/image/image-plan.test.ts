import { describe, expect, it } from 'vitest';
import { emptyRecord } from '../apk/index.ts';
import { archInfo } from '../apk/index.ts';
import { loadImageConfigText } from './config/load.ts';
import { planImage } from './image-plan.ts';

function record(name: string, version: string) {
  const out = emptyRecord();
  out.name = name;
  out.version = version;
  out.identity = `Q1${name}`;
  out.size = 10;
  return out;
}

describe('planImage', () => {
  it('pins the world, merges annotations and the vcs url, and is plain JSON', () => {
    const { config } = loadImageConfigText(
      'contents:\n  repositories: [https://r.example/os]\n  runtime_repositories: [https://mirror.example/os]\n  keyring: [k.pub]\n  packages: [a]\nannotations: {x: "1"}\nvcs-url: https://github.com/o/r@abc\nlayering: {strategy: origin, budget: 3}\n',
      'c.yaml',
    );
    const plan = planImage({
      config,
      tag: 'app:1',
      arches: [archInfo('amd64')],
      selections: new Map([['amd64', [{ record: record('b', '1-r0'), repository: { url: 'https://r.example/os' } }, { record: record('a', '2-r1'), repository: { url: 'https://r.example/os', tag: 'edge' } }]]]),
      annotations: { y: '2' },
      sourceDateEpoch: 42,
    });
    expect(plan.arches[0]!.world).toEqual(['b=1-r0', 'a=2-r1@edge']);
    expect(plan.annotations).toEqual({ x: '1', y: '2', 'org.opencontainers.image.source': 'https://github.com/o/r', 'org.opencontainers.image.revision': 'abc' });
    expect(plan).toMatchObject({ buildDate: 42, buildDateIsFixed: true, runtimeRepositories: ['https://r.example/os', 'https://mirror.example/os'], keyFiles: ['k.pub'], layering: { strategy: 'origin', budget: 3 } });
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});
