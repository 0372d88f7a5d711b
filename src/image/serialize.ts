import { LayerBuilder } from '../oci/index.ts';
import type { TarHeader } from '../oci/index.ts';
import type { FsNode, FsTree } from './fs/tree.ts';

// Walks the finished tree once (sorted depth-first pre-order) and writes every entry into its
// layer: package-installed non-directories into their package group's layer (after any ancestor
// directories that layer has not written yet, with the entry's mtime, as apko does), everything
// else into the top layer. Hard-link groups are written as a regular file at the first path in
// walk order and links to it after, so a reader always meets the target first.

/** Options of {@link serializeTree}. */
interface SerializeOptions {
  /** Package names per group layer (layering); absent = one layer. */
  groups?: readonly (readonly string[])[];
  /** uid → user name and gid → group name for tar uname/gname (from the final /etc/passwd, /etc/group). */
  users: ReadonlyMap<number, string>;
  groupNames: ReadonlyMap<number, string>;
  /** Path of the installed database (no leading slash) and a renderer for one group's records. */
  installedDb?: { path: string; render: (packages: readonly string[]) => Uint8Array; alias?: string };
}

/** Per-layer entry counts and the builders, in manifest order (groups…, top). */
interface SerializedLayers {
  builders: LayerBuilder[];
}

const TAR_TYPE: Record<FsNode['type'], TarHeader['type']> = {
  dir: 'dir',
  file: 'file',
  symlink: 'symlink',
  hardlink: 'hardlink',
  char: 'char',
  block: 'block',
  fifo: 'fifo',
};

function header(path: string, node: FsNode, options: SerializeOptions, override: Partial<TarHeader> = {}): TarHeader {
  // Xattr values are bytes (a file capability is a binary structure): written as they are.
  const pax: Record<string, string | Uint8Array> = {};
  if (node.xattrs) for (const [name, value] of node.xattrs) pax[`SCHILY.xattr.${name}`] = value;
  const uname = options.users.get(node.uid);
  const gname = options.groupNames.get(node.gid);
  return {
    name: path,
    type: TAR_TYPE[node.type],
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    ...(uname ? { uname } : {}),
    ...(gname ? { gname } : {}),
    mtime: node.mtime,
    ...(node.type === 'symlink' ? { linkname: node.linkTarget ?? '' } : {}),
    ...(node.type === 'char' || node.type === 'block' ? { devmajor: node.devMajor ?? 0, devminor: node.devMinor ?? 0 } : {}),
    ...(Object.keys(pax).length ? { pax } : {}),
    ...override,
  };
}

/** Writes the tree into layer builders (not yet compressed). */
export function serializeTree(tree: FsTree, options: SerializeOptions): SerializedLayers {
  const groups = options.groups ?? [];
  const layerOf = new Map<string, number>();
  groups.forEach((names, index) => names.forEach((name) => layerOf.set(name, index)));
  const builders = [...groups.map(() => new LayerBuilder()), new LayerBuilder()];
  const top = builders.length - 1;
  const emittedDirs = groups.map(() => new Set<string>());

  const entries = [...tree.walk()];
  // hard-link groups: target path → first path in walk order
  const order = new Map(entries.map(({ path }, index) => [path, index]));
  const primary = new Map<string, string>();
  for (const { path, node } of entries) {
    if (node.type !== 'hardlink' || !node.linkTarget) continue;
    const target = node.linkTarget;
    const current = primary.get(target) ?? target;
    if ((order.get(path) ?? Infinity) < (order.get(current) ?? Infinity)) primary.set(target, path);
    else primary.set(target, current);
  }
  const targetOfPrimary = new Map([...primary].map(([target, first]) => [first, target]));

  const ensureDirs = (layer: number, path: string, mtime: number) => {
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = parts.slice(0, depth).join('/');
      if (emittedDirs[layer]!.has(dir)) continue;
      emittedDirs[layer]!.add(dir);
      const node = tree.getExact(parts.slice(0, depth));
      if (node) builders[layer]!.add(header(dir, node, options, { mtime }));
    }
  };

  for (const { path, node } of entries) {
    const layer = node.type !== 'dir' && node.owner !== undefined && layerOf.has(node.owner) ? layerOf.get(node.owner)! : top;
    if (layer !== top) ensureDirs(layer, path, node.mtime);
    const builder = builders[layer]!;
    if (node.type === 'file') {
      const first = primary.get(path);
      if (first && first !== path) builder.add(header(path, node, options, { type: 'hardlink', linkname: first }));
      else builder.add(header(path, node, options), node.content);
    } else if (node.type === 'hardlink') {
      const target = tree.getExact((node.linkTarget ?? '').split('/'));
      const first = primary.get(node.linkTarget ?? '');
      if (target && targetOfPrimary.get(path) !== undefined) builder.add(header(path, target, options, { name: path }), target.content);
      else builder.add(header(path, node, options, { linkname: first ?? node.linkTarget ?? '', mode: target?.mode ?? node.mode }));
    } else {
      builder.add(header(path, node, options));
    }
    if (options.installedDb && path === options.installedDb.path) {
      // When /lib links to usr/lib the database lives in usr/lib/apk/db; scanners that look for the
      // exact layer path lib/apk/db/installed (Trivy) get a second entry under that name, which an
      // extractor writes through the symlink onto the same file with the same bytes.
      if (options.installedDb.alias) builders[top]!.add(header(options.installedDb.alias, node, options), node.content);
      groups.forEach((names, index) => {
        ensureDirs(index, path, node.mtime);
        builders[index]!.add(header(path, node, options), options.installedDb!.render(names));
      });
    }
  }
  return { builders };
}
