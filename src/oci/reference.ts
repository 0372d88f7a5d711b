import { OciError } from './errors.ts';

/** A parsed image reference `registry/repository[:tag][@digest]`. */
export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = 'index.docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Parses a reference the way ggcr's name.ParseReference does (Docker Hub defaults). */
export function parseImageReference(text: string): ImageReference {
  const fail = (why: string): never => {
    throw new OciError('OCI_REFERENCE_INVALID', `image reference ${JSON.stringify(text)}: ${why}`, { detail: { reference: text } });
  };
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) fail('digest must be sha256:<64 hex>');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`tag ${JSON.stringify(tag)} is not valid`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (registry === 'docker.io') registry = DOCKER_HUB;
  if (parts.length === 0 || parts.some((part) => !COMPONENT.test(part))) fail('repository must be lower-case path components');
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  return { registry, repository: parts.join('/'), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `registry/repository:tag` with the default tag `latest`. */
export function formatTaggedReference(reference: ImageReference, suffix = ''): string {
  return `${reference.registry}/${reference.repository}:${reference.tag ?? 'latest'}${suffix}`;
}
