import { createHash } from 'node:crypto';
import type { TarEntryType } from '../../apk/index.ts';
import { sha256Hex } from '../../lib/index.ts';
import { walkLayerStream } from '../../oci/index.ts';
import { ComplianceError } from '../errors.ts';
import { SecretScanner } from './secrets.ts';

// Pure: the merged filesystem of an image as a container sees it, with every entry's type, mode and
// owner (the checks need setuid bits, world-writable directories and file contents, which the
// scanner's reader in src/oci does not keep). Layers are streamed through src/oci's layer walker
// (the apk format's tar reader, the one tar reader of the project) and applied the way containerd
// unpacks them:
// names cleaned lexically (`usr//bin/../bin/sh` is `usr/bin/sh`; `..` at the root stays at the
// root), each entry placed in its parent directory after the symbolic links already unpacked are
// followed, OCI whiteouts applied bottom to top.

/** One path of an image's filesystem after all layers are applied. */
export interface ImageFile {
  /** Relative path, no leading `./` or `/`, clean (no `.`, `..` or empty components). */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
  /** Lower-case hex SHA-256 of a regular file's content. */
  sha256?: string;
  /** Content of regular files no larger than the reader's `keepContentUpTo`. */
  content?: Buffer;
  /** For a regular file whose content was not kept: the secrets found in it as it was read
   *  (empty when none), so no file goes unscanned for being large. */
  secretsFound?: string[];
}

/** One layer as read: its entries and what it deletes. */
export interface LayerEntries {
  /** `sha256:` digest of the uncompressed tar: what the image config's `rootfs.diff_ids` records. */
  diffId: string;
  files: ImageFile[];
  /** Paths removed by `.wh.<name>` entries. */
  whiteouts: string[];
  /** Directories emptied by `.wh..wh..opq`. */
  opaque: string[];
}

/** Limits of {@link readLayerEntries}. */
export interface LayerReadOptions {
  /** Keep content of regular files up to this many bytes (default 1 MiB); larger files are hashed
   *  and scanned for secrets as they stream by, never held. */
  keepContentUpTo?: number;
}

/** Symbolic links followed for one path before it counts as a loop (Linux's MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

/**
 * A tar entry's name as the path a runtime unpacks it to: Go's `filepath.Clean` (empty and `.`
 * components dropped, `..` resolved lexically) joined to the root, as containerd's unpacker does —
 * so a `..` that would leave the root stays at the root (`../etc/passwd` is `etc/passwd`) rather
 * than being refused. '' is the root itself.
 */
