// Pure: the factory's state between runs (what was built and published last), as stored in
// STATE/state.json.
import type { HistoryPackage } from './history.ts';

/** The last publication of one catalog image. */
export interface ImageState {
  configSha256: string;
  /** Installed packages' `name=version identity` from the last build, sorted: the lock the image was built from. */
  lock: string[];
  /** Origins (source packages) of its installed packages. */
  origins: string[];
  packages: HistoryPackage[];
  /** Digest last published; absent when its last publish failed or it is built only. */
  digest?: string;
  /** Digest last built (published or not). */
  builtDigest: string;
  /** Open vulnerability ids at the last scan. */
  cves: string[];
  /** The vulnerability knowledge of the last scan (see ImageScannerPort.knowledge). */
  scannedWith?: string;
  /** What the last scan's OpenVEX said of each vulnerability (status, with the justification when not affected). */
  statuses?: Record<string, string>;
  tags: string[];
  repository?: string;
}

/** Everything the factory remembers between runs. */
export interface FactoryState {
  version: 1;
  /** Repository index hash after the last run. */
  indexSha256?: string;
  packages: Record<string, { textSha256: string; fullVersion: string }>;
  images: Record<string, ImageState>;
}

/** The state of a factory that has never run. */
export function emptyFactoryState(): FactoryState {
  return { version: 1, packages: {}, images: {} };
}
