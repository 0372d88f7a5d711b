import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultCacheDir, isKeyUrl, openRepositoryClient, parseRepository, proxyFromEnvironment } from '../../apk/repository/index.ts';
import type { CheckImageOptions, VerifiedPackageIndex } from '../../compliance/index.ts';
import { isKilnError, KilnError } from '../../lib/index.ts';
import { dockerConfigCredentials, RegistryClient } from '../../registry-client/index.ts';
import { DEFAULT_SLA, loadAdvisoryDirectory, parseSeverity, SqliteVulnIndex, VulnError } from '../../vuln/index.ts';
import type { Severity, SlaPolicy } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { collect } from './pkg-options.ts';
import { trustPolicyFromFlags } from './trust-options.ts';
import type { IdentityFlags } from './trust-options.ts';

/** Flags shared by `kiln comply check` and `kiln comply report`. */
export interface ComplyFlags {
  sbom?: string[];
  platform?: string;
  name?: string;
  allowInsecureRegistry?: boolean;
  vulnDb?: string;
  advisories?: string;
  sla?: string;
  repository?: string[];
  keyring?: string[];
  cacheDir?: string;
  rebuilt?: string;
}

/** Adds the image-selection and evidence flags of the comply commands. */
export function addComplyOptions(command: Command): Command {
  return command
    .argument('<image>', 'OCI image layout directory, docker-archive tarball (kiln image build output), or a registry reference (registry/repo:tag)')
    .option('--sbom <FILE>', 'SPDX or CycloneDX JSON SBOM of the image, for the sbom-packages check (repeatable: one per architecture)', collect)
    .option('--platform <PLATFORM>', 'check only the image of this platform (linux/amd64, amd64, x86_64)')
    .option('--name <REF>', 'the image\'s name (registry/repo:tag) when the source does not record it; a name ending in -dev marks a dev variant')
    .option('--allow-insecure-registry', 'allow plain HTTP to a registry that is not on loopback')
    .option('--vuln-db <PATH>', 'vulnerability index (vuln.sqlite, or the directory holding it: kiln vuln db update) for the vulnerabilities-within-sla check')
    .option('--advisories <DIR>', 'Kiln advisories directory: a finding\'s first advisory event starts its SLA clock (default: the index\'s publication date)')
    .option('--sla <LIST>', 'days allowed per severity (default critical=7,high=14,medium=30,low=30; none and unknown as low unless given, as kiln vuln sla)')
    .option('-X, --repository <URL>', 'apk repository (https://, file:// or a path) whose signed index the installed packages are traced to, for packages-signed (repeatable)', collect)
    .option('-k, --keyring <PATH>', 'trusted public key file, directory of keys or key URL for --repository (repeatable)', collect)
    .option('--cache-dir <DIR>', 'cache for repository indexes (default $XDG_CACHE_HOME/kiln)')
    .option('--rebuilt <PATH>', 'a rebuild of the image (OCI layout or docker archive, e.g. kiln image reproduce output) to compare digests with, for the reproducible check');
}

/** The trust policy signature-attached, sbom-attached and provenance-attached verify registry
 *  signatures and attestations with: public keys, or a keyless identity (as `kiln verify` takes
 *  them); undefined when none is given, and the checks then do not run on what they find. */
export async function signaturePolicyFromFlags(flags: IdentityFlags, context: CliContext): Promise<CheckImageOptions['signaturePolicy']> {
  const isKeyless = [flags.certificateIdentity, flags.certificateIdentityRegexp, flags.certificateOidcIssuer, flags.certificateOidcIssuerRegexp].some((value) => value !== undefined);
  return flags.key?.length || isKeyless ? trustPolicyFromFlags(flags, context) : undefined;
}

function slaPolicy(text: string | undefined): SlaPolicy | undefined {
  if (text === undefined) return undefined;
  const policy: Record<Severity, number> = { ...DEFAULT_SLA };
  for (const part of text.split(',').filter(Boolean)) {
    const [name, days] = part.split('=');
    const severity = parseSeverity(name ?? '');
    if (!severity || !/^\d+$/.test(days ?? '')) throw new KilnError('USAGE', `--sla ${text}: use SEVERITY=DAYS pairs, e.g. critical=7,high=14`);
    policy[severity] = Number(days);
  }
  return policy;
}

