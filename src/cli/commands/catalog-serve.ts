import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { catalogExtension, createRegistryLogger, loadRegistryConfig, startRegistry } from '../../app/index.ts';
import type { CatalogAppOptions } from '../../app/index.ts';
import { CatalogError } from '../../catalog/index.ts';
import type { Logger } from '../../lib/index.ts';
import { RegistryClient, RegistryClientError, dockerConfigCredentials } from '../../registry-client/index.ts';
import type { CredentialLookup } from '../../registry-client/index.ts';
import { loadPublicKey } from '../../sign/index.ts';
import type { CliContext } from '../context.ts';

/** Flags the catalog adds (to `kiln catalog serve`, and to `kiln registry serve --catalog`). */
export interface CatalogFlags {
  key?: string[];
  vulnDb?: string;
  history?: string;
  compare?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds the catalog's flags to a command. */
export function addCatalogOptions(command: Command): Command {
  return command
    .option('--key <FILE>', 'cosign public key whose signatures and attestations the catalog shows as verified (repeatable); without one nothing is shown as verified', collect)
    .option('--vuln-db <FILE>', 'vulnerability index to scan images against (kiln vuln db update; opened read-only)')
    .option('--history <FILE>', "the factory's history database (kiln factory run), for each image's timeline and CVE chart; opened read-only")
    .option('--compare <NAME=IMAGE>', 'an image the comparison page may show: a registry reference or an OCI layout (repeatable)', collect);
}

/** The catalog's composition options from its flags: keys read and checked now, so a bad key fails the start. */
export async function catalogOptionsOf(flags: CatalogFlags, context: CliContext, logger: Logger): Promise<CatalogAppOptions> {
  const keys = [];
  for (const path of flags.key ?? []) {
    const full = resolve(context.cwd, path);
    let pem: string;
    try {
      pem = await readFile(full, 'utf8');
    } catch (error) {
      throw new CatalogError('CATALOG_CONFIG_INVALID', `${path}: cannot read the --key file`, { cause: error, detail: { path } });
    }
    keys.push(loadPublicKey(pem, path));
  }
  const comparisons = (flags.compare ?? []).map((value) => {
    const at = value.indexOf('=');
    if (at <= 0 || at === value.length - 1) throw new CatalogError('CATALOG_CONFIG_INVALID', `--compare ${JSON.stringify(value)}: expected NAME=IMAGE`, { detail: { value } });
    return { name: value.slice(0, at), image: value.slice(at + 1) };
  });
  return {
    keys,
    ...(flags.key?.[0] ? { keyPath: flags.key[0] } : {}),
    ...(flags.vulnDb ? { vulnDbPath: resolve(context.cwd, flags.vulnDb) } : {}),
    ...(flags.history ? { historyPath: resolve(context.cwd, flags.history) } : {}),
    comparisons,
    // The same credential source as `kiln image publish` and `kiln verify`: Docker's config.json.
    credentials: dockerConfigCredentials(context.env),
    cwd: context.cwd,
    logger,
  };
}

/** Checks, once the registry listens, that the catalog's credentials are accepted by its API, so a
 *  wrong password fails the start instead of showing every signature as unverifiable. */
async function checkCatalogCredentials(url: string, credentials: CredentialLookup | undefined, logger: Logger): Promise<void> {
  const host = new URL(url).host;
  const client = new RegistryClient({ logger, userAgent: 'kiln-catalog', ...(credentials ? { credentials } : {}) });
  try {
    await client.ping(host);
  } catch (error) {
    if (error instanceof RegistryClientError && (error.code === 'REGISTRY_AUTH_FAILED' || error.code === 'REGISTRY_DENIED')) {
      throw new CatalogError('CATALOG_REGISTRY_AUTH_FAILED', `registry ${host} refused the catalog's credentials (Docker config: $DOCKER_CONFIG/config.json or ~/.docker/config.json, entry "${host}")`, { cause: error, detail: { registry: host } });
    }
    throw error;
  }
}

interface ServeFlags extends CatalogFlags {
  config?: string;
  listen?: string;
  dataDir?: string;
  logLevel?: string;
}

/** `kiln catalog serve`: the registry and its web catalog on one loopback listener until SIGTERM/SIGINT. */
export function registerCatalogServe(catalog: Command, context: CliContext): void {
  addCatalogOptions(
    catalog
      .command('serve')
      .description('serve the web catalog (images, packages, vulnerabilities, history, signatures, comparison; JSON under /api/) beside the registry API on one listener (docs/catalog.md)')
      .option('--config <FILE>', 'registry YAML config file (docs/registry.md)')
      .option('--listen <HOST:PORT>', 'listen address for the registry and the catalog (default 127.0.0.1:5000)')
      .option('--data-dir <DIR>', 'registry storage, metadata and generated keys (default $XDG_DATA_HOME/kiln/registry)')
      .option('--log-level <LEVEL>', 'trace, debug, info, warn, error or silent'),
  ).action(async (flags: ServeFlags) => {
    const config = await loadRegistryConfig({ file: flags.config, addr: flags.listen, dataDir: flags.dataDir, cwd: context.cwd, env: context.env });
    const logger = createRegistryLogger(flags.logLevel ?? config.log.level);
    const options = await catalogOptionsOf(flags, context, logger);
    const running = await startRegistry(config, logger, catalogExtension(options));
    try {
      await checkCatalogCredentials(running.url, options.credentials, logger);
    } catch (error) {
      await running.close();
      throw error;
    }
    context.stderr(`kiln catalog on ${running.url}/ (registry API on ${running.url}/v2/, data: ${config.dataDir})\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        void running.close().then(done);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  });
}
