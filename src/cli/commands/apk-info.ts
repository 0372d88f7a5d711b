import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { ApkError, loadKeyringFromPaths, readApkFile } from '../../apk/index.ts';
import type { ApkControl, ApkEnd, ApkEntry } from '../../apk/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

interface InfoFlags {
  keyring?: string[];
  contents?: boolean;
  json?: boolean;
}

function modeText(entry: ApkEntry): string {
  const kind = { file: '-', hardlink: 'h', symlink: 'l', chardev: 'c', blockdev: 'b', directory: 'd', fifo: 'p' }[entry.type];
  return `${kind}${entry.mode.toString(8).padStart(4, '0')}`;
}

/** `kiln apk info FILE`: a package's metadata, identity, datahash and signature status (and files with -L). */
export function registerApkInfo(apk: Command, context: CliContext): void {
  apk
    .command('info')
    .description('show a package file: .PKGINFO fields, identity (index C:), datahash check, signatures, scripts; -L lists its files')
    .argument('<file>', '.apk file')
    .addOption(new Option('-k, --keyring <PATH>', 'public key file or directory to check signatures with (repeatable)').argParser(collect))
    .option('-L, --contents', 'list the files the package installs')
    .option('--json', 'print one JSON document on stdout')
    .action(async (file: string, flags: InfoFlags) => {
      const path = resolve(context.cwd, file);
      const keyring = flags.keyring ? await loadKeyringFromPaths(flags.keyring.map((p) => resolve(context.cwd, p))) : undefined;
      let control: ApkControl | undefined;
      let end: ApkEnd | undefined;
      const entries: ApkEntry[] = [];
      let datahashError: ApkError | undefined;
      try {
        for await (const item of readApkFile(path, { name: file, allowUntrusted: true, ...(keyring ? { keyring } : {}) })) {
          if (item.kind === 'control') control = item.control;
          else if (item.kind === 'entry') entries.push(item.entry);
          else end = item.end;
        }
      } catch (error) {
        if (!(error instanceof ApkError && error.code === 'APK_DATAHASH_MISMATCH' && control)) throw error;
        datahashError = error;
      }
      const info = control!.pkginfo;
      const datahash = datahashError ? { status: 'mismatch', expected: info.datahash, actual: datahashError.detail.actual } : { status: end!.hadDatahash ? 'ok' : 'absent', value: end!.datahash };
      const signatures = control!.signatures.map((s) => ({
        algorithm: s.algorithm, keyName: s.keyName, status: s.verified ? 'verified' : keyring ? (s.trusted ? 'not checked (an earlier trusted signature was used)' : 'unknown key') : 'not checked (no --keyring)',
      }));
      if (flags.json) {
        printJson(context, {
          file, name: info.name, version: info.version, arch: info.arch, description: info.description, url: info.url, license: info.license, licenses: info.licenses,
          origin: info.origin, maintainer: info.maintainer, buildDate: info.buildDate, commit: info.commit, installedSize: info.installedSize,
          depends: info.depends, provides: info.provides, installIf: info.installIf, replaces: info.replaces, triggers: info.triggers,
          identity: control!.identity, datahash, signatures, trust: control!.trust, scripts: [...control!.scripts.keys()], pkginfo: info.fields,
          fileSize: end?.fileSize,
          ...(flags.contents ? { contents: entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, linkTarget: e.linkTarget, sha1: e.sha1 })) } : {}),
        });
      } else {
        const lines = [
          `${info.name}-${info.version}`,
          `  description: ${info.description ?? ''}`,
          `  arch: ${info.arch ?? ''}`,
          `  license: ${info.license ?? ''}`,
          `  url: ${info.url ?? ''}`,
          `  installed size: ${info.installedSize ?? 0}`,
          `  identity: ${control!.identity}`,
          `  datahash: ${datahash.status === 'mismatch' ? `MISMATCH (.PKGINFO ${info.datahash}, data ${String(datahash.actual)})` : `${datahash.status}${end ? ` ${end.datahash}` : ''}`}`,
          ...signatures.map((s) => `  signature: ${s.algorithm} ${s.keyName}: ${s.status}`),
          ...(signatures.length ? [] : ['  signature: none']),
          ...info.depends.map((d) => `  depends: ${d}`),
          ...info.provides.map((p) => `  provides: ${p}`),
          ...info.installIf.map((p) => `  install_if: ${p}`),
          ...info.replaces.map((p) => `  replaces: ${p}`),
          ...[...control!.scripts.keys()].map((s) => `  script: ${s}`),
        ];
        if (flags.contents) for (const entry of entries) lines.push(`${modeText(entry)} ${entry.uid}:${entry.gid} ${entry.path}${entry.linkTarget ? ` -> ${entry.linkTarget}` : ''}`);
        context.stdout(`${lines.join('\n')}\n`);
      }
      if (datahashError) throw datahashError;
    });
}