/** The service options of the flags, paths resolved against the working directory, with what
 *  must be closed after the checks (the vulnerability index, repository connections). */
export async function openCheckOptions(context: CliContext, image: string, flags: ComplyFlags): Promise<{ options: CheckImageOptions; close: () => void }> {
  const closers: Array<() => void> = [];
  const close = () => {
    for (const closer of closers.reverse()) closer();
  };
  try {
    const options: CheckImageOptions = {
      image,
      cwd: context.cwd,
      registry: new RegistryClient({ credentials: dockerConfigCredentials(context.env), allowInsecure: Boolean(flags.allowInsecureRegistry), userAgent: 'kiln' }),
      ...(flags.sbom ? { sbomPaths: flags.sbom.map((path) => resolve(context.cwd, path)) } : {}),
      ...(flags.platform ? { platform: flags.platform } : {}),
      ...(flags.name ? { name: flags.name } : {}),
      ...(flags.rebuilt ? { rebuilt: resolve(context.cwd, flags.rebuilt) } : {}),
    };
    const policy = slaPolicy(flags.sla);
    if (policy) options.slaPolicy = policy;
    if ((flags.advisories || flags.sla) && !flags.vulnDb) throw new KilnError('USAGE', `${flags.advisories ? '--advisories' : '--sla'} needs --vuln-db`);
    if (flags.vulnDb) {
      const given = resolve(context.cwd, flags.vulnDb);
      const path = existsSync(given) && statSync(given).isDirectory() ? join(given, 'vuln.sqlite') : given;
      if (!existsSync(path)) throw new VulnError('VULN_DB_MISSING', `${path}: no vulnerability index (run kiln vuln db update --config FILE)`, { detail: { path } });
      const index = new SqliteVulnIndex(path, { readonly: true });
      closers.push(() => index.close());
      options.vulnerabilityIndex = { label: path, index };
    }
    if (flags.advisories) {
      const loaded = await loadAdvisoryDirectory(resolve(context.cwd, flags.advisories));
      for (const error of loaded.errors) context.stderr(`warning: ${error.message} (skipped)\n`);
      options.advisories = loaded.files;
    }
    if (flags.keyring?.length && !flags.repository?.length) throw new KilnError('USAGE', '--keyring needs --repository');
    if (flags.repository?.length) {
      if (!flags.keyring?.length) throw new KilnError('USAGE', '--repository needs --keyring: packages are traced to indexes signed by a trusted key');
      const repositories = flags.repository.map((spec) => parseRepository(/^[a-z][a-z0-9+.-]*:/i.test(spec) || spec.startsWith('/') ? spec : resolve(context.cwd, spec), `--repository ${spec}`));
      const handle = await openRepositoryClient({
        cacheDir: flags.cacheDir ? resolve(context.cwd, flags.cacheDir) : defaultCacheDir(context.env, context.env.HOME ?? homedir()),
        keyringPaths: flags.keyring.map((path) => (isKeyUrl(path) ? path : resolve(context.cwd, path))),
        proxy: proxyFromEnvironment(context.env),
      });
      closers.push(() => handle.close());
      options.packageIndexes = async (arch) => {
        const out: VerifiedPackageIndex[] = [];
        for (const repository of repositories) {
          try {
            const index = await handle.client.loadIndex(repository, arch);
            out.push({ source: index.url, ...(index.signedBy ? { signedBy: index.signedBy } : {}), records: index.records });
          } catch (error) {
            // a signature that does not verify is a finding of the check; anything else (the
            // repository cannot be reached) stops the command
            if (!isKilnError(error) || !['APK_UNTRUSTED', 'APK_SIGNATURE_INVALID'].includes(error.code)) throw error;
            out.push({ source: `${repository.url}/${arch}/APKINDEX.tar.gz`, records: [], error: error.message });
          }
        }
        return out;
      };
    }
    return { options, close };
  } catch (error) {
    close();
    throw error;
  }
}
