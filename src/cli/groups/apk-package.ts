import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerApkIndex } from '../commands/apk-index.ts';
import { registerApkInfo } from '../commands/apk-info.ts';
import { registerApkMkpkg } from '../commands/apk-mkpkg.ts';
import { registerApkVerify } from '../commands/apk-verify.ts';
import { registerKeygen } from '../commands/keygen.ts';

/** `kiln keygen` (top level) and `kiln apk info|verify|mkpkg|index`. */
export function registerApkPackageCommands(program: Command, apk: Command, context: CliContext): void {
  registerKeygen(program, context);
  registerApkInfo(apk, context);
  registerApkVerify(apk, context);
  registerApkMkpkg(apk, context);
  registerApkIndex(apk, context);
}
