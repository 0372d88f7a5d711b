import { randomBytes } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../lib/index.ts';
import { VulnError } from './errors.ts';
import { isVulnIndexFile, SqliteVulnIndex } from './sqlite/sqlite-vuln-index.ts';

/** Signs bytes (a cosign key signer's `sign`: ECDSA-SHA256, DER); the signature is stored base64 in
 *  `<bundle>.sig`, the form `cosign sign-blob` writes, so `openssl dgst -sha256 -verify` checks it too. */
export type BundleSigner = (data: Uint8Array) => Promise<Uint8Array>;

/** Writes the whole index as one file for air-gapped sites (a compact SQLite copy), and its
 *  signature beside it when a signer is given. Both appear only once complete. */
export async function exportIndexBundle(indexPath: string, bundlePath: string, sign?: BundleSigner): Promise<{ bytes: number; signed: boolean }> {
  const temp = join(dirname(bundlePath), `.${basename(bundlePath)}.${randomBytes(6).toString('hex')}.tmp`);
  const index = new SqliteVulnIndex(indexPath, { readonly: true });
  try {
    index.snapshotTo(temp);
  } finally {
    index.close();
  }
  try {
    const data = await readFile(temp);
    if (sign) await writeFileAtomic(`${bundlePath}.sig`, Buffer.from(await sign(data)).toString('base64'));
    await rename(temp, bundlePath);
    return { bytes: data.length, signed: sign !== undefined };
  } finally {
    await rm(temp, { force: true });
  }
}

/** Replaces the index with a bundle after checking its signature (`verify` over the bundle bytes
 *  and the decoded `<bundle>.sig`, unless `verify` is undefined) and that it is a Kiln index. */
export async function importIndexBundle(bundlePath: string, indexPath: string, verify?: (data: Uint8Array, signature: Uint8Array) => boolean): Promise<{ bytes: number; verified: boolean }> {
  const data = await readFile(bundlePath);
  if (verify) {
    let signature: Buffer;
    try {
      signature = Buffer.from((await readFile(`${bundlePath}.sig`, 'utf8')).trim(), 'base64');
    } catch (error) {
      throw new VulnError('VULN_BUNDLE_INVALID', `${bundlePath}: no signature file ${bundlePath}.sig`, { cause: error, detail: { bundle: bundlePath } });
    }
    if (!verify(data, signature)) throw new VulnError('VULN_BUNDLE_INVALID', `${bundlePath}: the signature in ${bundlePath}.sig does not verify with the given key`, { detail: { bundle: bundlePath } });
  }
  const temp = join(dirname(indexPath), `.${basename(indexPath)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFileAtomic(temp, data);
    if (!isVulnIndexFile(temp)) throw new VulnError('VULN_BUNDLE_INVALID', `${bundlePath}: is not a Kiln vulnerability index (of this version)`, { detail: { bundle: bundlePath } });
    for (const suffix of ['-wal', '-shm']) await rm(`${indexPath}${suffix}`, { force: true });
    await rename(temp, indexPath);
    return { bytes: data.length, verified: verify !== undefined };
  } finally {
    await rm(temp, { force: true });
  }
}
