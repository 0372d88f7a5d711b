import { isDigest } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { OciError } from '../errors.ts';

// Image references, `[registry/]repository[:tag][@digest]`: the one parser in Kiln, used by image
// builds (docker archive tags, OCI layout ref names), publishing and the trust commands.
//
// The grammar and normalisation are Docker's (github.com/distribution/reference, regexp.go and
// normalize.go's ParseNormalizedNamed followed by TagNameOnly), so a name means here what it means
// to `docker pull`:
//   - the first path component is a registry when it is `localhost`, contains `.` or `:`, or has an
//     upper-case letter; otherwise the name is on Docker Hub;
//   - Docker Hub is `docker.io`; `index.docker.io` (the legacy name) is the same registry. Other
//     hosts, `registry-1.docker.io` included, are taken as written;
//   - a one-component name on Docker Hub gets the `library/` prefix;
//   - neither tag nor digest means the tag `latest`;
//   - a 64-character hex string alone is an image ID, not a name, and is refused.
// One deliberate narrowing: a digest must be one Kiln can verify (lib's isDigest: sha256 or sha512,
// lower-case hex of the full length), since every pull by digest is checked against it.

/** A parsed image reference: where the manifest lives and which one. */
export interface ImageReference {
  /** Registry host[:port] (`docker.io`, `localhost:5000`, `ghcr.io`). */
  registry: string;
  /** Repository path inside the registry (`library/alpine`, `team/app`). */
  repository: string;
  /** Tag, when given; `latest` when neither tag nor digest is given. */
  tag?: string;
  /** Digest, when given (`name@sha256:…`); pulls by digest are verified against it. */
  digest?: Digest;
}

/** Docker Hub's canonical registry name. */
export const DOCKER_HUB = 'docker.io';
/** The legacy name of Docker Hub ("the Docker Index"), normalised to {@link DOCKER_HUB}. */
const DOCKER_HUB_LEGACY = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
/** Longest `registry/repository` Docker accepts. */
const NAME_TOTAL_LENGTH_MAX = 255;

// distribution/reference regexp.go, anchored.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REMOTE_NAME = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_NAME_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_AND_PORT = new RegExp(`^(?:${DOMAIN_NAME_COMPONENT}(?:\\.${DOMAIN_NAME_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** Parses an image reference with Docker's grammar and defaults (see the top of this file). */
export function parseImageReference(text: string): ImageReference {
  const fail = (why: string): never => {
    throw new OciError('OCI_REFERENCE_INVALID', `image reference ${JSON.stringify(text)}: ${why}`, { detail: { reference: text } });
  };
  if (text === '') fail('empty');
  if (IMAGE_ID.test(text)) fail('a 64-character hex string is an image ID, not a repository name');
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) fail(`digest ${JSON.stringify(candidate)} is not sha256:<64 lower-case hex> or sha512:<128 lower-case hex>`);
    digest = candidate as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`tag ${JSON.stringify(tag)} must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
  }
  let { registry, repository } = splitRegistry(rest);
  if (registry === DOCKER_HUB_LEGACY) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `${OFFICIAL_PREFIX}${repository}`;
  if (!DOMAIN_AND_PORT.test(registry)) fail(`registry ${JSON.stringify(registry)} is not a host name, IPv4 address or [IPv6] address with an optional :port`);
  if (!REMOTE_NAME.test(repository)) {
    fail(REMOTE_NAME.test(repository.toLowerCase())
      ? `repository ${JSON.stringify(repository)} must be lower case`
      : `repository ${JSON.stringify(repository)} must be lower-case components ([a-z0-9] separated by ".", "_", "__" or dashes) joined by "/"`);
  }
  if (registry.length + 1 + repository.length > NAME_TOTAL_LENGTH_MAX) fail(`registry/repository is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** normalize.go's splitDockerDomain, before the Docker Hub rewrites. */
function splitRegistry(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { registry: DOCKER_HUB, repository: name };
  const first = name.slice(0, slash);
  if (first === 'localhost' || first.includes('.') || first.includes(':') || first.toLowerCase() !== first) {
    return { registry: first, repository: name.slice(slash + 1) };
  }
  return { registry: DOCKER_HUB, repository: name };
}

/** The tag or digest to address the manifest by: the digest wins when both are given. */
export function referenceIdentifier(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** `registry/repository[:tag][@digest]` in canonical form; parses back to the same value. */
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

/** `registry/repository:tag` as ggcr's name.Tag spells it, which apko writes into docker-archive
 *  `RepoTags`: Docker Hub as `index.docker.io`. Kept for byte parity of the archive with apko;
 *  `docker load` and `podman load` read both spellings as the same image. */
export function formatTaggedReference(ref: ImageReference, suffix = ''): string {
  const registry = ref.registry === DOCKER_HUB ? DOCKER_HUB_LEGACY : ref.registry;
  return `${registry}/${ref.repository}:${ref.tag ?? DEFAULT_TAG}${suffix}`;
}
