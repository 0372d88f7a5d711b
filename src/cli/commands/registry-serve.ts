import type { Command } from 'commander';
import { catalogExtension, createRegistryLogger, loadRegistryConfig, startRegistry } from '../../app/index.ts';
import type { CliContext } from '../context.ts';
import { addCatalogOptions, catalogOptionsOf } from './catalog-serve.ts';
import type { CatalogFlags } from './catalog-serve.ts';

interface ServeFlags extends CatalogFlags {
  catalog?: boolean;
  config?: string;
  addr?: string;
  dataDir?: string;
  logLevel?: string;
}

/** `kiln registry serve`: runs the OCI registry until SIGTERM/SIGINT, then stops gracefully. */
export function registerRegistryServe(registry: Command, context: CliContext): void {
  addCatalogOptions(registry
    .command('serve')
    .description('run the OCI distribution registry (config file reference: docs/registry.md)')
    .option('--config <FILE>', 'YAML config file (default: <data dir>/config.yaml if present, else built-in defaults)')
    .option('--addr <HOST:PORT>', 'listen address (default 127.0.0.1:5000)')
    .option('--data-dir <DIR>', 'storage, metadata and generated keys (default $XDG_DATA_HOME/kiln/registry)')
    .option('--log-level <LEVEL>', 'trace, debug, info, warn, error or silent')
    .option('--catalog', 'also serve the web catalog on the same listener (every path outside /v2/; docs/catalog.md)'))
    .action(async (flags: ServeFlags) => {
      const config = await loadRegistryConfig({ file: flags.config, addr: flags.addr, dataDir: flags.dataDir, cwd: context.cwd, env: context.env });
      const logger = createRegistryLogger(flags.logLevel ?? config.log.level);
      const running = await startRegistry(config, logger, flags.catalog ? catalogExtension(await catalogOptionsOf(flags, context, logger)) : undefined);
      context.stderr(`kiln registry listening on ${running.url} (data: ${config.dataDir})\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          void running.close().then(resolve);
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.once('SIGTERM', onTerm);
        process.once('SIGINT', onInt);
      });
    });
}
