import { compareBytes } from './fs/tree.ts';

// Pure: apko's `layering: {strategy: origin, budget: N}` grouping (image-config.md §9).

/** What grouping needs to know about a package. */
export interface LayeringPackage {
  name: string;
  origin?: string;
  installedSize: number;
  replaces: string[];
}

/** Groups of package names, one layer each, in manifest order (largest first, overflow last). */
export function planLayerGroups(packages: readonly LayeringPackage[], budget: number): string[][] {
  // union-find over origins, merged when a package replaces a package of another group
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(key, root);
    return root;
  };
  const keyOf = (pkg: LayeringPackage) => `origin:${pkg.origin || pkg.name}`;
  for (const pkg of packages) if (!parent.has(keyOf(pkg))) parent.set(keyOf(pkg), keyOf(pkg));
  const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
  for (const pkg of packages) {
    for (const spec of pkg.replaces) {
      const other = byName.get(spec.split(/[<>=~]/)[0]!);
      if (other) {
        const a = find(keyOf(pkg));
        const b = find(keyOf(other));
        if (a !== b) parent.set(a, b);
      }
    }
  }
  const groups = new Map<string, LayeringPackage[]>();
  for (const pkg of packages) {
    const root = find(keyOf(pkg));
    groups.set(root, [...(groups.get(root) ?? []), pkg]);
  }
  const sized = [...groups.values()].map((members) => ({
    members,
    size: members.reduce((sum, pkg) => sum + pkg.installedSize, 0),
    tiebreak: members.map((pkg) => pkg.name).sort(compareBytes).at(-1)!,
  }));
  sized.sort((a, b) => b.size - a.size || compareBytes(a.tiebreak, b.tiebreak));
  const keep = Math.max(budget - 1, 0);
  const result = sized.slice(0, keep).map((group) => group.members);
  const overflow = sized.slice(keep).flatMap((group) => group.members);
  if (overflow.length) result.push(overflow);
  return result.map((members) => members.map((pkg) => pkg.name).sort(compareBytes));
}
