import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { assertInputDirectory, KilnError, readInputFile } from '../../lib/index.ts';
import { entriesFromDirectory, loadSigningKey, SCRIPT_NAMES, writeApkFile } from '../../apk/index.ts';
import type { PkgInfoInput, ScriptName } from '../../apk/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

interface MkpkgFlags {
  info?: string[];
  files?: string;
  script?: string[];
  signingKey?: string;
  keyName?: string;
  output: string;
  json?: boolean;
}

function numberValue(key: string, value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new KilnError('USAGE', `--info ${key}: expected a decimal number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Turns `--info key=value` pairs (.PKGINFO keys) into writer metadata. */
function pkgInfoFromPairs(pairs: readonly string[], sourceDateEpoch: number | undefined): PkgInfoInput {
  const info: PkgInfoInput = { name: '', version: '' };
  const licenses: string[] = [];
  const list = (key: 'depends' | 'provides' | 'installIf' | 'replaces' | 'triggers', value: string): void => {
    (info[key] ??= []).push(...value.split(/\s+/).filter(Boolean));
  };
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new KilnError('USAGE', `--info: expected KEY=VALUE, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1);
    switch (key) {
      case 'pkgname': info.name = value; break;
      case 'pkgver': info.version = value; break;
      case 'pkgdesc': info.description = value; break;
      case 'url': info.url = value; break;
      case 'arch': info.arch = value; break;
      case 'license': licenses.push(value); break;
      case 'origin': info.origin = value; break;
      case 'maintainer': info.maintainer = value; break;
      case 'commit': info.commit = value; break;
      case 'builddate': info.buildDate = numberValue(key, value); break;
      case 'size': info.installedSize = numberValue(key, value); break;
      case 'provider_priority': info.providerPriority = numberValue(key, value); break;
      case 'replaces_priority': info.replacesPriority = numberValue(key, value); break;
      case 'depend': list('depends', value); break;
      case 'provides': list('provides', value); break;
      case 'install_if': list('installIf', value); break;
      case 'replaces': list('replaces', value); break;
      case 'triggers': list('triggers', value); break;
      default: throw new KilnError('USAGE', `--info: unknown .PKGINFO key ${JSON.stringify(key)}`);
    }
  }
  if (!info.name || !info.version) throw new KilnError('USAGE', '--info pkgname=NAME and --info pkgver=VERSION are required');
  if (licenses.length) info.license = licenses;
  if (info.buildDate === undefined && sourceDateEpoch !== undefined) info.buildDate = sourceDateEpoch;
  return info;
}

/** `kiln apk mkpkg`: build a signed, reproducible v2 package from a directory tree. */
export function registerApkMkpkg(apk: Command, context: CliContext): void {
  apk
    .command('mkpkg')
    .description('build a reproducible v2 .apk from a directory: sorted entries, owners root, mtimes from SOURCE_DATE_EPOCH, PAX checksums, datahash, RSA256 signature')
    .addOption(new Option('-I, --info <KEY=VALUE>', '.PKGINFO field (repeatable): pkgname, pkgver, arch, pkgdesc, url, license, origin, maintainer, commit, builddate, depend, provides, install_if, replaces, provider_priority, replaces_priority, triggers').argParser(collect))
    .option('-F, --files <DIR>', 'directory whose contents become the package data')
    .addOption(new Option('-s, --script <NAME=FILE>', `control script (repeatable); NAME is one of ${SCRIPT_NAMES.join(', ')}`).argParser(collect))
    .option('--signing-key <KEY>', 'RSA private key (PEM); the signature names the key <file name>.pub')
    .option('--key-name <NAME>', 'key name to put in the signature instead of <signing key file name>.pub')
    .requiredOption('-o, --output <FILE>', 'package file to write')
    .option('--json', 'print {"file","identity","datahash","size"} on stdout')
    .action(async (flags: MkpkgFlags) => {
      const epochText = context.env.SOURCE_DATE_EPOCH;
      if (epochText !== undefined && !/^\d{1,12}$/.test(epochText)) throw new KilnError('USAGE', `SOURCE_DATE_EPOCH must be a number of seconds, got ${JSON.stringify(epochText)}`);
      const epoch = epochText === undefined ? undefined : Number(epochText);
      const pkginfo = pkgInfoFromPairs(flags.info ?? [], epoch);
      const scripts: Partial<Record<ScriptName, Buffer>> = {};
      for (const pair of flags.script ?? []) {
        const [name, file] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
        if (!(SCRIPT_NAMES as readonly string[]).includes(name) || !file || pair.indexOf('=') < 0) throw new KilnError('USAGE', `--script: expected NAME=FILE with NAME one of ${SCRIPT_NAMES.join(', ')}, got ${JSON.stringify(pair)}`);
        scripts[name as ScriptName] = await readInputFile(resolve(context.cwd, file), { what: `--script ${name}` });
      }
      if (flags.files) await assertInputDirectory(resolve(context.cwd, flags.files), '-F');
      const entries = flags.files ? await entriesFromDirectory(resolve(context.cwd, flags.files)) : [];
      const signer = flags.signingKey ? await loadSigningKey(resolve(context.cwd, flags.signingKey), flags.keyName) : undefined;
      const output = resolve(context.cwd, flags.output);
      const built = await writeApkFile(output, { pkginfo, entries, scripts, mtime: epoch ?? 0, ...(signer ? { signer } : {}) });
      if (flags.json) printJson(context, { file: flags.output, identity: built.identity, datahash: built.datahash, size: built.fileSize, signedBy: signer?.keyName ?? null });
      else context.stderr(`wrote ${flags.output} (${pkginfo.name}-${pkginfo.version}, ${built.fileSize} bytes, identity ${built.identity}${signer ? `, signed ${signer.keyName}` : ', unsigned'})\n`);
    });
}
