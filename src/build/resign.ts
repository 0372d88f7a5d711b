import { readFile } from 'node:fs/promises';
import { signBytes, verifyApkFile } from '../apk/index.ts';
import type { SigningKey } from '../apk/index.ts';
import { writeFileAtomic } from '../lib/index.ts';
import { BuildError } from './errors.ts';
import { signatureMember } from './format/signature-member.ts';

/** Re-signs a package in place (melange `sign`): the package is verified first (datahash and file
 *  checksums), existing signatures are dropped, the control member is signed with `key`, and the
 *  file is replaced atomically. The signature entry's mtime is the package's builddate. */
export async function resignPackage(file: string, key: SigningKey): Promise<{ keyName: string }> {
  const summary = await verifyApkFile(file, { allowUntrusted: true });
  const bytes = await readFile(file);
  const { controlOffset, dataOffset } = summary.control;
  if (!(controlOffset >= 0 && dataOffset > controlOffset && dataOffset <= bytes.length)) {
    throw new BuildError('PACKAGE_WRITE_FAILED', `${file}: cannot locate the control member`, { detail: { file } });
  }
  const control = bytes.subarray(controlOffset, dataOffset);
  const signature = signBytes(control, key.privateKey, 'RSA256');
  const member = signatureMember(`.SIGN.RSA256.${key.keyName}`, signature, summary.control.pkginfo.buildDate ?? 0);
  await writeFileAtomic(file, Buffer.concat([member, control, bytes.subarray(dataOffset)]));
  return { keyName: key.keyName };
}
