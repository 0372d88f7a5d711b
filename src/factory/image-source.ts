import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImageError } from '../image/index.ts';
import { parseJsonBounded, sha256Hex, verifyChunks } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { LAYOUT_MANIFEST_LIMIT, allBlobs, looksLikeTar, openTarFile, parseImageReference, readLayoutBlob, streamLayoutBlob, withDigest } from '../oci/index.ts';
import type { BuiltIndex, ImageReference, TarFile, TarFileMember } from '../oci/index.ts';
import type { ImageBlobSource, SourceRoot } from './image-snapshot.ts';

// Adapters of the image-diff source port: an OCI image layout, a docker-archive tarball, a registry
// reference, an index built in memory. Everything read is checked against its digest.

/** The registry capability a registry source needs (the registry-client's RegistryClient has it). */
export interface ImageRegistryPort {
  getManifest(ref: ImageReference): Promise<{ bytes: Uint8Array; digest: Digest }>;
  getBlob(repo: { registry: string; repository: string }, digest: Digest, maxBytes?: number): Promise<Uint8Array>;
  /** A blob in chunks; the iteration throws at its end when the bytes do not match the digest. */
  openBlob(repo: { registry: string; repository: string }, digest: Digest): AsyncIterable<Uint8Array>;
}

/** Largest config or manifest read whole from a source. */
const DOCUMENT_LIMIT = 16 * 1024 * 1024;

/** The bytes of an in-memory blob as a stream of one chunk. */
async function* oneChunk(bytes: Promise<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield await bytes;
}

function invalid(source: string, why: string, cause?: unknown): ImageError {
  return new ImageError('IMAGE_SOURCE_INVALID', `${source}: ${why}`, { ...(cause ? { cause } : {}), detail: { source } });
}

/** An OCI image layout directory; `tag` picks the index.json entries with that ref name. */
export function ociLayoutSource(dir: string, name: string, tag?: string): ImageBlobSource {
  const read = async (digest: string, size?: number, maxBytes?: number): Promise<Uint8Array> => {
    try {
      return await readLayoutBlob(dir, size === undefined ? (digest as Digest) : { digest: digest as Digest, size }, maxBytes === undefined ? {} : { maxBytes });
    } catch (error) {
      throw invalid(name, `blob ${digest} is missing, too large or does not match its digest or size`, error);
    }
  };
  return {
    name,
    roots: async () => {
      let index: unknown;
      try {
        index = parseJsonBounded(await readFile(join(dir, 'index.json'), 'utf8'), `${name}/index.json`);
      } catch (error) {
        throw invalid(name, 'no readable index.json (not an OCI image layout)', error);
      }
      const manifests = (index as { manifests?: unknown } | null)?.manifests;
      if (!Array.isArray(manifests)) throw invalid(name, 'index.json has no manifests list');
      const roots = (manifests as Array<{ digest?: unknown; platform?: SourceRoot['platform']; annotations?: Record<string, string> }>).map((entry, position) => {
        if (typeof entry?.digest !== 'string') throw invalid(name, `index.json manifests[${position}] has no digest`);
        const ref = entry.annotations?.['org.opencontainers.image.ref.name'];
        return { digest: entry.digest, ...(entry.platform ? { platform: entry.platform } : {}), ...(ref ? { ref } : {}) };
      });
      if (tag === undefined) return roots;
      const tagged = roots.filter((root) => root.ref === tag || root.ref?.endsWith(`:${tag}`));
      if (tagged.length === 0) throw invalid(name, `has no image tagged ${tag} (it has ${roots.map((root) => root.ref ?? root.digest).join(', ')})`);
      return tagged;
    },
    manifest: (digest) => read(digest, undefined, LAYOUT_MANIFEST_LIMIT),
    blob: (digest, size) => read(digest, size),
    layer: (digest, size) => layoutLayer(dir, name, digest, size),
  };
}

async function* layoutLayer(dir: string, name: string, digest: string, size: number | undefined): AsyncGenerator<Uint8Array> {
  try {
    yield* streamLayoutBlob(dir, size === undefined ? (digest as Digest) : { digest: digest as Digest, size });
  } catch (error) {
    throw invalid(name, `blob ${digest} is missing, too large or does not match its digest or size`, error);
  }
}

/** A docker-archive tarball (`docker save`, `kiln image build`): manifest.json names each image's
 *  config and layers; the adapter makes up a manifest per image. The archive is indexed in place and
 *  each layer hashed as it streams by (to name it in the made-up manifest), never held whole. */
