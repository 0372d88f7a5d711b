import type { ImageGroup, ImageUser } from '../config/types.ts';

// Pure: /etc/passwd, /etc/group and /etc/shadow content after apko's account step
// (image-config.md §6.2). Package-provided lines are kept verbatim and first.

/** One /etc/passwd line. */
interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Parses /etc/passwd text (malformed lines are skipped). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7 || line.startsWith('#')) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: fields[0]!, uid, gid, home: fields[5]!, shell: fields[6]! });
  }
  return out;
}

/** Parses /etc/group text into name and gid pairs. */
export function parseGroup(text: string): Array<{ name: string; gid: number }> {
  const out: Array<{ name: string; gid: number }> = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || line.startsWith('#')) continue;
    const gid = Number(fields[2]);
    if (Number.isInteger(gid)) out.push({ name: fields[0]!, gid });
  }
  return out;
}

function appendLines(existing: string | undefined, lines: readonly string[]): string {
  let text = existing ?? '';
  if (text && !text.endsWith('\n')) text += '\n';
  return text + lines.map((line) => `${line}\n`).join('');
}

/** New /etc/passwd content: existing lines, then one per configured user. */
export function passwdContent(existing: string | undefined, users: readonly ImageUser[]): string {
  return appendLines(existing, users.map((user) => `${user.username}:x:${user.uid}:${user.gid}:Account created by apko:${user.homedir}:${user.shell ?? '/bin/sh'}`));
}

/** New /etc/group content: existing lines, then one per configured group. */
export function groupContent(existing: string | undefined, groups: readonly ImageGroup[]): string {
  return appendLines(existing, groups.map((group) => `${group.groupname}:x:${group.gid}:${group.members.join(',')}`));
}

/** New /etc/shadow content: existing lines, then a locked entry per configured user. */
export function shadowContent(existing: string | undefined, users: readonly ImageUser[]): string {
  return appendLines(existing, users.map((user) => `${user.username}:!:::::::`));
}

/** The OCI User for `run-as`: a user name found in the final passwd becomes its uid. */
export function resolveRunAs(runAs: string | undefined, passwd: readonly PasswdEntry[]): string | undefined {
  if (runAs === undefined || runAs === '') return undefined;
  const user = passwd.find((entry) => entry.name === runAs);
  return user ? String(user.uid) : runAs;
}

/** os-release fields (KEY=value, optional quotes). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2]!;
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    out[match[1]!] = value;
  }
  return out;
}
