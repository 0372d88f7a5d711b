import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KilnError, pathExists } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { allBlobs, blobDescriptor } from './artifacts.ts';
import type { BuiltIndex } from './artifacts.ts';
import { goJsonBytes } from './format/json.ts';
import { imageIndexDocument } from './format/image.ts';
import { OciError } from './errors.ts';
import { sha256Hex } from '../lib/index.ts';

/** Options of {@link writeOciLayout}. */
export interface WriteLayoutOptions {
  /** Tag recorded as `org.opencontainers.image.ref.name` on the index in index.json (umoci, skopeo use it). */
  refName?: string;
  /** Replace an existing directory instead of failing with FILE_EXISTS. */
  overwrite?: boolean;
}


/** Writes an OCI image layout (oci-layout, index.json, blobs/sha256/*) atomically: everything goes
 *  into a temporary sibling directory that is renamed into place at the end. index.json holds the
 *  image index annotated with the ref name (and, for several images, one ref per arch). */
export async function writeOciLayout(dir: string, built: BuiltIndex, options: WriteLayoutOptions = {}): Promise<void> {
  if (!options.overwrite && (await pathExists(dir))) {
    throw new KilnError('FILE_EXISTS', `${dir}: already exists (remove it or pass the overwrite flag)`, { detail: { path: dir } });
  }
  await mkdir(dirname(dir), { recursive: true });
  const temp = join(dirname(dir), `.${basename(dir)}.${randomBytes(6).toString('hex')}.tmp`);
  let committed = false;
  try {
    await mkdir(join(temp, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(temp, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    for (const item of allBlobs(built)) {
      await writeFile(join(temp, 'blobs', 'sha256', item.digest.slice('sha256:'.length)), item.data);
    }
    const annotations: Record<string, string> = options.refName ? { 'org.opencontainers.image.ref.name': options.refName } : {};
    // With several images, each also gets `<ref>-<arch><variant>` so tools that cannot choose a
    // platform from a nested index (umoci) can address one image.
    const perArch =
      options.refName && built.images.length > 1
        ? built.images.map((image) =>
            blobDescriptor(image.manifest, {
              platform: image.platform,
              annotations: { 'org.opencontainers.image.ref.name': `${options.refName!}-${image.platform.architecture}${image.platform.variant ?? ''}` },
            }),
          )
        : [];
    await writeFile(join(temp, 'index.json'), goJsonBytes(imageIndexDocument([blobDescriptor(built.index, { annotations }), ...perArch])));
    if (options.overwrite && (await pathExists(dir))) await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
    committed = true;
  } finally {
    if (!committed) await rm(temp, { recursive: true, force: true });
  }
}

/** Reads a blob from a layout and verifies its digest. */
export async function readLayoutBlob(dir: string, digest: Digest): Promise<Buffer> {
  const hex = digest.slice('sha256:'.length);
  const data = await readFile(join(dir, 'blobs', 'sha256', hex));
  if (sha256Hex(data) !== hex) {
    throw new OciError('OCI_LAYOUT_INVALID', `${dir}: blob ${digest} does not match its digest`, { detail: { dir, digest } });
  }
  return data;
}
