/** Metadata of one package to write (becomes `.PKGINFO`). */
export interface PackageMetadata {
  name: string;
  /** `<version>-r<epoch>`. */
  version: string;
  arch: string;
  description: string;
  url: string;
  licenses: string[];
  origin: string;
  commit: string;
  maintainer?: string;
  /** SOURCE_DATE_EPOCH; omitted from `.PKGINFO` when 0. */
  buildDate: number;
  depends: string[];
  provides: string[];
  replaces: string[];
  providerPriority?: number;
  replacesPriority?: number;
  triggers: string[];
}

/** A package file written by the publisher. */
export interface WrittenPackage {
  file: string;
  /** Q1 identity (SHA-1 of the control member). */
  identity: string;
  size: number;
  /** SHA-256 hex of the whole file. */
  sha256: string;
  pkginfo: string;
}

/** Port: turns a directory plus metadata into a signed package, and maintains a signed index. */
export interface PackagePublisher {
  /** Writes `outFile` atomically (nothing visible on failure). */
  writePackage(outFile: string, dir: string, meta: PackageMetadata, scripts: Readonly<Record<string, string>>, sourceDateEpoch: number): Promise<WrittenPackage>;
  /** Fails, before anything is built, when a later `updateIndex(indexFile, …)` would be refused:
   *  the existing index is signed and this publisher has no signing key (INDEX_SIGNATURE_DOWNGRADE).
   *  A missing index passes. */
  checkIndex(indexFile: string): Promise<void>;
  /** Adds the packages to the index at `indexFile` (replacing same name+version, keeping the rest
   *  in order), signs it when a key is configured, and replaces the file atomically. A signed index
   *  is never replaced by an unsigned one (INDEX_SIGNATURE_DOWNGRADE, the file left as it was). */
  updateIndex(indexFile: string, packageFiles: readonly string[]): Promise<void>;
}