export function cleanEntryPath(name: string): string {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

const AUFS_METADATA = '.wh..wh.';

/** Reads a layer (gzip or plain tar) as it streams from `chunks`: memory holds the entries' metadata
 *  and the small files' contents, not the layer. Errors are src/oci's layer reader's
 *  (OCI_ARCHIVE_INVALID) and the source's, and COMPLY_IMAGE_UNREADABLE for a whiteout that names no
 *  file. The diff id is known, and anything read may be trusted, only once this returns. */
export async function readLayerEntries(chunks: AsyncIterable<Uint8Array>, where: string, options: LayerReadOptions = {}): Promise<LayerEntries> {
  const keep = options.keepContentUpTo ?? 1024 * 1024;
  const result: LayerEntries = { diffId: '', files: [], whiteouts: [], opaque: [] };
  const walked = await walkLayerStream(chunks, where, async (header, body) => {
    const path = cleanEntryPath(header.name);
    // containerd ignores an entry that resolves to the root
    if (path === '') return;
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    const dir = slash < 0 ? '' : path.slice(0, slash);
    if (base === '.wh..wh..opq') {
      result.opaque.push(dir);
      return;
    }
    // AUFS hard-link metadata at the root (/.wh..wh.plnk …) is not part of the filesystem
    if (path.startsWith(AUFS_METADATA)) return;
    if (base.startsWith('.wh.')) {
      const gone = base.slice(4);
      if (gone === '' || gone === '.' || gone === '..') {
        throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${where}: invalid whiteout ${JSON.stringify(header.name)} (it names no file)`, { detail: { layer: where, entry: header.name } });
      }
      result.whiteouts.push(dir ? `${dir}/${gone}` : gone);
      return;
    }
    const file: ImageFile = { path, type: header.type, mode: header.mode, uid: header.uid, gid: header.gid, size: header.size };
    if (header.type === 'symlink' || header.type === 'hardlink') file.linkTarget = header.linkName;
    if (header.type === 'file') {
      if (header.size <= keep) {
        // a copy: the content may be a view of a larger decompressed chunk
        const content = Buffer.from(await body.content());
        file.sha256 = sha256Hex(content);
        file.content = content;
      } else {
        const hash = createHash('sha256');
        const scanner = new SecretScanner();
        for await (const chunk of body.chunks()) {
          hash.update(chunk);
          scanner.push(chunk);
        }
        file.sha256 = hash.digest('hex');
        file.secretsFound = scanner.finish();
      }
    }
    result.files.push(file);
  });
  result.diffId = walked.diffId;
  return result;
}

/**
 * The clean path a path names once symbolic links in it are followed, as the kernel resolves it
 * inside a chroot: component by component, `..` taking the resolved parent, absolute link targets
 * starting again at the image's root — so it never leaves the image. A missing component is taken
 * for an implicit directory. Undefined when the links loop (more than 40 hops).
 */
export function resolveImagePathName(files: ReadonlyMap<string, ImageFile>, path: string): string | undefined {
  const resolved: string[] = [];
  const remaining = path.split('/').reverse();
  let hops = 0;
  while (remaining.length) {
    const part = remaining.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const entry = files.get([...resolved, part].join('/'));
    if (entry?.type === 'symlink' && entry.linkTarget !== undefined) {
      if (++hops > MAX_LINK_HOPS) return undefined;
      if (entry.linkTarget.startsWith('/')) resolved.length = 0;
      remaining.push(...entry.linkTarget.split('/').reverse());
      continue;
    }
    resolved.push(part);
  }
  return resolved.join('/');
}

/** Follows symbolic links (in any path component) to the entry a path names; undefined when it
 *  dangles or loops. Never outside the image: `..` and absolute targets stop at its root. */
export function resolveImagePath(files: ReadonlyMap<string, ImageFile>, path: string): ImageFile | undefined {
  const name = resolveImagePathName(files, path);
  return name === undefined ? undefined : files.get(name);
}

/** Where an entry lands when unpacked: its parent directory with the links unpacked so far
 *  followed (containerd resolves the parent, never the entry's own name). A parent whose links
 *  loop is kept as written. */
function landingPath(files: ReadonlyMap<string, ImageFile>, path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash < 0) return path;
  const parent = resolveImagePathName(files, path.slice(0, slash)) ?? path.slice(0, slash);
  return parent ? `${parent}/${path.slice(slash + 1)}` : path.slice(slash + 1);
}

/** Applies layers bottom to top as a runtime unpacks them: later entries replace earlier ones (a
 *  non-directory replacing a directory removes what was under it), entries land where the links
 *  in their parent directories lead, whiteouts and opaque directories remove what lower layers put
 *  there. Hard links take the target's content. */
export function mergeLayers(layers: readonly LayerEntries[]): Map<string, ImageFile> {
  const files = new Map<string, ImageFile>();
  // Directories that have (or had) entries under them, explicit or implicit: only replacing one of
  // these needs a scan for what was under it.
  const parents = new Set<string>();
  const removeTree = (root: string, keepRoot: boolean) => {
    if (root === '') {
      files.clear();
      return;
    }
    if (!keepRoot) files.delete(root);
    if (!parents.has(root)) return;
    for (const path of [...files.keys()]) if (path.startsWith(`${root}/`)) files.delete(path);
  };
  const place = (file: ImageFile) => {
    for (let slash = file.path.indexOf('/'); slash >= 0; slash = file.path.indexOf('/', slash + 1)) parents.add(file.path.slice(0, slash));
    if (file.type !== 'directory') removeTree(file.path, true);
    files.set(file.path, file);
  };
  for (const layer of layers) {
    for (const dir of layer.opaque) removeTree(dir === '' ? '' : (resolveImagePathName(files, dir) ?? dir), true);
    for (const gone of layer.whiteouts) removeTree(landingPath(files, gone), false);
    for (const entry of layer.files) {
      const path = landingPath(files, entry.path);
      const file = path === entry.path ? entry : { ...entry, path };
      if (file.type === 'hardlink' && file.linkTarget !== undefined) {
        const target = files.get(landingPath(files, cleanEntryPath(file.linkTarget)));
        if (target) {
          const { linkTarget: _link, ...rest } = target;
          place({ ...rest, path, mode: file.mode, uid: file.uid, gid: file.gid });
          continue;
        }
      }
      place(file);
    }
  }
  return files;
}
