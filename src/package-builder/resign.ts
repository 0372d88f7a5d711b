import { resignApkFile } from '../apk/index.ts';
import type { SigningKey } from '../apk/index.ts';

/** Re-signs a package in place (melange `sign`) with apk's re-signer: the package is verified first
 *  (datahash and file checksums), existing signatures are dropped, the control member is signed with
 *  `key` (apk's signature member and algorithm choice) and the file is replaced atomically. The
 *  signature entry's mtime is the package's builddate. */
export async function resignPackage(file: string, key: SigningKey): Promise<{ keyName: string }> {
  await resignApkFile(file, file, key);
  return { keyName: key.keyName };
}