export async function dockerArchiveSource(path: string, name: string): Promise<ImageBlobSource> {
  let archive: TarFile;
  try {
    archive = await openTarFile(path, 'docker archive');
  } catch (error) {
    throw invalid(name, `not a readable docker archive: ${(error as Error).message}`, error);
  }
  // what each digest names: a document made up here, or an archive member
  const documents = new Map<string, Uint8Array>();
  const members = new Map<string, TarFileMember>();
  const member = (file: string, position: number) => archive.find(file) ?? (() => { throw invalid(name, `manifest.json[${position}] names ${file}, which the archive lacks`); })();
  const manifestMember = archive.find('manifest.json');
  if (!manifestMember) throw invalid(name, 'no manifest.json (not a docker archive)');
  let manifest: unknown;
  try {
    manifest = parseJsonBounded((await archive.read(manifestMember, DOCUMENT_LIMIT)).toString('utf8'), `${name}: manifest.json`);
  } catch (error) {
    throw invalid(name, 'manifest.json is not JSON', error);
  }
  if (!Array.isArray(manifest)) throw invalid(name, 'manifest.json is not a list');
  const memberDigest = async (file: TarFileMember): Promise<string> => {
    const hash = createHash('sha256');
    for await (const chunk of archive.stream(file)) hash.update(chunk);
    const digest = `sha256:${hash.digest('hex')}`;
    members.set(digest, file);
    return digest;
  };
  const roots: SourceRoot[] = [];
  for (const [position, entry] of (manifest as unknown[]).entries()) {
    const item = entry as { Config?: unknown; Layers?: unknown; RepoTags?: unknown } | null;
    if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every((layer) => typeof layer === 'string')) throw invalid(name, `manifest.json[${position}] needs Config and Layers`);
    const layers = [];
    for (const layer of item.Layers as string[]) layers.push({ digest: await memberDigest(member(layer, position)) });
    const synthetic = { config: { digest: await memberDigest(member(item.Config, position)) }, layers };
    const bytes = Buffer.from(JSON.stringify(synthetic));
    const digest = `sha256:${sha256Hex(bytes)}`;
    documents.set(digest, bytes);
    const tags = Array.isArray(item.RepoTags) ? (item.RepoTags as unknown[]).filter((tag): tag is string => typeof tag === 'string') : [];
    roots.push({ digest, synthetic: true, ...(tags[0] ? { ref: tags[0] } : {}) });
  }
  const found = (digest: string) => members.get(digest) ?? (() => { throw invalid(name, `no blob ${digest}`); })();
  const read = async (digest: string): Promise<Uint8Array> => {
    const document = documents.get(digest);
    if (document) return document;
    const bytes = await archive.read(found(digest), DOCUMENT_LIMIT);
    if (`sha256:${sha256Hex(bytes)}` !== digest) throw invalid(name, `blob ${digest} changed since the archive was opened`);
    return bytes;
  };
  const layer = (digest: string) => verifyChunks(archive.stream(found(digest)), digest as Digest, () => invalid(name, `blob ${digest} changed since the archive was opened`));
  return { name, roots: async () => roots, manifest: read, blob: read, layer };
}

/** An image in a registry; manifests and blobs are verified against their digests by the client. */
export function registrySource(client: ImageRegistryPort, reference: ImageReference, name: string): ImageBlobSource {
  const repo = { registry: reference.registry, repository: reference.repository };
  return {
    name,
    roots: async () => [{ digest: (await client.getManifest(reference)).digest }],
    manifest: async (digest) => (await client.getManifest(withDigest(reference, digest as Digest))).bytes,
    blob: (digest) => client.getBlob(repo, digest as Digest, DOCUMENT_LIMIT),
    layer: (digest) => client.openBlob(repo, digest as Digest),
  };
}

/** An index built in memory (`kiln image reproduce`'s rebuild). */
export function builtIndexSource(built: BuiltIndex, name: string): ImageBlobSource {
  const blobs = new Map(allBlobs(built).map((blob) => [blob.digest as string, blob.data]));
  const read = async (digest: string) => blobs.get(digest) ?? (() => { throw invalid(name, `no blob ${digest}`); })();
  return { name, roots: async () => [{ digest: built.index.digest }], manifest: read, blob: read, layer: (digest) => oneChunk(read(digest)) };
}

/** How an image argument is named: `oci:DIR[:TAG]` (or `oci-layout:`), `docker-archive:FILE`, a
 *  directory holding index.json, a tar file, else a registry reference — unless it is written as a
 *  path (`./x`, `/x`, `x.tar`), which is then missing. */
export async function openImageSource(argument: string, options: { cwd: string; registry: () => ImageRegistryPort }): Promise<ImageBlobSource> {
  const layout = /^(?:oci|oci-layout):(.+)$/.exec(argument);
  if (layout) {
    const [, rest] = layout as unknown as [string, string];
    // `oci:DIR:TAG`: a tag is what follows the last colon, when that is not part of the path.
    const colon = rest.lastIndexOf(':');
    const tag = colon > 0 && !rest.slice(colon + 1).includes('/') ? rest.slice(colon + 1) : undefined;
    const dir = tag === undefined ? rest : rest.slice(0, colon);
    return ociLayoutSource(resolve(options.cwd, dir), argument, tag);
  }
  const archive = /^docker-archive:(.+)$/.exec(argument);
  if (archive) return dockerArchiveSource(resolve(options.cwd, archive[1]!), argument);
  const path = resolve(options.cwd, argument);
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) return ociLayoutSource(path, argument);
  if (info?.isFile()) {
    const head = Buffer.alloc(512);
    const handle = await open(path, 'r');
    try {
      await handle.read(head, 0, 512, 0);
    } finally {
      await handle.close();
    }
    if (!looksLikeTar(head)) throw invalid(argument, 'is a file but not a tar archive (docker archive expected)');
    return dockerArchiveSource(path, argument);
  }
  // What is written as a path is never sent to a registry (a typo would otherwise go to Docker Hub).
  if (/^(\.{1,2}\/|\/)|\.(tar|tar\.gz|tgz)$/.test(argument) || argument === '.' || argument === '..') throw invalid(argument, 'no such file or directory');
  let reference: ImageReference;
  try {
    reference = parseImageReference(argument);
  } catch (error) {
    throw new ImageError('IMAGE_SOURCE_INVALID', `${argument}: not a directory, file or image reference (${(error as Error).message})`, { cause: error, detail: { source: argument } });
  }
  return registrySource(options.registry(), reference, argument);
}
