import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { unreadableInput, writeFileAtomic } from '../../lib/index.ts';
import { ApkError } from '../errors.ts';
import { readApk, summarizeApk } from '../format/apk-reader.ts';
import type { ApkItem, ApkSummary, ReadApkOptions } from '../format/apk-reader.ts';
import { buildApk } from '../format/apk-writer.ts';
import { signatureMember } from '../format/signature.ts';
import { encodeQ1 } from '../format/encoding.ts';
import type { Keyring, SignatureAlgorithm } from '../format/signature.ts';
import type { ApkWriteEntry, BuildApkInput, BuiltApk } from '../format/apk-writer.ts';

/** Streams a package file through {@link readApk}; `options.name` defaults to the path. */
export function readApkFile(path: string, options: ReadApkOptions = {}): AsyncGenerator<ApkItem, void, undefined> {
  return readApk(createReadStream(path, { highWaterMark: 256 * 1024 }), { name: path, ...options });
}

/** Reads and verifies a whole package file (signature or identity, datahash, file checksums). */
export async function verifyApkFile(path: string, options: ReadApkOptions = {}): Promise<ApkSummary> {
  try {
    return await summarizeApk(createReadStream(path, { highWaterMark: 256 * 1024 }), { name: path, ...options });
  } catch (error) {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
    if (cause?.code && cause.syscall) {
      throw new ApkError('APK_PACKAGE_INVALID', unreadableInput('package file', path, cause).message, { cause, detail: { file: path } });
    }
    throw error;
  }
}

/** Options for {@link entriesFromDirectory}. */
export interface DirectoryEntryOptions {
  /** Owner of every entry (default 0:0 root:root): the tree's owners are not used, for reproducibility. */
  uid?: number;
  gid?: number;
}

/**
 * Lists a directory tree as package entries: files (content read lazily), directories, symlinks
 * and hard links (files sharing an inode become links to the bytewise-first path). Modes come
 * from the tree; owners and times do not. Sockets and devices are refused.
 */
export async function entriesFromDirectory(root: string, options: DirectoryEntryOptions = {}): Promise<ApkWriteEntry[]> {
  const entries: ApkWriteEntry[] = [];
  const inodes = new Map<string, string>();
  const owner = { uid: options.uid ?? 0, gid: options.gid ?? 0 };
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(root, relative))).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name;
      const full = join(root, path);
      const info = await lstat(full);
      const mode = info.mode & 0o7777;
      if (info.isDirectory()) {
        entries.push({ path, type: 'directory', mode, ...owner });
        await walk(path);
      } else if (info.isSymbolicLink()) {
        entries.push({ path, type: 'symlink', mode: 0o777, linkTarget: await readlink(full), ...owner });
      } else if (info.isFile()) {
        const inode = `${info.dev}:${info.ino}`;
        const first = info.nlink > 1 ? inodes.get(inode) : undefined;
        if (first !== undefined) {
          entries.push({ path, type: 'hardlink', mode, linkTarget: first, ...owner });
          continue;
        }
        if (info.nlink > 1) inodes.set(inode, path);
        entries.push({ path, type: 'file', mode, ...owner, content: () => createReadStream(full) });
      } else {
        throw new ApkError('APK_PKGINFO_INVALID', `${full}: only files, directories and symlinks can be packaged`, { detail: { file: full } });
      }
    }
  };
  await walk('');
  // The walk visits a directory's children depth-first; a link's first path must sort before it
  // bytewise (the writer sorts that way), so re-pick each inode's target as its smallest path.
  const groups = new Map<string, string[]>();
  for (const entry of entries) {
    if (entry.type === 'hardlink') groups.set(entry.linkTarget!, [...(groups.get(entry.linkTarget!) ?? []), entry.path]);
  }
  for (const [first, links] of groups) {
    const all = [first, ...links].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const smallest = all[0]!;
    if (smallest === first) continue;
    const fileEntry = entries.find((entry) => entry.path === first)!;
    const fileContent = fileEntry.content;
    for (const entry of entries) {
      if (entry.path === smallest) Object.assign(entry, { type: 'file', content: fileContent, linkTarget: undefined });
      else if (entry.path === first || links.includes(entry.path)) Object.assign(entry, { type: 'hardlink', content: undefined, linkTarget: smallest });
    }
  }
  return entries.map((entry) => {
    const clean = { ...entry };
    if (clean.linkTarget === undefined) delete clean.linkTarget;
    if (clean.content === undefined) delete clean.content;
    return clean;
  });
}

