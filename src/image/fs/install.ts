import type { ApkControl, ApkEnd, ApkEntry, ApkItem } from '../../apk/index.ts';
import { ImageError } from '../errors.ts';
import { splitPath } from './tree.ts';
import type { FsNode, NodeType , FsTree} from './tree.ts';

// Installs one package's data entries into the in-memory tree the way apk would: directories are
// shared (first creator sets mode and owner, the last package that lists one sets its mtime), a
// file already owned by another package is replaced only when identical content, `replaces` or a
// shared origin allows it (apk-format.md §4.8), and symlinked parent directories are followed.

/** A package installed into the tree: its control data, entries and totals. */
export interface InstalledPackage {
  control: ApkControl;
  entries: ApkEntry[];
  end: ApkEnd;
}

/** What the conflict rules need to know about an installed package. */
export interface PackageOwnership {
  name: string;
  origin?: string;
  replaces: string[];
  replacesPriority?: number;
}

const TYPE_MAP: Record<ApkEntry['type'], NodeType> = {
  file: 'file',
  hardlink: 'hardlink',
  symlink: 'symlink',
  chardev: 'char',
  blockdev: 'block',
  directory: 'dir',
  fifo: 'fifo',
};

function replacedName(spec: string): string {
  return spec.replace(/^!/, '').split(/[<>=~]/)[0]!;
}

/** Which package keeps a path both ship: 'new' overwrites, 'old' keeps, 'conflict' fails. */
function resolveFileConflict(existing: PackageOwnership, incoming: PackageOwnership): 'new' | 'old' | 'conflict' {
  if (existing.name === incoming.name) return 'new';
  const oldPrio = existing.replaces.some((spec) => replacedName(spec) === incoming.name) ? (existing.replacesPriority ?? 0) : -1;
  const newPrio = incoming.replaces.some((spec) => replacedName(spec) === existing.name) ? (incoming.replacesPriority ?? 0) : -1;
  if (oldPrio > newPrio) return 'old';
  if (newPrio >= 0) return 'new';
  if (existing.origin && existing.origin === incoming.origin) return 'new';
  return 'conflict';
}

async function readAll(content: AsyncIterable<Buffer> | undefined): Promise<Buffer> {
  if (!content) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(chunk);
  if (chunks.length !== 1) return Buffer.concat(chunks);
  // A single chunk (a read-ahead package's file) is used as it is, unless it is a small view into
  // a much larger buffer (the inflater's 1 MiB output buffer): keeping the view would keep the
  // whole buffer alive for the rest of the build.
  const only = chunks[0]!;
  return only.buffer.byteLength > 2 * only.length ? Buffer.from(only) : only;
}

/** Reads a whole package (verifying it as the reader goes) into memory, contents joined per file. */
async function readWholePackage(items: AsyncIterable<ApkItem>): Promise<ApkItem[]> {
  const out: ApkItem[] = [];
  for await (const item of items) {
    if (item.kind === 'entry' && item.entry.type === 'file') {
      const content = await readAll(item.content);
      out.push({ ...item, content: replayChunks(content) });
    } else {
      out.push(item);
    }
  }
  return out;
}

async function* replayChunks(content: Buffer): AsyncGenerator<Buffer> {
  yield content;
}

async function* replayItems(items: ApkItem[]): AsyncGenerator<ApkItem> {
  yield* items;
}

/**
 * Reads packages in order with up to `depth` of them read ahead: a package is inflated and
 * verified (on the thread pool and between installs) while the one before it is placed into the
 * tree, which keeps both cores busy. Placement stays strictly in install order, and a failing
 * package surfaces at its own turn; reads already started run to their end and are discarded.
 */
