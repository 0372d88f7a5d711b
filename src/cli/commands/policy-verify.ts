import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { AttestError, assertPolicyPassed, evaluatePolicy, parsePolicy } from '../../attest/index.ts';
import type { PolicyReport } from '../../attest/index.ts';
import { SignError, loadPublicKey, trustMaterialFromTrustedRoot } from '../../sign/index.ts';
import type { TrustPolicy } from '../../sign/index.ts';
import { parseJsonBounded } from '../../lib/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { addRegistryOptions, imageArgument, openClient, signatureRepository } from './trust-options.ts';
import type { RegistryFlags } from './trust-options.ts';

async function readPolicyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new AttestError('POLICY_INVALID', `${what} ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error, detail: { path } });
  }
}

/** `kiln policy verify --policy FILE IMAGE…`: check who signed an image and which attestations it carries. */
export function registerPolicyVerify(program: Command, context: CliContext): void {
  const policy = program.command('policy').description('check images against a supply-chain policy');
  addRegistryOptions(
    policy
      .command('verify')
      .description('check images against a policy file: which keys or keyless identities must have signed, which attestation types must be present and how old they may be; exits 1 listing every failed requirement')
      .argument('<images...>', 'image references')
      .requiredOption('--policy <FILE>', 'policy file (YAML or JSON); key and trusted-root paths in it are relative to it')
      .option('--json', 'print the report (every requirement with pass/fail and why) as JSON'),
  ).action(async (images: string[], flags: RegistryFlags & { policy: string; json?: boolean }) => {
    const references = images.map(imageArgument);
    const policyPath = resolve(context.cwd, flags.policy);
    const parsed = parsePolicy(await readPolicyFile(policyPath, 'policy'), flags.policy);
    const base = dirname(policyPath);
    const trust: Record<string, TrustPolicy> = {};
    for (const [name, authority] of Object.entries(parsed.authorities)) {
      if (authority.key !== undefined) {
        const path = resolve(base, authority.key);
        try {
          trust[name] = { keys: [loadPublicKey(await readPolicyFile(path, `authority ${name} key`), path)] };
        } catch (error) {
          if (error instanceof SignError) throw new AttestError('POLICY_INVALID', `${flags.policy}: authority ${name}: ${error.message}`, { cause: error });
          throw error;
        }
      } else {
        const keyless = authority.keyless!;
        const path = resolve(base, keyless.trustedRoot);
        let json: unknown;
        try {
          json = parseJsonBounded(await readPolicyFile(path, `authority ${name} trusted root`), path);
        } catch (error) {
          if (error instanceof AttestError) throw error;
          throw new AttestError('POLICY_INVALID', `${flags.policy}: authority ${name}: trusted root ${path} is not JSON`, { cause: error });
        }
        trust[name] = {
          keyless: {
            trust: trustMaterialFromTrustedRoot(json, path),
            identity: keyless.identity,
            issuer: keyless.issuer,
            tlogThreshold: keyless.ignoreTlog ? 0 : 1,
            ctlogThreshold: keyless.ignoreSct ? 0 : 1,
          },
        };
      }
    }
    const client = openClient(flags, context);
    const reports: PolicyReport[] = [];
    const repository = signatureRepository(context);
    for (const reference of references) {
      reports.push(await evaluatePolicy({ client, reference, policy: parsed, trust, now: new Date(), ...(repository ? { signatureRepository: repository } : {}) }));
    }
    if (flags.json) printJson(context, { passed: reports.every((r) => r.passed), reports });
    else {
      for (const report of reports) {
        context.stdout(`${report.passed ? 'PASS' : 'FAIL'} ${report.image}\n`);
        for (const check of report.checks) context.stdout(`  ${check.passed ? '✓' : '✗'} ${check.requirement}: ${check.detail}\n`);
      }
    }
    for (const report of reports) assertPolicyPassed(report);
  });
}