/**
 * Writes a package file atomically: the data member goes to a temporary file next to the output
 * first (its hash is needed for .PKGINFO), then signature, control and data are written to a
 * second temporary name and renamed into place. Nothing is left behind on failure.
 */
export async function writeApkFile(outPath: string, input: BuildApkInput): Promise<BuiltApk> {
  await mkdir(dirname(outPath), { recursive: true });
  const dataPath = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.data.tmp`);
  try {
    const handle = await open(dataPath, 'wx', 0o600);
    let built: BuiltApk;
    try {
      built = await buildApk(input, async (chunk) => {
        await handle.write(chunk);
      });
    } finally {
      await handle.close();
    }
    await writeFileAtomic(outPath, async (out) => {
      await out.write(built.signature);
      await out.write(built.control);
      for await (const chunk of createReadStream(dataPath, { highWaterMark: 1 << 20 })) await out.write(chunk as Buffer);
    });
    return built;
  } finally {
    await rm(dataPath, { force: true });
  }
}

/** Options of {@link resignApkFile}. */
export interface ResignOptions {
  /** Verify the existing package with these keys first (default: integrity only, any or no signature). */
  keyring?: Keyring;
  /** Keep existing signature entries after the new one (default: replace them). */
  keepExisting?: boolean;
}

/**
 * Signs an existing package again (e.g. with a release key): the package is read and verified
 * first, then written as a new signature member ‖ the original control and data bytes. The
 * identity (SHA-1 of the control member) and datahash are unchanged. Atomic.
 */
export async function resignApkFile(inPath: string, outPath: string, signer: { privateKey: KeyObject; keyName: string; algorithm?: SignatureAlgorithm }, options: ResignOptions = {}): Promise<{ identity: string; fileSize: number }> {
  const summary = await verifyApkFile(inPath, options.keyring ? { keyring: options.keyring } : { allowUntrusted: true });
  if (!summary.end.hadDatahash) {
    throw new ApkError('APK_PACKAGE_INVALID', `${inPath}: package has no datahash; its signature would have to cover the data, which is not supported`, { detail: { file: inPath } });
  }
  const { controlOffset, dataOffset } = summary.control;
  const handle = await open(inPath, 'r');
  let control: Buffer;
  let existing: Buffer;
  try {
    control = Buffer.alloc(dataOffset - controlOffset);
    await handle.read(control, 0, control.length, controlOffset);
    existing = Buffer.alloc(controlOffset);
    await handle.read(existing, 0, existing.length, 0);
  } finally {
    await handle.close();
  }
  // The file may have changed since it was verified: the control bytes must still hash to the identity.
  const identity = encodeQ1(createHash('sha1').update(control).digest());
  if (identity !== summary.control.identity) {
    throw new ApkError('APK_IDENTITY_MISMATCH', `${inPath}: changed while it was being signed`, { detail: { file: inPath } });
  }
  const signature = signatureMember(control, signer, summary.control.pkginfo.buildDate ?? 0);
  let fileSize = 0;
  await writeFileAtomic(outPath, async (out) => {
    await out.write(signature);
    if (options.keepExisting) await out.write(existing);
    fileSize = signature.length + (options.keepExisting ? existing.length : 0);
    for await (const chunk of createReadStream(inPath, { start: controlOffset, highWaterMark: 1 << 20 })) {
      await out.write(chunk as Buffer);
      fileSize += (chunk as Buffer).length;
    }
  });
  return { identity, fileSize };
}
