import type { PathMutation } from '../config/types.ts';
import { ImageError } from '../errors.ts';
import { splitPath } from './tree.ts';
import type { FsNode , FsTree} from './tree.ts';

// Pure: apko's `paths` mutations (image-config.md §2.5) on the in-memory tree.

function fail(code: 'IMAGE_PATH_ESCAPES' | 'IMAGE_PATH_CONFLICT' | 'IMAGE_PATH_MISSING', message: string, path: string): never {
  throw new ImageError(code, `paths: ${message}`, { detail: { path } });
}

/** Refuses paths that climb above the root with `..` (apko resolves them inside; we reject them). */
function checkInside(path: string): void {
  let depth = 0;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (--depth < 0) fail('IMAGE_PATH_ESCAPES', `${path} leaves the image root`, path);
    } else depth++;
  }
  if (splitPath(path).length === 0) fail('IMAGE_PATH_ESCAPES', `${JSON.stringify(path)} is the image root`, path);
}

function applyPermissions(tree: FsTree, mutation: PathMutation, node: FsNode): void {
  const apply = (target: FsNode) => {
    target.mode = mutation.permissions ?? 0;
    if (mutation.uid !== undefined || mutation.gid !== undefined) {
      target.uid = mutation.uid ?? 0;
      target.gid = mutation.gid ?? 0;
    }
    delete target.owner;
  };
  apply(node);
  if (mutation.recursive && node.type === 'dir') {
    const visit = (dir: FsNode) => {
      for (const child of dir.children!.values()) {
        if (child.type === 'symlink') continue;
        apply(child);
        if (child.type === 'dir') visit(child);
      }
    };
    visit(node);
  }
  void tree;
}

/** Applies one mutation; `mtime` is the time of created entries. */
export function applyPathMutation(tree: FsTree, mutation: PathMutation, mtime: number): void {
  const { path } = mutation;
  checkInside(path);
  const parent = splitPath(path).slice(0, -1).join('/');
  switch (mutation.type) {
    case 'directory': {
      const node = tree.mkdirAll(path, { mode: mutation.permissions ?? 0, uid: 0, gid: 0, mtime });
      applyPermissions(tree, mutation, node);
      return;
    }
    case 'empty-file': {
      tree.mkdirAll(parent, { mode: 0o755, uid: 0, gid: 0, mtime });
      const existing = tree.get(path);
      if (existing?.type === 'dir') fail('IMAGE_PATH_CONFLICT', `empty-file ${path}: a directory is there`, path);
      const node: FsNode = { type: 'file', mode: 0, uid: 0, gid: 0, mtime, content: new Uint8Array(0) };
      tree.put(path, node);
      applyPermissions(tree, mutation, node);
      return;
    }
    case 'hardlink': {
      checkInside(mutation.source ?? '');
      const source = tree.get(mutation.source ?? '', true);
      if (!source || source.type !== 'file') fail('IMAGE_PATH_MISSING', `hardlink ${path}: source ${mutation.source ?? ''} is not an existing file`, path);
      tree.mkdirAll(parent, { mode: 0o755, uid: 0, gid: 0, mtime });
      if (tree.get(path)?.type === 'dir') fail('IMAGE_PATH_CONFLICT', `hardlink ${path}: a directory is there`, path);
      // apko writes the link as a second full regular file; so do we (and the copy shares nothing
      // with the package layer, so it lives in the top layer).
      const node: FsNode = { type: 'file', mode: source.mode, uid: source.uid, gid: source.gid, mtime: source.mtime, content: source.content ?? new Uint8Array(0) };
      if (source.sha1) node.sha1 = source.sha1;
      tree.put(path, node);
      applyPermissions(tree, mutation, node);
      return;
    }
    case 'symlink': {
      tree.mkdirAll(parent, { mode: 0o755, uid: 0, gid: 0, mtime });
      if (tree.get(path)) fail('IMAGE_PATH_CONFLICT', `symlink ${path}: something already exists there`, path);
      const node: FsNode = { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime, linkTarget: mutation.source ?? '' };
      tree.put(path, node);
      if (mutation.uid !== undefined || mutation.gid !== undefined) {
        node.uid = mutation.uid ?? 0;
        node.gid = mutation.gid ?? 0;
      }
      return;
    }
    case 'permissions': {
      const node = tree.get(path, true);
      if (!node) fail('IMAGE_PATH_MISSING', `permissions ${path}: no such path`, path);
      applyPermissions(tree, mutation, node);
      return;
    }
  }
}
