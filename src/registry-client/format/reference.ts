import { isDigest } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { RegistryClientError } from '../errors.ts';

/** A parsed image reference: where the manifest lives and which one. */
export interface ImageReference {
  /** Registry as the user names it (`docker.io`, `localhost:5000`, `ghcr.io`). */
  registry: string;
  /** Repository path inside the registry (`library/alpine`, `team/app`). */
  repository: string;
  /** Tag, when given (defaults to `latest` only when neither tag nor digest is given). */
  tag?: string;
  /** Digest, when given (`name@sha256:…`); pulls by digest are verified against it. */
  digest?: Digest;
}

export const DEFAULT_REGISTRY = 'docker.io';
const REPOSITORY_PATTERN = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HOST_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:[0-9]{1,5})?$/;

function invalid(input: string, why: string): RegistryClientError {
  return new RegistryClientError('REFERENCE_INVALID', `image reference ${JSON.stringify(input)}: ${why}`, { detail: { reference: input } });
}

/** Parses `[registry/]repository[:tag][@digest]` with Docker's defaults: no registry means
 *  `docker.io`, and a one-component Docker Hub name gets the `library/` prefix. */
export function parseReference(input: string): ImageReference {
  let rest = input.trim();
  if (rest === '') throw invalid(input, 'empty');
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) throw invalid(input, `digest ${JSON.stringify(candidate)} is not sha256:<64 hex> or sha512:<128 hex>`);
    digest = candidate;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_PATTERN.test(tag)) throw invalid(input, `tag ${JSON.stringify(tag)} must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
  }
  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!HOST_PATTERN.test(first)) throw invalid(input, `registry host ${JSON.stringify(first)} is malformed`);
      registry = first;
      repository = rest.slice(firstSlash + 1);
    }
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  if (!REPOSITORY_PATTERN.test(repository)) {
    throw invalid(input, `repository ${JSON.stringify(repository)} must be lower case components separated by "/"`);
  }
  if (`${registry}/${repository}`.length > 255) throw invalid(input, 'registry/repository is longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** The tag or digest to address the manifest by: the digest wins when both are given. */
export function referenceIdentifier(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** `registry/repository[:tag][@digest]` in canonical form. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The same repository addressed by a digest (tag dropped). */
export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** The same repository addressed by a tag (digest dropped). */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, tag };
}

/** Host to connect to: Docker Hub's API lives on registry-1.docker.io. */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
}

/** True for hosts that are this machine: those are spoken to over plain HTTP, as Docker does. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host) || host.endsWith('.localhost');
}

/** Tag of the OCI referrers fallback index for a digest (`sha256:abc` → `sha256-abc`). */
export function referrersFallbackTag(digest: string): string {
  const [alg = '', enc = ''] = digest.split(':');
  return `${alg.slice(0, 32)}-${enc.slice(0, 64)}`.replace(/[^A-Za-z0-9_.-]/g, '-');
}
