import { createHash } from 'node:crypto';
import { ImageError } from '../errors.ts';

// The image filesystem held in memory while an image is assembled: package entries are streamed
// into it (never extracted to disk), generated files and path mutations are applied, and it is then
// walked once in sorted order to write the layer tars. Paths are resolved like a chroot: `..` at
// the root stays at the root and symlinks in parent components are followed inside the image, so no
// entry can land outside it.

/** Kinds of filesystem node. */
export type NodeType = 'dir' | 'file' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One filesystem node. */
export interface FsNode {
  type: NodeType;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Regular file content. */
  content?: Uint8Array;
  /** SHA-1 hex of the content (files), of the target string (symlinks). */
  sha1?: string;
  /** Symlink target (verbatim) or hard-link target (image path without leading slash). */
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Map<string, Uint8Array>;
  /** Name of the package that installed this node; absent for synthesized or mutated nodes. */
  owner?: string;
  children?: Map<string, FsNode>;
}

const MAX_LINKS = 40;

/** Splits an image path into clean components, resolving `.` and `..` lexically at the root. */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

export function sha1Hex(data: Uint8Array | string): string {
  return createHash('sha1').update(data).digest('hex');
}

/** The in-memory image filesystem. */
export class FsTree {
  readonly root: FsNode = { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, children: new Map() };

  /** Follows symlinks in every component of `parts` except the last (unless `followLast`),
   *  returning the resolved component list. Missing components are kept as they are. */
  resolve(parts: readonly string[], followLast = false): string[] {
    let hops = 0;
    const pending = [...parts];
    const done: string[] = [];
    while (pending.length > 0) {
      const part = pending.shift()!;
      const isLast = pending.length === 0;
      const node = this.getExact([...done, part]);
      if (node?.type === 'symlink' && (!isLast || followLast)) {
        if (++hops > MAX_LINKS) throw new ImageError('IMAGE_PATH_ESCAPES', `/${[...done, part].join('/')}: too many levels of symbolic links`, { detail: { path: `/${[...done, part].join('/')}` } });
        const target = node.linkTarget ?? '';
        const base = target.startsWith('/') ? [] : done;
        const next = splitPath([...base, target].join('/'));
        done.length = 0;
        // re-resolve the target's own components
        pending.unshift(...next);
        continue;
      }
      done.push(part);
    }
    return done;
  }

  /** The node at exactly these components, without following symlinks. */
  getExact(parts: readonly string[]): FsNode | undefined {
    let node: FsNode | undefined = this.root;
    for (const part of parts) {
      node = node?.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  /** Looks a path up, following symlinks in parents (and in the last component with `followLast`). */
  get(path: string, followLast = false): FsNode | undefined {
    return this.getExact(this.resolve(splitPath(path), followLast));
  }

  /** The directory that will contain `path` after resolving symlinks, and the final name. */
  parentOf(path: string): { dir: FsNode | undefined; name: string; parts: string[] } {
    const parts = this.resolve(splitPath(path));
    const name = parts[parts.length - 1] ?? '';
    const dir = this.getExact(parts.slice(0, -1));
    return { dir: dir?.type === 'dir' ? dir : undefined, name, parts };
  }

  /** mkdir -p: creates missing directories with the given metadata; existing ones are left alone.
   *  Returns the directory. */
  mkdirAll(path: string, meta: Pick<FsNode, 'mode' | 'uid' | 'gid' | 'mtime'> & { owner?: string }): FsNode {
    const parts = this.resolve(splitPath(path), true);
    let node = this.root;
    const walked: string[] = [];
    for (const part of parts) {
      walked.push(part);
      let child = node.children!.get(part);
      if (child?.type === 'symlink') {
        const resolved = this.getExact(this.resolve(walked, true));
        if (resolved?.type === 'dir') child = resolved;
      }
      if (!child) {
        child = { type: 'dir', mode: meta.mode, uid: meta.uid, gid: meta.gid, mtime: meta.mtime, children: new Map(), ...(meta.owner ? { owner: meta.owner } : {}) };
        node.children!.set(part, child);
      } else if (child.type !== 'dir') {
        throw new ImageError('IMAGE_PATH_CONFLICT', `/${walked.join('/')}: is a ${child.type}${child.owner ? ` owned by ${child.owner}` : ''}, not a directory`, {
          detail: { path: `/${walked.join('/')}`, owner: child.owner },
        });
      }
      node = child;
    }
    return node;
  }

  /** Puts a non-directory node at `path` (parents must exist), replacing what is there. */
  put(path: string, node: FsNode): void {
    const { dir, name, parts } = this.parentOf(path);
    if (!name) throw new ImageError('IMAGE_PATH_ESCAPES', `${path}: is the image root`, { detail: { path } });
    if (!dir) {
      throw new ImageError('IMAGE_PATH_MISSING', `/${parts.join('/')}: parent directory does not exist`, { detail: { path: `/${parts.join('/')}` } });
    }
    dir.children!.set(name, node);
  }

  /** Removes a node (no error if absent). */
  remove(path: string): void {
    const { dir, name } = this.parentOf(path);
    dir?.children?.delete(name);
  }

  /** Visits every node depth-first in pre-order, children in byte order of their names; the root is
   *  not visited. `path` has no leading slash. */
  *walk(): Generator<{ path: string; node: FsNode }> {
    const stack: Array<{ prefix: string; node: FsNode }> = [{ prefix: '', node: this.root }];
    const visit = function* (prefix: string, node: FsNode): Generator<{ path: string; node: FsNode }> {
      const names = [...node.children!.keys()].sort(compareBytes);
      for (const name of names) {
        const child = node.children!.get(name)!;
        const path = prefix ? `${prefix}/${name}` : name;
        yield { path, node: child };
        if (child.type === 'dir') yield* visit(path, child);
      }
    };
    const first = stack[0]!;
    yield* visit(first.prefix, first.node);
  }
}

/** Byte order of UTF-8 strings (names are compared like Go's sort.Strings on bytes). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
