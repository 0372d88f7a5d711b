import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryClientError } from './errors.ts';

/** A username/password pair (or an identity token) for one registry. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken` in config.json); sent to the token endpoint. */
  identityToken?: string;
  /** A bearer token used as is (`registrytoken`). */
  registryToken?: string;
}

/** Looks up credentials for a registry host; undefined means anonymous. */
export type CredentialLookup = (registry: string) => Promise<RegistryCredentials | undefined>;

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Keys Docker may have used for a registry in `auths`. */
function candidateKeys(registry: string): string[] {
  if (registry === 'docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'https://index.docker.io/v1', 'registry-1.docker.io'];
  }
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

/** Reads credentials the way the Docker CLI stores them: `$DOCKER_CONFIG/config.json` (default
 *  `~/.docker/config.json`), `auths` with base64 `auth` or username/password, and credential
 *  helpers (`credHelpers`/`credsStore`, run as `docker-credential-<name> get`). The file is read per
 *  lookup so a login between commands is seen; a missing file means anonymous. */
export function dockerConfigCredentials(env: NodeJS.ProcessEnv = process.env): CredentialLookup {
  const dir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
  const path = join(dir, 'config.json');
  return async (registry) => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    let config: DockerConfigFile;
    try {
      config = JSON.parse(text) as DockerConfigFile;
    } catch (error) {
      throw new RegistryClientError('DOCKER_CONFIG_INVALID', `${path}: not valid JSON`, { cause: error, detail: { path } });
    }
    const keys = candidateKeys(registry);
    const helper = keys.map((key) => config.credHelpers?.[key]).find((name) => name !== undefined) ?? config.credsStore;
    if (helper) {
      const fromHelper = await runCredentialHelper(helper, keys[0]!, path);
      if (fromHelper) return fromHelper;
    }
    for (const key of keys) {
      const entry = config.auths?.[key];
      if (!entry) continue;
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) {
          throw new RegistryClientError('DOCKER_CONFIG_INVALID', `${path}: auths[${JSON.stringify(key)}].auth is not base64 of "user:password"`, { detail: { path, registry } });
        }
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), ...(entry.identitytoken ? { identityToken: entry.identitytoken } : {}) };
      }
      if (entry.username !== undefined || entry.identitytoken || entry.registrytoken) {
        return {
          ...(entry.username === undefined ? {} : { username: entry.username }),
          ...(entry.password === undefined ? {} : { password: entry.password }),
          ...(entry.identitytoken ? { identityToken: entry.identitytoken } : {}),
          ...(entry.registrytoken ? { registryToken: entry.registrytoken } : {}),
        };
      }
    }
    return undefined;
  };
}

/** Runs `docker-credential-<helper> get` with the server URL on stdin. A helper that says it has no
 *  credentials (non-zero exit) means anonymous, as in the Docker CLI. */
async function runCredentialHelper(helper: string, server: string, configPath: string): Promise<RegistryCredentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new RegistryClientError('DOCKER_CONFIG_INVALID', `${configPath}: credential helper name ${JSON.stringify(helper)} is not a plain name`, { detail: { path: configPath } });
  }
  const output = await new Promise<string | undefined>((resolve) => {
    const child = execFile(`docker-credential-${helper}`, ['get'], { timeout: 30_000, maxBuffer: 1 << 20 }, (error, stdout) => {
      resolve(error ? undefined : stdout);
    });
    child.stdin?.end(server);
  });
  if (output === undefined) return undefined;
  try {
    const parsed = JSON.parse(output) as { Username?: string; Secret?: string };
    if (parsed.Username === '<token>') return { identityToken: parsed.Secret ?? '' };
    return { username: parsed.Username ?? '', password: parsed.Secret ?? '' };
  } catch (error) {
    throw new RegistryClientError('DOCKER_CONFIG_INVALID', `docker-credential-${helper}: answer is not JSON`, { cause: error, detail: { helper } });
  }
}

/** Fixed credentials per registry (tests, or a caller that already has them). */
export function staticCredentials(map: Record<string, RegistryCredentials>): CredentialLookup {
  return async (registry) => map[registry];
}
