import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostArchName } from '../apk/index.ts';
import { checkRecipe } from './check-recipe.ts';

function recipeFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-check-recipe-')), 'recipe.yaml');
  writeFileSync(file, text);
  return file;
}

describe('checkRecipe', () => {
  it('loads and compiles a recipe, its subpackages and tests, without running anything', async () => {
    const file = recipeFile(`package:
  name: tool
  version: 2.0.0
pipeline:
  - runs: mkdir -p \${{targets.destdir}}/usr/bin
  - uses: strip
subpackages:
  - name: tool-doc
    pipeline:
      - uses: split/manpages
test:
  pipeline:
    - runs: tool --version
`);
    const check = await checkRecipe({ recipeFile: file, arch: 'aarch64' });
    // runs, strip and its one step; split/manpages and its one step
    expect(check).toEqual({ file, origin: 'tool', version: '2.0.0-r0', arch: 'aarch64', packages: ['tool', 'tool-doc'], steps: 5, testSteps: 1 });
  });

  it('compiles for a target-architecture the host is not, unless --arch says otherwise', async () => {
    const other = hostArchName(process.arch) === 'aarch64' ? 'x86_64' : 'aarch64';
    const file = recipeFile(`package:\n  name: t\n  version: 1\n  target-architecture: [${other}]\npipeline:\n  - runs: echo \${{build.arch}}\n`);
    expect((await checkRecipe({ recipeFile: file })).arch).toBe(other);
  });

  it('fails as a build would, naming file, line and column', async () => {
    await expect(checkRecipe({ recipeFile: recipeFile('package:\n  name: t\n  version: 1\npipeline:\n  - runs: echo ${{vars.nope}}\n') })).rejects.toMatchObject({ code: 'SUBSTITUTION_UNDEFINED', message: expect.stringMatching(/recipe\.yaml:5:11: undefined variable \$\{\{vars\.nope\}\}$/) as unknown });
    await expect(checkRecipe({ recipeFile: recipeFile('package:\n  name: t\n  version: 1\npipeline:\n  - uses: no/such-pipeline\n') })).rejects.toMatchObject({ code: 'PIPELINE_NOT_FOUND' });
    await expect(checkRecipe({ recipeFile: recipeFile('package:\n  name: t\n  version: 1\n  setcap:\n    - path: /x\n      add: {cap_net_raw: "+ep"}\n      reason: ping\npipeline: []\n') })).rejects.toMatchObject({ code: 'RECIPE_UNSUPPORTED' });
    await expect(checkRecipe({ recipeFile: join(tmpdir(), 'no-such-recipe.yaml') })).rejects.toMatchObject({ code: 'RECIPE_NOT_FOUND' });
  });
});