export async function* readAhead<T>(packages: readonly T[], open: (pkg: T) => AsyncIterable<ApkItem>, depth = 3): AsyncGenerator<{ pkg: T; items: AsyncIterable<ApkItem> }> {
  const reads: Array<Promise<ApkItem[]> | undefined> = [];
  const start = (index: number): void => {
    if (index >= packages.length) return;
    const read = readWholePackage(open(packages[index]!));
    read.catch(() => {}); // observed when its turn comes
    reads[index] = read;
  };
  for (let index = 0; index < Math.min(depth, packages.length); index++) start(index);
  for (let index = 0; index < packages.length; index++) {
    const items = await reads[index]!;
    reads[index] = undefined;
    start(index + depth);
    yield { pkg: packages[index]!, items: replayItems(items) };
  }
}

/** Installs a package read with readApk into the tree. `owners` maps installed package names to
 *  their ownership data (this package is added to it). Throws IMAGE_PATH_CONFLICT naming both
 *  packages when a path is contested without permission. */
export async function installPackage(tree: FsTree, items: AsyncIterable<ApkItem>, owners: Map<string, PackageOwnership>, where: string): Promise<InstalledPackage> {
  let control: ApkControl | undefined;
  let self: PackageOwnership | undefined;
  const entries: ApkEntry[] = [];
  for await (const item of items) {
    if (item.kind === 'control') {
      control = item.control;
      const info = control.pkginfo;
      self = { name: info.name, replaces: info.replaces, ...(info.origin ? { origin: info.origin } : {}), ...(info.replacesPriority ? { replacesPriority: info.replacesPriority } : {}) };
      owners.set(info.name, self);
      continue;
    }
    if (item.kind === 'end') {
      if (!control) throw new ImageError('IMAGE_PATH_CONFLICT', `${where}: package has no control section`, { detail: { package: where } });
      return { control, entries, end: item.end };
    }
    const entry = item.entry;
    const content = entry.type === 'file' ? await readAll(item.content) : undefined;
    entries.push(entry);
    placeEntry(tree, entry, content, self!, owners, where);
  }
  throw new ImageError('IMAGE_PATH_CONFLICT', `${where}: package ended early`, { detail: { package: where } });
}

const idTables = new WeakMap<Uint8Array, Map<string, number>>();

/** The id an entry's owner name has in the image being built, as apk resolves it: `root` is 0, a
 *  name in the target root's /etc/passwd (or /etc/group) has its id there, anything else keeps the
 *  numeric id from the package. */
function ownerId(tree: FsTree, table: 'etc/passwd' | 'etc/group', name: string, numeric: number): number {
  if (name === 'root') return 0;
  if (!name) return numeric;
  const content = tree.get(table, true)?.content;
  if (!content) return numeric;
  let ids = idTables.get(content);
  if (!ids) {
    ids = new Map();
    for (const line of Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8').split('\n')) {
      const fields = line.split(':');
      const id = Number(fields[2]);
      if (fields.length >= 3 && fields[0] && /^\d+$/.test(fields[2] ?? '') && !ids.has(fields[0])) ids.set(fields[0], id);
    }
    idTables.set(content, ids);
  }
  return ids.get(name) ?? numeric;
}

/** Targets of the hard links placed in each tree. */
const linkTargets = new WeakMap<FsTree, Set<string>>();

/** A file replaced by another package: hard links to it keep the old content, as they do on disk
 *  under apk (they share the old inode), so each becomes a file of its own. Left as links they
 *  would take the new content, and their layer would point at a file only a higher layer has. */
function detachHardLinks(tree: FsTree, target: string, old: FsNode): void {
  // Walks the tree only when a link to this target was placed (replacements are common, links rare).
  if (!linkTargets.get(tree)?.has(target)) return;
  for (const { node } of tree.walk()) {
    if (node.type !== 'hardlink' || node.linkTarget !== target) continue;
    node.type = 'file';
    delete node.linkTarget;
    node.content = old.content ?? Buffer.alloc(0);
    node.mode = old.mode;
    node.uid = old.uid;
    node.gid = old.gid;
    if (old.sha1 !== undefined) node.sha1 = old.sha1;
    if (old.xattrs) node.xattrs = new Map(old.xattrs);
    else delete node.xattrs;
  }
}

