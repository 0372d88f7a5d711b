import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readTarEntries } from '../apk/index.ts';
import { isDigest, isKilnError, parseJsonBounded, readInputFile, sha256Hex } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { readLayoutBlob } from '../oci/index.ts';
import type { ImageReference } from '../oci/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { ComplianceError } from './errors.ts';

// Reads the images of an OCI image layout directory or a docker-archive tarball with what the
// checks need and src/oci's scanner reader (openOciLayout/openDockerArchive) does not give: the
// manifest and config digests, config User and labels, annotations, and every layer blob (the
// checks need each entry's mode and owner, not only file contents). Blobs are read with
// src/oci's readLayoutBlob (digest-checked) and archives with the apk format's tar reader, so this
// module holds no tar or gzip code of its own. When ImageEntry in src/oci grows a way to reach the
// layer blobs and config, this walker should give way to it. Registry references are pulled with
// the registry client.

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
  /** Layer blobs bottom to top, each with a name for messages. */
  layers(): Promise<Array<{ name: string; bytes: Buffer }>>;
}

const MAX_ARCHIVE = 8 * 1024 ** 3;

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
}

function configParts(config: Record<string, unknown>): ImageConfigParts {
  const runtime = (config.config ?? {}) as { User?: unknown; Labels?: unknown };
  return { user: typeof runtime.User === 'string' ? runtime.User : '', labels: strings(runtime.Labels), platform: platformOf(config) };
}

function digestList(value: unknown, where: string, fail: Fail): Array<{ digest: Digest; annotations: Record<string, string>; platform: string }> {
  if (!Array.isArray(value)) return fail(`${where} has no descriptor list`);
  return value.map((item: unknown, index) => {
    const descriptor = (item ?? {}) as { digest?: unknown; annotations?: unknown; platform?: unknown };
    if (typeof descriptor.digest !== 'string' || !isDigest(descriptor.digest) || !descriptor.digest.startsWith('sha256:')) fail(`${where}[${index}] has no sha256 digest`);
    return { digest: descriptor.digest as Digest, annotations: strings(descriptor.annotations), platform: platformOf(descriptor.platform) };
  });
}

/** The images of an OCI image layout (nested indexes followed; attestation manifests, whose
 *  platform is unknown/unknown, skipped). */
export async function readLayoutImages(dir: string): Promise<SourceImage[]> {
  const fail = failFor(dir);
  let indexBytes: Buffer;
  try {
    indexBytes = await readFile(join(dir, 'index.json'));
  } catch (error) {
    return fail('no index.json: not an OCI image layout', error);
  }
  const blob = async (digest: Digest): Promise<Buffer> => {
    try {
      return await readLayoutBlob(dir, digest);
    } catch (error) {
      return fail(isKilnError(error) ? error.message.replace(`${dir}: `, '') : `blob ${digest} is missing`, error);
    }
  };
  const images: SourceImage[] = [];
  const seen = new Set<string>();
  const visit = async (list: ReturnType<typeof digestList>, inherited: { ref?: string; annotations: Record<string, string> }, depth: number): Promise<void> => {
    if (depth > 4) fail('indexes nest more than 4 deep');
    for (const descriptor of list) {
      const ref = descriptor.annotations['org.opencontainers.image.ref.name'] ?? inherited.ref;
      const annotations = { ...inherited.annotations, ...descriptor.annotations };
      const document = object(await blob(descriptor.digest), `blob ${descriptor.digest}`, fail);
      if (Array.isArray(document.manifests)) {
        await visit(digestList(document.manifests, `index ${descriptor.digest} manifests`, fail), { ...(ref ? { ref } : {}), annotations: { ...annotations, ...strings(document.annotations) } }, depth + 1);
        continue;
      }
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      const config = digestList([document.config], `manifest ${descriptor.digest} config`, fail)[0]!;
      const layers = digestList(document.layers, `manifest ${descriptor.digest} layers`, fail);
      const parts = configParts(object(await blob(config.digest), `config ${config.digest}`, fail));
      const platform = descriptor.platform !== 'unknown' ? descriptor.platform : parts.platform;
      if (platform === 'unknown/unknown') continue;
      const { 'org.opencontainers.image.ref.name': _name, ...rest } = annotations;
      images.push({
        platform,
        ...(ref ? { ref } : {}),
        manifestDigest: descriptor.digest,
        configDigest: config.digest,
        user: parts.user,
        annotations: { ...rest, ...strings(document.annotations), ...parts.labels },
        layers: async () => {
          const out = [];
          for (const layer of layers) out.push({ name: `${dir} layer ${layer.digest}`, bytes: await blob(layer.digest) });
          return out;
        },
      });
    }
  };
  const index = object(indexBytes, 'index.json', fail);
  await visit(digestList(index.manifests, 'index.json manifests', fail), { annotations: strings(index.annotations) }, 0);
  return images;
}

/** The images of a docker-archive tarball (`docker save`, `kiln image build` output). */
export async function readDockerArchiveImages(path: string): Promise<SourceImage[]> {
  const fail = failFor(path);
  const bytes = await readInputFile(path, { what: 'docker archive', maxBytes: MAX_ARCHIVE });
  const members = new Map<string, Buffer>();
  try {
    for (const { header, content } of readTarEntries(bytes, path)) if (header.type === 'file') members.set(header.name.replace(/^\.\//, ''), content);
  } catch (error) {
    return fail('not a tar archive (and not an OCI layout directory)', error);
  }
  const manifestBytes = members.get('manifest.json') ?? fail('no manifest.json: not a docker archive');
  let manifest: unknown;
  try {
    manifest = parseJsonBounded(manifestBytes.toString('utf8'), `${path}: manifest.json`);
  } catch (error) {
    return fail('manifest.json is not JSON', error);
  }
  if (!Array.isArray(manifest)) return fail('manifest.json is not a list');
  return manifest.map((entry: unknown, index) => {
    const item = (entry ?? {}) as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every((layer) => typeof layer === 'string')) fail(`manifest.json[${index}] needs Config and Layers`);
    const member = (name: string) => members.get(name) ?? fail(`manifest.json[${index}] names ${name}, which the archive lacks`);
    const configBytes = member(item.Config as string);
    const hex = /([0-9a-f]{64})(\.json)?$/.exec(item.Config as string)?.[1];
    if (hex && sha256Hex(configBytes) !== hex) fail(`${item.Config as string} does not match its digest`);
    const parts = configParts(object(configBytes, item.Config as string, fail));
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((tag): tag is string => typeof tag === 'string') : [];
    return {
      platform: parts.platform,
      ...(tags[0] ? { ref: tags[0] } : {}),
      configDigest: `sha256:${sha256Hex(configBytes)}` as Digest,
      user: parts.user,
      annotations: parts.labels,
      layers: async () => (item.Layers as string[]).map((layer) => ({ name: `${path} layer ${layer}`, bytes: member(layer) })),
    };
  });
}

const MAX_REGISTRY_LAYER = 4 * 1024 ** 3;

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
      layers: async () => {
        const out = [];
        for (const layer of layers) out.push({ name: `${name} layer ${layer.digest}`, bytes: await blob(layer.digest, MAX_REGISTRY_LAYER) });
        return out;
      },
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
