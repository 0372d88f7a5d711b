import { open, stat } from 'node:fs/promises';
import { isDigest, isKilnError, parseJsonBounded } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { looksLikeTar, openDockerArchive, openOciLayout } from '../oci/index.ts';
import type { ImageEntry, ImageReference, LayerSource } from '../oci/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { ComplianceError } from './errors.ts';

// The images of an OCI image layout directory, a docker-archive tarball (both read by src/oci's
// image reader: a layout's blobs are checked against their descriptors' digests, a docker archive's
// layers against the config's diff ids) or a registry reference (pulled with the registry client,
// which checks every blob against its digest), with their config's `rootfs.diff_ids`, which the
// checks compare every layer's uncompressed digest with as they read it (check-image.ts): a
// descriptor digest fixes only the compressed bytes, the config digest fixes the diff ids. And what
// the checks need: manifest and config digests, config User and labels,
// annotations, and every layer, streamed (the checks need each entry's mode and owner, not only file
// contents). src/oci's errors are reported as COMPLY_IMAGE_UNREADABLE with the same message.

/** One image of a source, with lazy access to its layers. */
export interface SourceImage {
  platform: string;
  /** Tag or ref name the source records (`org.opencontainers.image.ref.name`, RepoTags[0]). */
  ref?: string;
  manifestDigest?: Digest;
  configDigest: Digest;
  /** Config `User` ('' when unset). */
  user: string;
  /** Index and manifest annotations, then config labels (later wins). */
  annotations: Record<string, string>;
  /** The config's `rootfs.diff_ids` (undefined when it has none): the uncompressed layers the
   *  config digest fixes, which each layer read must match. */
  diffIds?: string[];
  /** Layers bottom to top, each with a name for messages, streamed as stored (a layout's or
   *  registry's blob checked against its digest at the end of the stream; every layer's uncompressed
   *  digest is checked against `diffIds` by the reader). */
  layers(): LayerSource[];
}

type Fail = (why: string, cause?: unknown) => never;

function failFor(source: string): Fail {
  return (why, cause) => {
    throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', `${source}: ${why}`, { ...(cause === undefined ? {} : { cause }), detail: { source } });
  };
}

function object(bytes: Buffer, where: string, fail: Fail): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonBounded(bytes.toString('utf8'), where);
  } catch (error) {
    return fail(`${where} is not JSON`, error);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return fail(`${where} is not a JSON object`);
  return value as Record<string, unknown>;
}

function strings(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

function platformOf(value: unknown): string {
  const platform = (value ?? {}) as { os?: unknown; architecture?: unknown; variant?: unknown };
  if (typeof platform.os !== 'string' || typeof platform.architecture !== 'string') return 'unknown';
  return `${platform.os}/${platform.architecture}${typeof platform.variant === 'string' && platform.variant ? `/${platform.variant}` : ''}`;
}

interface ImageConfigParts {
  user: string;
  labels: Record<string, string>;
  platform: string;
  diffIds?: string[];
}

function configParts(config: Record<string, unknown>): ImageConfigParts {
  const runtime = (config.config ?? {}) as { User?: unknown; Labels?: unknown };
  const ids = (config.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  const diffIds = Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? (ids as string[]) : undefined;
  return { user: typeof runtime.User === 'string' ? runtime.User : '', labels: strings(runtime.Labels), platform: platformOf(config), ...(diffIds ? { diffIds } : {}) };
}

function digestList(value: unknown, where: string, fail: Fail): Array<{ digest: Digest; annotations: Record<string, string>; platform: string }> {
  if (!Array.isArray(value)) return fail(`${where} has no descriptor list`);
  return value.map((item: unknown, index) => {
    const descriptor = (item ?? {}) as { digest?: unknown; annotations?: unknown; platform?: unknown };
    if (typeof descriptor.digest !== 'string' || !isDigest(descriptor.digest) || !descriptor.digest.startsWith('sha256:')) fail(`${where}[${index}] has no sha256 digest`);
    return { digest: descriptor.digest as Digest, annotations: strings(descriptor.annotations), platform: platformOf(descriptor.platform) };
  });
}

function fromEntry(entry: ImageEntry): SourceImage {
  const parts = configParts(entry.config);
  return {
    platform: entry.platform,
    ...(entry.ref ? { ref: entry.ref } : {}),
    ...(entry.manifestDigest ? { manifestDigest: entry.manifestDigest } : {}),
    configDigest: entry.configDigest,
    user: parts.user,
    annotations: { ...entry.annotations, ...parts.labels },
    ...(parts.diffIds ? { diffIds: parts.diffIds } : {}),
    layers: () => entry.layers(),
  };
}

async function unreadable<T>(source: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!isKilnError(error)) throw error;
    throw new ComplianceError('COMPLY_IMAGE_UNREADABLE', error.message, { cause: error, detail: { source } });
  }
}