function placeEntry(tree: FsTree, entry: ApkEntry, content: Buffer | undefined, self: PackageOwnership, owners: Map<string, PackageOwnership>, where: string): void {
  const type = TYPE_MAP[entry.type];
  const path = entry.path;
  const uid = ownerId(tree, 'etc/passwd', entry.uname, entry.uid);
  const gid = ownerId(tree, 'etc/group', entry.gname, entry.gid);
  if (type === 'dir') {
    const existing = tree.get(path, true);
    if (existing) {
      if (existing.type !== 'dir') {
        throw new ImageError('IMAGE_PATH_CONFLICT', `${where}: directory /${path} collides with a ${existing.type}${existing.owner ? ` of package ${existing.owner}` : ''}`, {
          detail: { path: `/${path}`, package: self.name, owner: existing.owner },
        });
      }
      existing.mtime = entry.mtime;
      return;
    }
    tree.mkdirAll(parentDir(path), { mode: 0o755, uid: 0, gid: 0, mtime: entry.mtime });
    const node: FsNode = { type: 'dir', mode: entry.mode, uid, gid, mtime: entry.mtime, children: new Map(), owner: self.name };
    if (entry.xattrs.size) node.xattrs = new Map(entry.xattrs);
    tree.put(path, node);
    return;
  }
  const node: FsNode = { type, mode: entry.mode, uid, gid, mtime: entry.mtime, owner: self.name };
  if (entry.xattrs.size) node.xattrs = new Map(entry.xattrs);
  if (entry.sha1) node.sha1 = entry.sha1;
  if (type === 'file') node.content = content ?? Buffer.alloc(0);
  if (type === 'symlink' || type === 'hardlink') node.linkTarget = entry.linkTarget ?? '';
  if (type === 'hardlink') {
    const target = tree.get(entry.linkTarget ?? '');
    if (!target || target.type !== 'file') {
      throw new ImageError('IMAGE_PATH_MISSING', `${where}: hard link /${path} points at /${entry.linkTarget ?? ''}, which is not a file of this package`, {
        detail: { path: `/${path}`, package: self.name },
      });
    }
    node.linkTarget = tree.resolve(splitPath(entry.linkTarget ?? '')).join('/');
    node.sha1 = target.sha1 ?? '';
    let targets = linkTargets.get(tree);
    if (!targets) linkTargets.set(tree, (targets = new Set()));
    targets.add(node.linkTarget);
  }
  if (type === 'char' || type === 'block') {
    node.devMajor = entry.devMajor;
    node.devMinor = entry.devMinor;
  }
  const existing = tree.get(path);
  if (existing) {
    if (existing.type === 'dir') {
      throw new ImageError('IMAGE_PATH_CONFLICT', `${where}: /${path} is a directory${existing.owner ? ` of package ${existing.owner}` : ''}; package ${self.name} ships a ${type} there`, {
        detail: { path: `/${path}`, package: self.name, owner: existing.owner },
      });
    }
    const previous = existing.owner ? owners.get(existing.owner) : undefined;
    if (previous && previous.name !== self.name) {
      const identical = existing.type === type && existing.sha1 !== undefined && existing.sha1 === node.sha1 && existing.linkTarget === node.linkTarget;
      if (identical) return;
      const decision = resolveFileConflict(previous, self);
      if (decision === 'old') return;
      if (decision === 'conflict') {
        throw new ImageError(
          'IMAGE_PATH_CONFLICT',
          `/${path}: owned by both ${previous.name} (origin ${previous.origin ?? 'none'}) and ${self.name} (origin ${self.origin ?? 'none'}), and neither replaces the other`,
          { detail: { path: `/${path}`, packages: [previous.name, self.name] } },
        );
      }
    }
  } else {
    tree.mkdirAll(parentDir(path), { mode: 0o755, uid: 0, gid: 0, mtime: entry.mtime });
  }
  if (existing?.type === 'file') detachHardLinks(tree, tree.resolve(splitPath(path)).join('/'), existing);
  tree.put(path, node);
}

function parentDir(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}
