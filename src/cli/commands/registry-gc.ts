import type { Command } from 'commander';
import { createRegistryLogger, loadRegistryConfig, runOfflineGc } from '../../app/index.ts';
import { DURATION_FORMS, KilnError, parseDurationMs } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

interface GcFlags {
  config?: string;
  dataDir?: string;
  dryRun?: boolean;
  deleteUntagged?: boolean;
  gracePeriod?: string;
  json?: boolean;
}

/** `kiln registry gc`: one mark-and-sweep pass over a data directory (like `registry garbage-collect`). */
export function registerRegistryGc(registry: Command, context: CliContext): void {
  registry
    .command('gc')
    .description('garbage-collect unreferenced manifests, blobs and stale uploads')
    .option('--config <FILE>', 'YAML config file (as for serve)')
    .option('--data-dir <DIR>', 'registry data directory')
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--delete-untagged', 'remove manifests no tag, index or live subject reaches (config gc.deleteUntagged)')
    .option('--no-delete-untagged', 'keep untagged manifests')
    .option('--grace-period <DURATION>', 'spare anything written within this long: seconds, or 90s, 15m, 1h, 7d (config gc.gracePeriod)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: GcFlags) => {
      const config = await loadRegistryConfig({ file: flags.config, dataDir: flags.dataDir, cwd: context.cwd, env: context.env });
      let gracePeriodMs: number | undefined;
      if (flags.gracePeriod !== undefined) {
        gracePeriodMs = parseDurationMs(flags.gracePeriod);
        if (gracePeriodMs === undefined) throw new KilnError('USAGE', `--grace-period ${JSON.stringify(flags.gracePeriod)}: expected ${DURATION_FORMS}`);
      }
      const logger = createRegistryLogger(flags.json ? 'warn' : config.log.level);
      const report = await runOfflineGc(config, logger, {
        dryRun: Boolean(flags.dryRun),
        ...(flags.deleteUntagged !== undefined ? { deleteUntagged: flags.deleteUntagged } : {}),
        ...(gracePeriodMs !== undefined ? { gracePeriodMs } : {}),
      });
      if (flags.json) printJson(context, report);
      else {
        const verb = report.dryRun ? 'would remove' : 'removed';
        context.stdout(
          `${verb} ${report.tagsDeleted.length} tags (retention), ${report.manifestsDeleted.length} manifests, ${report.blobLinksRemoved} blob links, ${report.blobsDeleted.length} blobs (${report.bytesFreed} bytes), ${report.uploadsExpired.length} uploads; ${report.liveManifests} manifests live\n`,
        );
      }
    });
}
