import { DOCKER_HUB } from '../../oci/index.ts';

// How the client reaches a registry named in an image reference (references themselves are parsed
// by src/oci's parseImageReference, the one parser).

/** Host to connect to: Docker Hub's API lives on registry-1.docker.io. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
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