/** The images of an OCI image layout (nested indexes followed; attestation manifests, whose
 *  platform is unknown/unknown, skipped). */
export async function readLayoutImages(dir: string): Promise<SourceImage[]> {
  return (await unreadable(dir, () => openOciLayout(dir))).map(fromEntry);
}

/** The images of a docker-archive tarball (`docker save`, `kiln image build` output). */
export async function readDockerArchiveImages(path: string): Promise<SourceImage[]> {
  const head = await unreadable(path, async () => {
    const handle = await open(path, 'r').catch((error: unknown) => failFor(path)('cannot be read', error));
    try {
      const buffer = Buffer.alloc(512);
      return buffer.subarray(0, (await handle.read(buffer, 0, 512, 0)).bytesRead);
    } finally {
      await handle.close();
    }
  });
  if (!looksLikeTar(head)) return failFor(path)('not a tar archive (and not an OCI layout directory)');
  return (await unreadable(path, () => openDockerArchive(path))).map(fromEntry);
}

/** The images of a registry reference (an index's platforms, or one manifest), pulled with the
 *  registry client, which checks every manifest and blob against its digest. */
export async function readRegistryImages(client: RegistryClient, reference: ImageReference, name: string): Promise<{ digest: Digest; images: SourceImage[] }> {
  const fail = failFor(name);
  const repo = { registry: reference.registry, repository: reference.repository };
  const pull = async (ref: ImageReference) => {
    try {
      return await client.getManifest(ref);
    } catch (error) {
      return fail(isKilnError(error) ? error.message : 'cannot pull the manifest', error);
    }
  };
  const blob = async (digest: Digest, maxBytes: number): Promise<Buffer> => {
    try {
      return Buffer.from(await client.getBlob(repo, digest, maxBytes));
    } catch (error) {
      return fail(`blob ${digest}: ${isKilnError(error) ? error.message : 'cannot be pulled'}`, error);
    }
  };
  // Layers stream: an image is never held whole; the client checks each blob's digest at its end.
  async function* blobChunks(digest: Digest): AsyncGenerator<Uint8Array> {
    try {
      yield* client.openBlob(repo, digest);
    } catch (error) {
      fail(`blob ${digest}: ${isKilnError(error) ? error.message : 'cannot be pulled'}`, error);
    }
  }
  const top = await pull(reference);
  const images: SourceImage[] = [];
  const add = async (digest: Digest, document: Record<string, unknown>, platform: string, annotations: Record<string, string>) => {
    const config = digestList([document.config], `manifest ${digest} config`, fail)[0]!;
    const layers = digestList(document.layers, `manifest ${digest} layers`, fail);
    const parts = configParts(object(await blob(config.digest, 16 * 1024 * 1024), `config ${config.digest}`, fail));
    const resolved = platform !== 'unknown' ? platform : parts.platform;
    if (resolved === 'unknown/unknown') return;
    images.push({
      platform: resolved,
      ...(reference.tag ? { ref: `${reference.registry}/${reference.repository}:${reference.tag}` } : {}),
      manifestDigest: digest,
      configDigest: config.digest,
      user: parts.user,
      annotations: { ...annotations, ...strings(document.annotations), ...parts.labels },
      ...(parts.diffIds ? { diffIds: parts.diffIds } : {}),
      layers: () => layers.map((layer) => ({ name: `${name} layer ${layer.digest}`, chunks: () => blobChunks(layer.digest) })),
    });
  };
  const document = top.manifest as unknown as Record<string, unknown>;
  if (Array.isArray(document.manifests)) {
    for (const descriptor of digestList(document.manifests, `index ${top.digest} manifests`, fail)) {
      const pulled = await pull({ ...repo, digest: descriptor.digest });
      await add(pulled.digest, pulled.manifest as unknown as Record<string, unknown>, descriptor.platform, { ...strings(document.annotations), ...descriptor.annotations });
    }
  } else {
    await add(top.digest, document, 'unknown', {});
  }
  return { digest: top.digest, images };
}

/** The images at a path: a directory is read as an OCI layout, a file as a docker archive. */
export async function readImageSource(path: string): Promise<SourceImage[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    return failFor(path)('no such file or directory', error);
  }
  return info.isDirectory() ? readLayoutImages(path) : readDockerArchiveImages(path);
}
