import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerGenerateKeyPair } from '../commands/generate-key-pair.ts';
import { registerSign } from '../commands/sign.ts';
import { registerVerify } from '../commands/verify.ts';
import { registerAttest } from '../commands/attest.ts';
import { registerVerifyAttestation } from '../commands/verify-attestation.ts';
import { registerDownload } from '../commands/download.ts';
import { registerTree } from '../commands/tree.ts';
import { registerPolicyVerify } from '../commands/policy-verify.ts';

/** Registers the trust commands (cosign's verbs, at the top level): generate-key-pair, sign, verify,
 *  attest, verify-attestation, download, tree, policy verify. */
export function registerTrustCommands(program: Command, context: CliContext): void {
  registerGenerateKeyPair(program, context);
  registerSign(program, context);
  registerVerify(program, context);
  registerAttest(program, context);
  registerVerifyAttestation(program, context);
  registerDownload(program, context);
  registerTree(program, context);
  registerPolicyVerify(program, context);
}
