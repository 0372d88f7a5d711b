import { describe, expect, it } from 'vitest';
import type { PathMutation } from '../config/types.ts';
import { ImageError } from '../errors.ts';
import { applyPathMutation } from './mutations.ts';
import { FsTree } from './tree.ts';

const directory = (path: string): PathMutation => ({ path, type: 'directory', permissions: 0o755, recursive: false });

function failure(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('applyPathMutation path safety', () => {
  it('resolves .. that stays inside the image', () => {
    const tree = new FsTree();
    applyPathMutation(tree, directory('/a/../b'), 0);
    applyPathMutation(tree, directory('/c/d/../../e/./f'), 0);
    expect([...tree.walk()].map((entry) => entry.path)).toEqual(['b', 'e', 'e/f']);
  });

  it.each(['/..', '/../etc', '/a/../../b', 'a/b/../../../c', '../x'])('refuses %s, which climbs above the root', (path) => {
    const error = failure(() => applyPathMutation(new FsTree(), directory(path), 0));
    expect(error).toBeInstanceOf(ImageError);
    expect(error).toMatchObject({ code: 'IMAGE_PATH_ESCAPES', message: `paths: ${path} leaves the image root`, detail: { path } });
  });

  it.each(['/', '', '/a/..', '.', 'a/b/../..'])('refuses %j, which is the root itself', (path) => {
    const error = failure(() => applyPathMutation(new FsTree(), directory(path), 0));
    expect(error).toMatchObject({ code: 'IMAGE_PATH_ESCAPES', message: `paths: ${JSON.stringify(path)} is the image root` });
  });
});
