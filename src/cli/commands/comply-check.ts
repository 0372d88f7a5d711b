import type { Command } from 'commander';
import { resolve } from 'node:path';
import { attestCheckResults, checkImage, checkLines, ComplianceError, evaluatePolicy, loadCompliancePolicy } from '../../compliance/index.ts';
import { KilnError } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addComplyOptions, openCheckOptions, signaturePolicyFromFlags } from './comply-options.ts';
import type { ComplyFlags } from './comply-options.ts';
import { addReproduceOptions, reproducerFromFlags } from './comply-reproduce.ts';
import { collect } from './pkg-options.ts';
import { addSignerOptions, openClient, signerFromFlags } from './trust-options.ts';
import type { IdentityFlags, SignerFlags } from './trust-options.ts';

type CheckFlags = ComplyFlags & SignerFlags & Omit<IdentityFlags, 'key'> & { json?: boolean; attest?: boolean; policy?: string; reproduce?: boolean; verifyKey?: string[] };

/** `kiln comply check IMAGE`: the hardening checks, one line each (or JSON); `--attest` attaches the
 *  results to a registry image as signed attestations. Exit codes: 0 when no check of severity high
 *  or critical failed, 1 when one did (COMPLY_CHECKS_FAILED; results are attested first) or the image
 *  cannot be read, 2 for bad usage. Checks that did not run never fail the command. With `--policy`
 *  the policy decides instead: exit 1 (COMPLY_POLICY_FAILED) when a requirement is not met. */
export function registerComplyCheck(comply: Command, context: CliContext): void {
  const command = addReproduceOptions(addSignerOptions(
    addComplyOptions(comply.command('check').description('run the hardening checks on an image (non-root, no shell/package manager/compiler, no setuid, no world-writable, no secrets, accounts, os-release, CA bundle, zoneinfo, SBOM; signature and attestations for registry images); exit 1 when a high or critical check fails'))
      .option('--json', 'print [{"image", "checks": [...], "counts", "isBlocking"}] on stdout')
      .option('--attest', 'registry images: attach the results as signed in-toto attestations (hardening-checks/v1 and oscal-assessment-results/v1 predicates)')
      .option('--key <PATH>', '--attest: cosign.key or PEM private key (without it, keyless: Fulcio); without --attest: cosign.pub verifying registry signatures and SBOM and provenance attestations (signature-attached, sbom-attached, provenance-attached) and, with --reproduce, the provenance')
      .option('--verify-key <PATH>', 'cosign.pub the checks verify registry signatures and attestations (and, with --reproduce, the provenance) with; what --key is without --attest, for when --key is the signing key (repeatable)', collect)
      .option('--policy <FILE>', 'compliance policy (YAML or JSON: require: all, checks: [...], controls: [...], allow-dev): exit 1 unless every requirement is met, instead of the high/critical rule'),
    '.att',
  ));
  command.action(async (image: string, flags: CheckFlags) => {
    const start = new Date().toISOString();
    const policy = flags.policy ? await loadCompliancePolicy(resolve(context.cwd, flags.policy)) : undefined;
    // With --attest, --key signs: public keys to verify with come from --verify-key.
    const verifyKeys = [...(flags.verifyKey ?? []), ...(!flags.attest && flags.key ? [flags.key] : [])];
    const isKeyless = flags.certificateIdentity !== undefined || flags.certificateIdentityRegexp !== undefined;
    if (flags.reproduce && !verifyKeys.length && !isKeyless) {
      throw new KilnError('USAGE', `--reproduce verifies the image's provenance: give ${flags.attest ? '--verify-key cosign.pub (--key is the signing key with --attest)' : '--key cosign.pub'}, or --certificate-identity and --certificate-oidc-issuer (keyless)`);
    }
    const signaturePolicy = await signaturePolicyFromFlags({ ...flags, key: verifyKeys }, context);
    const opened = await openCheckOptions(context, image, flags);
    if (signaturePolicy) opened.options.signaturePolicy = signaturePolicy;
    const reproduce = await reproducerFromFlags(flags, verifyKeys, openClient(flags, context), context);
    if (reproduce) opened.options.reproduce = reproduce;
    let reports;
    try {
      reports = await checkImage(opened.options);
    } finally {
      opened.close();
    }
    if (flags.attest) {
      const { signer, witnesses, format } = await signerFromFlags(flags, context, { what: 'attestation', keylessLegacy: false });
      const attested = await attestCheckResults({ client: openClient(flags, context), reports, signer, format, witnesses, run: { start, end: new Date().toISOString(), toolVersion: kilnVersion(command) } });
      for (const entry of attested) context.stderr(`Attested ${entry.predicateType} to ${entry.digest}${entry.unchanged?.length ? ' (unchanged)' : ''}\n`);
    }
    if (flags.json) printJson(context, reports);
    else for (const report of reports) for (const line of checkLines(report)) context.stdout(`${line}\n`);
    if (policy) {
      const violations = evaluatePolicy(policy, reports);
      if (violations.length) {
        const lines = violations.map((item) => `${item.requirement} (${item.platform}): ${item.reason}`);
        throw new ComplianceError('COMPLY_POLICY_FAILED', `${image}: the policy ${flags.policy} is not met: ${lines.join('; ')}`, { detail: { image, policy: flags.policy, violations } });
      }
      return;
    }
    const blocking = reports.flatMap((report) => report.checks.filter((check) => check.status === 'fail' && (check.severity === 'high' || check.severity === 'critical')).map((check) => `${check.id} (${report.image.platform})`));
    if (blocking.length) {
      throw new ComplianceError('COMPLY_CHECKS_FAILED', `${image}: high or critical checks failed: ${blocking.join(', ')}`, { detail: { image, failed: blocking } });
    }
  });
}

/** The version the root program was given, read at run time so this command does not import the
 *  program that registers it. */
function kilnVersion(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.version() ?? 'unknown';
}
