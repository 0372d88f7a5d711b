import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../lib/index.ts';
import { recordAdvisoryEvent, VEX_JUSTIFICATIONS } from '../../vuln/index.ts';
import type { AdvisoryEvent } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { collect } from './pkg-options.ts';

/** Flags of `kiln advisory create|update` (wolfictl's advisory flags where they exist). */
interface EventFlags {
  type: string;
  fixedVersion?: string;
  evidence?: string;
  justification?: string;
  impact?: string;
  reason?: string;
  note?: string;
  scanner?: string;
  alias?: string[];
  timestamp?: string;
  dir: string;
  json?: boolean;
}

const TYPES = ['detected', 'affected', 'fixed', 'not-affected', 'false-positive', 'pending-upstream', 'fix-not-planned'];

function eventOf(flags: EventFlags, now: Date): AdvisoryEvent {
  const timestamp = flags.timestamp ?? now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const need = (value: string | undefined, flag: string): string => {
    if (value === undefined || value === '') throw new KilnError('USAGE', `--type ${flags.type} needs ${flag}`);
    return value;
  };
  const optional = (key: string, value: string | undefined) => (value ? { [key]: value } : {});
  switch (flags.type) {
    case 'detected':
      return { timestamp, type: 'detected', ...(flags.scanner || flags.note ? { data: { ...optional('scanner', flags.scanner), ...optional('note', flags.note) } } : {}) } as AdvisoryEvent;
    case 'affected':
    case 'pending-upstream':
      return { timestamp, type: flags.type, ...(flags.note ? { data: { note: flags.note } } : {}) } as AdvisoryEvent;
    case 'fixed':
      return { timestamp, type: 'fixed', data: { version: need(flags.fixedVersion, '--fixed-version'), ...optional('evidence', flags.evidence) } } as AdvisoryEvent;
    case 'not-affected': {
      const justification = need(flags.justification, `--justification (${VEX_JUSTIFICATIONS.join(', ')})`);
      if (!(VEX_JUSTIFICATIONS as readonly string[]).includes(justification)) throw new KilnError('USAGE', `--justification ${justification}: use ${VEX_JUSTIFICATIONS.join(', ')}`);
      return { timestamp, type: 'not-affected', data: { justification, ...optional('impact', flags.impact) } } as AdvisoryEvent;
    }
    case 'false-positive':
    case 'fix-not-planned':
      return { timestamp, type: flags.type, data: { reason: need(flags.reason, '--reason') } } as AdvisoryEvent;
    default:
      throw new KilnError('USAGE', `--type ${flags.type}: use ${TYPES.join(', ')}`);
  }
}

/** Registers `kiln advisory create` (mode create) or `kiln advisory update` (mode update). */
export function registerAdvisoryEventCommand(advisory: Command, context: CliContext, mode: 'create' | 'update'): void {
  advisory
    .command(mode)
    .description(
      mode === 'create'
        ? "start a package's advisory for a vulnerability with its first event (the file is created when missing), validated and written atomically"
        : "append an event to a package's existing advisory for a vulnerability (the latest event is its current state), validated and written atomically",
    )
    .argument('<package>', 'origin package name (os/advisories/<package>.yaml)')
    .argument('<vulnerability>', 'vulnerability id (CVE-2024-1234, GHSA-…)')
    .requiredOption('--type <TYPE>', `event type: ${TYPES.join(', ')}`)
    .option('--fixed-version <VERSION>', 'apk version that fixes it (--type fixed)')
    .option('--evidence <TEXT>', 'where the fix is shown (--type fixed)')
    .option('--justification <NAME>', `OpenVEX justification (--type not-affected): ${VEX_JUSTIFICATIONS.join(', ')}`)
    .option('--impact <TEXT>', 'impact statement (--type not-affected)')
    .option('--reason <TEXT>', 'why (--type false-positive, fix-not-planned)')
    .option('--note <TEXT>', 'note (--type detected, affected, pending-upstream)')
    .option('--scanner <NAME>', 'scanner that found it (--type detected)')
    .option('--alias <ID>', 'another id of the vulnerability (repeatable)', collect)
    .option('--timestamp <ISO8601>', 'when the event happened (default now)')
    .option('--dir <DIR>', 'advisories directory', 'os/advisories')
    .option('--json', 'print the resulting advisories file as JSON')
    .action(async (pkg: string, id: string, flags: EventFlags) => {
      const { path, file } = await recordAdvisoryEvent(resolve(context.cwd, flags.dir), pkg, id, eventOf(flags, new Date()), { mode, ...(flags.alias ? { aliases: flags.alias } : {}) });
      if (flags.json) printJson(context, file);
      else context.stdout(`${path}: ${id} ${flags.type}\n`);
    });
}
