// Which catalog images of Kiln OS need building: pure. An image is up to date when the hash of its
// inputs (its configuration, the repository index it resolves against, the trusted key, the arch)
// equals the hash recorded beside its last output.

/** One catalog image as found on disk. */
export interface CatalogImageInput {
  name: string;
  /** The configuration text (and any files it includes), in a stable order. */
  configTexts: readonly string[];
  /** Hash recorded by the last successful build, if any. */
  previousHash?: string;
}

/** One line of the plan. */
export interface CatalogPlanEntry {
  name: string;
  inputHash: string;
  upToDate: boolean;
}

/** Plans the catalog; `hash` is a hex digest function (sha256 in practice). */
export function planCatalog(images: readonly CatalogImageInput[], shared: { indexSha256: string; keySha256: string; arch: string }, hash: (text: string) => string): CatalogPlanEntry[] {
  return [...images]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((image) => {
      const inputHash = hash(JSON.stringify({ configs: image.configTexts, index: shared.indexSha256, key: shared.keySha256, arch: shared.arch }));
      return { name: image.name, inputHash, upToDate: image.previousHash === inputHash };
    });
}

/** Image name from a configuration file name (`nginx-dev.yaml` → `nginx-dev`). */
export function catalogImageName(fileName: string): string | undefined {
  const match = /^([a-z0-9][a-z0-9._-]*)\.ya?ml$/.exec(fileName);
  return match ? match[1] : undefined;
}
