import { isKilnError, parseJsonBounded } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import { applyLayers, formatReference, readLayerStream } from '../oci/index.ts';
import type { ImageIndex, ImageManifest, ImageReference } from '../oci/index.ts';
import { VulnError } from './errors.ts';
import type { RegistryImageReader } from './port.ts';
import { contentsOfFiles, isScannedPath } from './scan-target.ts';
import type { ReadTargetOptions, TargetContents } from './scan-target.ts';

// Reads the images a registry reference names for `kiln scan`: one manifest, or every platform of
// an index (attestation manifests, platform unknown/unknown, skipped). Only os-release and the apk
// database are kept from each layer; every manifest and blob is digest-checked by the reader.

const MAX_CONFIG = 16 * 1024 * 1024;

function platformOf(value: { os?: unknown; architecture?: unknown; variant?: unknown } | undefined): string | undefined {
  if (!value || typeof value.os !== 'string' || typeof value.architecture !== 'string') return undefined;
  return `${value.os}/${value.architecture}${typeof value.variant === 'string' && value.variant ? `/${value.variant}` : ''}`;
}

function wantedPlatform(platform: string): string {
  return platform.includes('/') ? platform : `linux/${platform}`;
}

/** The scan contents of every image a registry reference names (all platforms of an index, or only
 *  `options.platform`), each named `REFERENCE` plus its platform when there are several. */
export async function readRegistryTargets(reader: RegistryImageReader, reference: ImageReference, options: ReadTargetOptions = {}): Promise<TargetContents[]> {
  const name = options.name ?? formatReference(reference);
  const fail = (why: string, cause?: unknown): never => {
    throw new VulnError('VULN_TARGET_UNSUPPORTED', `${name}: ${why}`, { ...(cause === undefined ? {} : { cause }), detail: { target: name } });
  };
  const repo = { registry: reference.registry, repository: reference.repository };
  const pull = async (ref: ImageReference) => {
    try {
      return await reader.getManifest(ref);
    } catch (error) {
      return fail(isKilnError(error) ? error.message : `cannot pull the manifest: ${(error as Error).message}`, error);
    }
  };
  const blob = async (digest: Digest, maxBytes: number) => {
    try {
      return await reader.getBlob(repo, digest, maxBytes);
    } catch (error) {
      return fail(`blob ${digest}: ${isKilnError(error) ? error.message : (error as Error).message}`, error);
    }
  };
  async function* layerChunks(digest: Digest): AsyncGenerator<Uint8Array> {
    try {
      yield* reader.openBlob(repo, digest);
    } catch (error) {
      fail(`blob ${digest}: ${isKilnError(error) ? error.message : (error as Error).message}`, error);
    }
  }
  const configOf = (bytes: Uint8Array, where: string): Record<string, unknown> => {
    let value: unknown;
    try {
      value = parseJsonBounded(Buffer.from(bytes).toString('utf8'), `${name}: ${where}`);
    } catch (error) {
      return fail(`${where} is not JSON`, error);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) return fail(`${where} is not a JSON object`);
    return value as Record<string, unknown>;
  };
  const imageOf = async (digest: Digest, document: ImageManifest | ImageIndex, platform: string | undefined): Promise<{ platform: string; read: () => Promise<TargetContents> } | undefined> => {
    if (!('layers' in document)) return fail(`manifest ${digest} is an index where an image manifest was expected`);
    const { layers, config } = document;
    let resolved = platform;
    if (!resolved) resolved = platformOf(configOf(await blob(config.digest, MAX_CONFIG), `config ${config.digest}`)) ?? 'unknown';
    if (resolved === 'unknown/unknown') return undefined;
    const found = resolved;
    return {
      platform: found,
      read: async () => {
        const read = [];
        // Streamed: a layer is never held whole, whatever its size; the client checks each blob's
        // digest at its end, before readLayerStream returns what it kept.
        for (const layer of layers) read.push(await readLayerStream(layerChunks(layer.digest), isScannedPath, `${name} layer ${layer.digest}`));
        return { ...contentsOfFiles(name, 'registry', applyLayers(read), options, found), digest };
      },
    };
  };
  const top = await pull(reference);
  const document = top.manifest;
  const images: Array<{ platform: string; read: () => Promise<TargetContents> }> = [];
  if ('manifests' in document) {
    for (const descriptor of document.manifests) {
      const listed = platformOf(descriptor.platform);
      if (listed === 'unknown/unknown') continue;
      if (options.platform && listed && listed !== wantedPlatform(options.platform)) continue;
      const pulled = await pull({ ...repo, digest: descriptor.digest });
      const image = await imageOf(pulled.digest, pulled.manifest, listed);
      if (image) images.push(image);
    }
  } else {
    const image = await imageOf(top.digest, document, undefined);
    if (image) images.push(image);
  }
  const chosen = options.platform ? images.filter((image) => image.platform === wantedPlatform(options.platform!)) : images;
  if (chosen.length === 0) {
    if (options.platform) throw new VulnError('VULN_TARGET_UNSUPPORTED', `${name}: no image for platform ${wantedPlatform(options.platform)}`, { detail: { target: name, platform: wantedPlatform(options.platform) } });
    throw new VulnError('VULN_NO_PACKAGES', `${name}: holds no image`, { detail: { target: name } });
  }
  const out: TargetContents[] = [];
  for (const image of chosen) out.push(await image.read());
  return out;
}
