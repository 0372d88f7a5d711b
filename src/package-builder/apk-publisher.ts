import { createPublicKey } from 'node:crypto';
import { buildIndex, entriesFromDirectory, indexRecordForFile, readIndexFile, writeApkFile } from '../apk/index.ts';
import type { Keyring, PackageRecord, SigningKey } from '../apk/index.ts';
import { hashFile, pathExists, writeFileAtomic } from '../lib/index.ts';
import { conjoinLicenses } from '../sbom/index.ts';
import { BuildError } from './errors.ts';
import type { PackageMetadata, PackagePublisher, WrittenPackage } from './publisher.ts';

/** Options of the apk publisher. */
export interface ApkPublisherOptions {
  /** Signs packages and the index; without it both are unsigned, and a signed index is never
   *  updated (see {@link assertIndexKeepsSignature}). */
  signingKey?: SigningKey;
  /** SOURCE_DATE_EPOCH for index tar entries. */
  indexMtime?: number;
}

/** What `kiln pkg build` and `build-all` tell a user whose unsigned run met a signed index. */
const BUILD_REMEDY = 'pass --signing-key KEY to sign the updated index, --no-generate-index to leave the index as it is, or build into another --out-dir';

/**
 * Refuses to replace a signed index with an unsigned one (an unsigned index is refused by apk and
 * by `kiln apk resolve -k`, so the downgrade would silently break every consumer of the
 * repository). Passes when `indexFile` does not exist or carries no signature. `remedy` tells the
 * user how to go on, in the words of the command that called.
 */
export async function assertIndexKeepsSignature(indexFile: string, remedy: string): Promise<void> {
  if (!(await pathExists(indexFile))) return;
  let signedBy: string[];
  try {
    signedBy = (await readIndexFile(indexFile, { allowUntrusted: true })).signatures.map((signature) => signature.keyName);
  } catch (error) {
    throw new BuildError('PACKAGE_WRITE_FAILED', `${indexFile}: cannot read the existing index`, { cause: error, detail: { index: indexFile } });
  }
  if (signedBy.length > 0) throw downgradeError(indexFile, signedBy, remedy);
}

function downgradeError(indexFile: string, signedBy: readonly string[], remedy: string): BuildError {
  return new BuildError(
    'INDEX_SIGNATURE_DOWNGRADE',
    `${indexFile} is signed (by ${signedBy.join(', ')}) and this run has no signing key, so updating it would replace it with an unsigned index; ${remedy}`,
    { detail: { index: indexFile, signedBy: [...signedBy] } },
  );
}

/** The PackagePublisher over Kiln's apk writer and index builder. */
export function createApkPublisher(options: ApkPublisherOptions = {}): PackagePublisher {
  const signer = options.signingKey;
  // Our own previous index must verify with our own key before we merge into it.
  const keyring: Keyring | undefined = signer ? new Map([[signer.keyName, createPublicKey(signer.privateKey)]]) : undefined;
  return {
    checkIndex: (indexFile) => (signer ? Promise.resolve() : assertIndexKeepsSignature(indexFile, BUILD_REMEDY)),

    async writePackage(outFile, dir, meta, scripts, sourceDateEpoch): Promise<WrittenPackage> {
      try {
        const entries = await entriesFromDirectory(dir);
        const built = await writeApkFile(outFile, {
          pkginfo: pkginfoInput(meta),
          entries,
          scripts,
          mtime: sourceDateEpoch,
          ...(signer ? { signer: { privateKey: signer.privateKey, keyName: signer.keyName } } : {}),
        });
        return { file: outFile, identity: built.identity, size: built.fileSize, sha256: await hashFile(outFile), pkginfo: built.pkginfoText };
      } catch (error) {
        throw new BuildError('PACKAGE_WRITE_FAILED', `package ${meta.name}-${meta.version}: writing ${outFile} failed`, { cause: error, detail: { package: meta.name } });
      }
    },

    async updateIndex(indexFile, packageFiles) {
      try {
        let records: PackageRecord[] = [];
        if (await pathExists(indexFile)) {
          const existing = await readIndexFile(indexFile, keyring ? { keyring } : { allowUntrusted: true });
          // Checked again here, not only in checkIndex: the index may have been signed since.
          if (!signer && existing.signatures.length > 0) throw downgradeError(indexFile, existing.signatures.map((signature) => signature.keyName), BUILD_REMEDY);
          records = existing.records;
        }
        const fresh: PackageRecord[] = [];
        for (const file of packageFiles) fresh.push(await indexRecordForFile(file, keyring ? { keyring } : {}));
        const replaced = new Set(fresh.map((record) => `${record.name}\0${record.version}`));
        const merged = [...records.filter((record) => !replaced.has(`${record.name}\0${record.version}`)), ...fresh];
        const bytes = buildIndex(merged, { mtime: options.indexMtime ?? 0, ...(signer ? { signer: { privateKey: signer.privateKey, keyName: signer.keyName } } : {}) });
        await writeFileAtomic(indexFile, bytes);
      } catch (error) {
        if (error instanceof BuildError && error.code === 'INDEX_SIGNATURE_DOWNGRADE') throw error;
        throw new BuildError('PACKAGE_WRITE_FAILED', `updating the index ${indexFile} failed`, { cause: error, detail: { index: indexFile } });
      }
    },
  };
}

function pkginfoInput(meta: PackageMetadata) {
  // apk keeps only the last license line, so several licenses become one expression, each
  // compound one in parentheses: `(MIT OR Apache-2.0) AND BSD-3-Clause`
  const license = conjoinLicenses(meta.licenses);
  return {
    name: meta.name,
    version: meta.version,
    arch: meta.arch,
    description: meta.description,
    url: meta.url,
    ...(license ? { license } : {}),
    origin: meta.origin,
    commit: meta.commit,
    ...(meta.maintainer ? { maintainer: meta.maintainer } : {}),
    ...(meta.buildDate ? { buildDate: meta.buildDate } : {}),
    depends: meta.depends,
    provides: meta.provides,
    replaces: meta.replaces,
    ...(meta.providerPriority !== undefined ? { providerPriority: meta.providerPriority } : {}),
    ...(meta.replacesPriority !== undefined ? { replacesPriority: meta.replacesPriority } : {}),
    ...(meta.triggers.length ? { triggers: meta.triggers } : {}),
  };
}

