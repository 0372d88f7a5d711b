import { parseInstalledDb } from '../../apk/index.ts';
import type { InstalledPackage } from '../../apk/index.ts';
import type { SbomApkPackage } from '../../sbom/index.ts';
import type { CheckDefinition, CheckedImage, CheckResult, CheckStatus, Evidence, ImageCheckReport, ImageVariant } from './check-model.ts';
import { resolveImagePath, resolveImagePathName } from './image-fs.ts';
import type { ImageFile } from './image-fs.ts';
import { fipsSettings, loadOpensslConfig } from './openssl-config.ts';
import { findSecrets } from './secrets.ts';
import { packagesSignedOutcome, reproducibleOutcome, vulnerabilitiesOutcome } from './supply-checks.ts';
import type { Outcome, RebuiltImage, Reproduction, VerifiedPackageIndex, VulnerabilityScan } from './supply-checks.ts';

// Pure: Kiln's hardening checks over an image's merged filesystem and config. Each check says what
// it looked at (evidence with paths and digests); a check whose data is missing is `not-run`, never
// `pass`.

/** Everything the checks read about one image. */
export interface ImageUnderCheck {
  image: CheckedImage;
  /** The config's `User` (empty means root). */
  user: string;
  files: ReadonlyMap<string, ImageFile>;
  /** Apk packages of the SBOM given for this image, when one was given. */
  sbomPackages?: readonly SbomApkPackage[];
  /** What is attached to the image in its registry, when read from one. */
  attached?: AttachedArtifacts;
  /** A scan of the image's packages against a vulnerability index, when one was given. */
  vulnerabilities?: VulnerabilityScan;
  /** Repository indexes verified against a keyring, when given. */
  packageIndexes?: readonly VerifiedPackageIndex[];
  /** A rebuild of the image to compare digests with, when given. */
  rebuilt?: RebuiltImage;
  /** What rebuilding the image from its verified provenance found (`--reproduce`), when asked. */
  reproduction?: Reproduction;
}

/** Signatures and attestations found attached to an image (cosign tags and OCI referrers). */
export interface AttachedArtifacts {
  /** The digests looked up (the reference's index or manifest, and the image's manifest). */
  subjects: string[];
  /** Signatures found (not verified). */
  signatures: Evidence[];
  /** SPDX or CycloneDX attestations found (not verified). */
  sboms: Evidence[];
  /** SLSA provenance attestations found (not verified). */
  provenance: Evidence[];
  /** What verifying each kind against the trust policy given (a key or a keyless identity) found;
   *  absent when no policy was given, and then nothing found is evidence of who attached it. */
  verification?: { signatures: AttachmentVerification; sboms: AttachmentVerification; provenance: AttachmentVerification };
}

/** The attachments of one kind that verified against the trust policy for one of the subjects, and
 *  why the others were rejected. */
export interface AttachmentVerification {
  verified: Evidence[];
  failures: string[];
}

/** Annotation (or config label) that marks a dev variant: `dev.kiln.variant: dev`. */
export const VARIANT_ANNOTATION = 'dev.kiln.variant';
/** Annotation (or config label) that marks a FIPS-configured image: `dev.kiln.fips: "true"`. */
export const FIPS_ANNOTATION = 'dev.kiln.fips';

const def = (definition: CheckDefinition) => definition;

/** Every check, in report order. */
export const CHECKS = {
  nonRoot: def({ id: 'non-root-user', title: 'Runs as a non-root user', severity: 'high', controls: ['ac-6', 'cm-6'], references: ['CIS-Docker-4.1'],
    rationale: 'A process that runs as root in the container is root on the host if it escapes; the image should name an unprivileged user so the runtime does not default to uid 0.' }),
  noShell: def({ id: 'no-shell', title: 'No shell in a runtime image', severity: 'high', controls: ['cm-7', 'cm-6'], references: ['CIS-Docker-4.3', 'SRG-OS-000095-GPOS-00049'],
    rationale: 'A shell is the first tool of an attacker who gets code execution; runtime images ship only what the application needs. Dev variants may ship one.' }),
  noPackageManager: def({ id: 'no-package-manager', title: 'No package manager in a runtime image', severity: 'high', controls: ['cm-7', 'cm-6'], references: ['CIS-Docker-4.3', 'SRG-OS-000095-GPOS-00049', 'SRG-OS-000362-GPOS-00149'],
    rationale: 'A package manager lets anyone with code execution install software and changes the image away from its inventory; runtime images are immutable. Dev variants may ship one.' }),
  noCompiler: def({ id: 'no-compiler', title: 'No compiler in a runtime image', severity: 'medium', controls: ['cm-7', 'cm-6'], references: ['CIS-Docker-4.3', 'SRG-OS-000095-GPOS-00049'],
    rationale: 'Compilers and toolchains are not needed to run software and help an attacker build tools inside the container. Dev variants may ship them.' }),
  noSetuid: def({ id: 'no-setuid-setgid', title: 'No setuid or setgid files', severity: 'high', controls: ['ac-6', 'cm-6'], references: ['CIS-Docker-4.8', 'SRG-OS-000326-GPOS-00126'],
    rationale: 'setuid and setgid programs raise privileges when run; a container image has no use for them and they widen what a compromised non-root process can do.' }),
  noWorldWritable: def({ id: 'no-world-writable', title: 'No world-writable files or directories (except sticky /tmp)', severity: 'high', controls: ['ac-6', 'cm-6', 'si-7'], references: ['SRG-OS-000259-GPOS-00100'],
    rationale: 'World-writable files and directories let any user change programs, configuration or data; only the sticky /tmp and /var/tmp are shared scratch space.' }),
  noPrivateKeys: def({ id: 'no-private-keys', title: 'No private keys or tokens in the filesystem', severity: 'critical', controls: ['ia-5', 'sc-12'], references: ['CIS-Docker-4.10', 'SRG-OS-000067-GPOS-00035'],
    rationale: 'A private key or access token in an image is disclosed to everyone who can pull it; secrets are provided at run time.' }),
  noPasswordHashes: def({ id: 'no-password-hashes', title: 'No password hashes', severity: 'high', controls: ['ia-5'], references: ['CIS-Docker-4.10'],
    rationale: 'A password hash in /etc/shadow or /etc/passwd is an authenticator that can be cracked offline by anyone who pulls the image; image accounts are locked.' }),
  noEmptyPasswords: def({ id: 'no-empty-passwords', title: 'No account with an empty password', severity: 'critical', controls: ['ia-5', 'cm-6'], references: [],
    rationale: 'An account with an empty password can be entered without any authenticator.' }),
  loginShells: def({ id: 'login-shells', title: 'No account with a usable interactive login shell in a runtime image', severity: 'medium', controls: ['ac-6', 'cm-7'], references: [],
    rationale: 'Service accounts need no interactive shell; an account whose login shell exists in the image can be used interactively. Dev variants may allow it.' }),
  osRelease: def({ id: 'os-release', title: '/etc/os-release identifies the distribution', severity: 'medium', controls: ['cm-8'], references: [],
    rationale: 'Scanners and inventories identify the distribution and its advisories from os-release; without it packages cannot be matched to advisories.' }),
  caBundle: def({ id: 'ca-bundle', title: 'A CA certificate bundle is present', severity: 'low', controls: ['cm-6', 'sc-17'], references: [],
    rationale: 'Without trusted CA certificates TLS clients either fail or are configured to skip verification.' }),
  zoneinfo: def({ id: 'timezone-data', title: 'Time zone data is present', severity: 'low', controls: ['cm-6', 'au-8'], references: [],
    rationale: 'Without zoneinfo, programs fall back to UTC silently or fail to render local time in audit records.' }),
  sbomPackages: def({ id: 'sbom-packages', title: 'Every installed package is in the SBOM', severity: 'high', controls: ['cm-8', 'sr-4'], references: [],
    rationale: 'The SBOM is the component inventory assessors and scanners rely on; a package installed but not listed (or listed but not installed) makes it wrong.' }),
  packagesSigned: def({ id: 'packages-signed', title: 'Every package signed by a trusted key', severity: 'high', controls: ['cm-14', 'si-7', 'sr-11'], references: ['CIS-Docker-4.11', 'SRG-OS-000366-GPOS-00153'],
    rationale: 'Signed packages show that each component comes unaltered from its publisher.' }),
  signature: def({ id: 'signature-attached', title: 'Image signature attached', severity: 'high', controls: ['cm-14', 'si-7', 'sr-11'], references: ['CIS-Docker-4.5'],
    rationale: 'A signature lets consumers verify that the image is the one its publisher built.' }),
  sbomAttached: def({ id: 'sbom-attached', title: 'SBOM attestation attached', severity: 'medium', controls: ['cm-8', 'sr-4'], references: [],
    rationale: 'An SBOM attached to the image as a signed attestation travels with it and cannot be swapped.' }),
  provenance: def({ id: 'provenance-attached', title: 'Build provenance attached', severity: 'medium', controls: ['sr-4', 'sa-10', 'sr-3'], references: [],
    rationale: 'SLSA provenance records how, from what and by whom the image was built.' }),
  reproducible: def({ id: 'reproducible', title: 'The image rebuilds bit for bit', severity: 'medium', controls: ['sa-10', 'sa-11', 'si-7'], references: [],
    rationale: 'A reproducible build lets anyone confirm the published image comes from the stated sources.' }),
  vulnerabilities: def({ id: 'vulnerabilities-within-sla', title: 'No critical or high CVE past its remediation SLA', severity: 'high', controls: ['si-2', 'ra-5'], references: ['CIS-Docker-4.4', 'SRG-OS-000439-GPOS-00195', 'SRG-APP-000456-CTR-001125'],
    rationale: 'Known vulnerabilities are remediated within the agreed time.' }),
  fips: def({ id: 'fips-configured', title: 'FIPS-configured OpenSSL (not a validated module)', severity: 'high', controls: ['sc-13'], references: ['SRG-OS-000478-GPOS-00223'],
    cannotEstablish: { 'sc-13': 'a FIPS-configured OpenSSL is not a FIPS-validated module: SC-13 needs cryptography validated under FIPS 140 (a CMVP certificate for the module build), which no configuration check shows' },
    rationale: 'Images sold as FIPS must load only OpenSSL\'s FIPS provider by default (default_properties = fips=yes) and ship no other provider; this is FIPS-configured, never FIPS-validated, which needs a CMVP certificate.' }),
} as const;

const BIN_DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'usr/local/sbin'];
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh', 'csh', 'tcsh', 'fish', 'busybox', 'toybox']);
const PACKAGE_MANAGERS = new Set(['apk', 'apt', 'apt-get', 'dpkg', 'rpm', 'yum', 'dnf', 'microdnf', 'zypper', 'pacman']);
const COMPILER = /^(?:[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_-]+-)?(?:gcc|g\+\+|cc|c\+\+|c89|c99|clang|clang\+\+|tcc|gfortran|rustc|go|javac)(?:-[0-9.]+)?$/;
const NO_LOGIN = new Set(['/sbin/nologin', '/usr/sbin/nologin', '/bin/false', '/usr/bin/false', '/bin/nologin', '/usr/bin/nologin']);
const STICKY_SCRATCH = new Set(['tmp', 'var/tmp']);
const CA_BUNDLES = ['etc/ssl/certs/ca-certificates.crt', 'etc/ssl/cert.pem', 'etc/pki/tls/certs/ca-bundle.crt', 'etc/ssl/ca-bundle.pem'];
const ZONEINFO = ['usr/share/zoneinfo/UTC', 'usr/share/zoneinfo/Etc/UTC'];
const OPENSSL_CNF = 'etc/ssl/openssl.cnf';
const MAX_EVIDENCE = 50;
const EMPTY_FILESYSTEM = 'the image\'s filesystem is empty (its layers add no file), so there is nothing to check: an empty image is not evidence';

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** A text file of the image, links followed: its text, or no text when it is larger than the
 *  content the reader kept (its content is then unknown, which is not the same as absent). */
interface ImageText {
  file: ImageFile;
  text?: string;
}

function readText(files: ReadonlyMap<string, ImageFile>, path: string): ImageText | undefined {
  const file = resolveImagePath(files, path);
  if (!file || file.type !== 'file') return undefined;
  return file.content ? { file, text: file.content.toString('utf8') } : { file };
}

function textOf(files: ReadonlyMap<string, ImageFile>, path: string): { file: ImageFile; text: string } | undefined {
  const found = readText(files, path);
  return found?.text === undefined ? undefined : { file: found.file, text: found.text };
}

const tooLarge = (found: ImageText) => `/${found.file.path} (${found.file.size} bytes) is larger than the content limit, so it was not read`;

const digestOf = (file: ImageFile | undefined) => (file?.sha256 ? { digest: `sha256:${file.sha256}` } : {});

function result(definition: CheckDefinition, status: CheckStatus, summary: string, evidence: Evidence[] = []): CheckResult {
  const shown = evidence.length > MAX_EVIDENCE ? [...evidence.slice(0, MAX_EVIDENCE), { detail: `and ${evidence.length - MAX_EVIDENCE} more` }] : evidence;
  return { ...definition, status, summary, evidence: shown };
}

const outcome = (definition: CheckDefinition, found: Outcome) => result(definition, found.status, found.summary, found.evidence);

/** Whether an image is a dev variant: its name (repository or tag) ends in `-dev`, its tag is
 *  `dev`, or an annotation or label `dev.kiln.variant` says `dev`. */
export function imageVariant(names: readonly string[], annotations: Readonly<Record<string, string>>): ImageVariant {
  if (annotations[VARIANT_ANNOTATION] === 'dev') return { kind: 'dev', reason: `annotation ${VARIANT_ANNOTATION}=dev` };
  for (const name of names) {
    const withoutDigest = name.replace(/@.*$/, '');
    const lastSlash = withoutDigest.lastIndexOf('/');
    const colon = withoutDigest.indexOf(':', lastSlash + 1);
    const repository = colon < 0 ? withoutDigest : withoutDigest.slice(0, colon);
    const tag = colon < 0 ? '' : withoutDigest.slice(colon + 1);
    if (/-dev$/.test(repository) || tag === 'dev' || /-dev$/.test(tag)) return { kind: 'dev', reason: `name ${name}` };
  }
  return { kind: 'runtime' };
}

interface Account {
  name: string;
  uid: number;
  password: string;
  shell: string;
  line: number;
}

function accounts(text: string): Account[] {
  const out: Account[] = [];
  text.split('\n').forEach((line, index) => {
    const fields = line.split(':');
    if (fields.length < 7 || line.startsWith('#')) return;
    // passwd(5): an empty login shell field means /bin/sh
    out.push({ name: fields[0]!, uid: Number(fields[2]), password: fields[1]!, shell: fields[6]!.trim() || '/bin/sh', line: index + 1 });
  });
  return out;
}

/** The directories the bin directories are once the image's links are followed (`/bin` → `usr/bin`
 *  in a merged-/usr image, `/usr/local/bin` → `/opt/tools/bin`), each with the bin directories
 *  that lead there. A bin directory whose links loop is left out: nothing can run from it. */
function binDirectories(files: ReadonlyMap<string, ImageFile>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const dir of BIN_DIRS) {
    const real = resolveImagePathName(files, dir);
    if (real === undefined) continue;
    out.set(real, [...(out.get(real) ?? []), dir]);
  }
  return out;
}

function binaries(files: ReadonlyMap<string, ImageFile>, matches: (name: string) => boolean): Evidence[] {
  const dirs = binDirectories(files);
  const found: Evidence[] = [];
  for (const file of files.values()) {
    const slash = file.path.lastIndexOf('/');
    const via = dirs.get(slash < 0 ? '' : file.path.slice(0, slash));
    if (!via) continue;
    const name = file.path.slice(slash + 1);
    if (!matches(name) || file.type === 'directory') continue;
    const executable = file.type === 'symlink' || file.type === 'hardlink' || (file.mode & 0o111) !== 0;
    if (!executable) continue;
    const reached = BIN_DIRS.includes(file.path.slice(0, slash)) ? '' : ` (reached as /${via[0]}/${name}: /${via[0]} links to /${file.path.slice(0, slash)})`;
    found.push({ path: file.path, ...digestOf(file), detail: `${file.type === 'symlink' ? `symlink to ${file.linkTarget}` : `${file.type}, mode ${octal(file.mode)}`}${reached}` });
  }
  return found.sort((a, b) => (a.path! < b.path! ? -1 : 1));
}

function functionalityCheck(definition: CheckDefinition, what: string, found: Evidence[], variant: ImageVariant): CheckResult {
  if (!found.length) return result(definition, 'pass', `no ${what.replace(/^an? /, '')} in ${BIN_DIRS.map((dir) => `/${dir}`).join(', ')}`);
  const list = found.map((item) => `/${item.path}`).join(', ');
  if (variant.kind === 'dev') return result(definition, 'allowed', `dev variant (${variant.reason}): ${what} allowed: ${list}`, found);
  return result(definition, 'fail', `runtime image ships ${what}: ${list}`, found);
}

function checkNonRoot(input: ImageUnderCheck, passwd: ImageText | undefined): CheckResult {
  const user = input.user.trim();
  const configEvidence: Evidence = { digest: input.image.configDigest, detail: `image config User ${JSON.stringify(user)}` };
  if (!user) return result(CHECKS.nonRoot, 'fail', 'the image config names no user, so containers run as root (uid 0)', [configEvidence]);
  const name = user.split(':')[0]!;
  if (/^\d+$/.test(name)) {
    return Number(name) === 0
      ? result(CHECKS.nonRoot, 'fail', `the image runs as uid 0 (${user})`, [configEvidence])
      : result(CHECKS.nonRoot, 'pass', `the image runs as uid ${name}`, [configEvidence]);
  }
  if (passwd && passwd.text === undefined) return result(CHECKS.nonRoot, 'not-run', `the image runs as user ${name}, whose uid is unknown: ${tooLarge(passwd)}`, [configEvidence, { path: passwd.file.path, ...digestOf(passwd.file), detail: 'not read (larger than the content limit)' }]);
  const account = passwd?.text !== undefined ? accounts(passwd.text).find((entry) => entry.name === name) : undefined;
  if (!account) return result(CHECKS.nonRoot, 'fail', `the image runs as user ${name}, which /etc/passwd does not define (the runtime cannot start it)`, [configEvidence, ...(passwd ? [{ path: passwd.file.path, ...digestOf(passwd.file), detail: 'no such account' }] : [])]);
  const accountEvidence: Evidence = { path: passwd!.file.path, ...digestOf(passwd!.file), detail: `line ${account.line}: ${name} has uid ${account.uid}` };
  if (account.uid === 0) return result(CHECKS.nonRoot, 'fail', `the image runs as ${name}, which has uid 0`, [configEvidence, accountEvidence]);
  return result(CHECKS.nonRoot, 'pass', `the image runs as ${name} (uid ${account.uid})`, [configEvidence, accountEvidence]);
}

function checkSetuid(files: ReadonlyMap<string, ImageFile>): CheckResult {
  const found: Evidence[] = [];
  for (const file of files.values()) {
    if ((file.type === 'file' || file.type === 'hardlink') && file.mode & 0o6000) {
      const bits = [file.mode & 0o4000 ? 'setuid' : '', file.mode & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
      found.push({ path: file.path, ...digestOf(file), detail: `${bits}, mode ${octal(file.mode)}, owner ${file.uid}:${file.gid}` });
    }
  }
  found.sort((a, b) => (a.path! < b.path! ? -1 : 1));
  return found.length
    ? result(CHECKS.noSetuid, 'fail', `${found.length} setuid/setgid file(s): ${found.slice(0, 5).map((item) => `/${item.path}`).join(', ')}`, found)
    : result(CHECKS.noSetuid, 'pass', `none of ${files.size} entries has the setuid or setgid bit`);
}

function checkWorldWritable(files: ReadonlyMap<string, ImageFile>): CheckResult {
  const found: Evidence[] = [];
  const allowed: Evidence[] = [];
  for (const file of files.values()) {
    if (file.type === 'symlink' || file.type === 'chardev' || file.type === 'blockdev' || file.type === 'fifo' || !(file.mode & 0o002)) continue;
    const item = { path: file.path, ...digestOf(file), detail: `${file.type}, mode ${octal(file.mode)}` };
    if (file.type === 'directory' && file.mode & 0o1000 && STICKY_SCRATCH.has(file.path)) allowed.push({ ...item, detail: `${item.detail} (sticky scratch directory, allowed)` });
    else found.push(item);
  }
  found.sort((a, b) => (a.path! < b.path! ? -1 : 1));
  if (found.length) return result(CHECKS.noWorldWritable, 'fail', `${found.length} world-writable entr${found.length === 1 ? 'y' : 'ies'}: ${found.slice(0, 5).map((item) => `/${item.path}`).join(', ')}`, [...found, ...allowed]);
  return result(CHECKS.noWorldWritable, 'pass', allowed.length ? `only sticky scratch directories are world-writable: ${allowed.map((item) => `/${item.path}`).join(', ')}` : 'nothing is world-writable', allowed);
}

function checkSecrets(files: ReadonlyMap<string, ImageFile>): CheckResult {
  const found: Evidence[] = [];
  let scanned = 0;
  const skipped: string[] = [];
  for (const file of files.values()) {
    if (file.type !== 'file') continue;
    // a file larger than the content kept was scanned as it was read
    const secrets = file.content ? findSecrets(file.content) : file.secretsFound;
    if (!secrets) {
      skipped.push(file.path);
      continue;
    }
    scanned++;
    for (const detail of secrets) found.push({ path: file.path, ...digestOf(file), detail });
  }
  found.sort((a, b) => (a.path! < b.path! ? -1 : a.path! > b.path! ? 1 : 0));
  const note = skipped.length ? `; ${skipped.length} file(s) were not scanned (their content was not read)` : '';
  const skippedEvidence = skipped.slice(0, 10).map((path) => ({ path, ...digestOf(files.get(path)), detail: 'not scanned (content not read)' }));
  if (found.length) return result(CHECKS.noPrivateKeys, 'fail', `${found.length} secret(s) found: ${found.slice(0, 5).map((item) => `/${item.path} (${item.detail})`).join(', ')}${note}`, [...found, ...skippedEvidence]);
  // a file that was not scanned may hold a key: no pass on part of the filesystem
  if (skipped.length) return result(CHECKS.noPrivateKeys, 'not-run', `no private key or token in the ${scanned} regular file(s) scanned${note}`, skippedEvidence);
  return result(CHECKS.noPrivateKeys, 'pass', `no private key or token in ${scanned} regular file(s)`);
}

/** A password field that holds a hash (locked `!hash` still counts: the hash is in the image). */
function isHash(password: string): boolean {
  const value = password.replace(/^!+/, '');
  return value !== '' && value !== '*' && value !== 'x' && value !== '!' && !/^\*/.test(value);
}

function checkCredentials(files: ReadonlyMap<string, ImageFile>, passwd: ImageText | undefined): CheckResult[] {
  const shadowFile = readText(files, 'etc/shadow');
  const unread = [passwd, shadowFile].filter((item): item is ImageText => item !== undefined && item.text === undefined);
  if (unread.length) {
    const why = `the accounts are unknown: ${unread.map(tooLarge).join('; ')}`;
    const evidence = unread.map((item) => ({ path: item.file.path, ...digestOf(item.file), detail: 'not read (larger than the content limit)' }));
    return [result(CHECKS.noPasswordHashes, 'not-run', why, evidence), result(CHECKS.noEmptyPasswords, 'not-run', why, evidence)];
  }
  const shadow = shadowFile?.text !== undefined ? { file: shadowFile.file, text: shadowFile.text } : undefined;
  if (!passwd || passwd.text === undefined) {
    const why = 'the image has no readable /etc/passwd';
    return [result(CHECKS.noPasswordHashes, shadow ? 'not-run' : 'pass', shadow ? why : 'the image has no /etc/passwd or /etc/shadow'), result(CHECKS.noEmptyPasswords, shadow ? 'not-run' : 'pass', shadow ? why : 'the image defines no accounts')];
  }
  const shadowEntries = new Map<string, { password: string; line: number }>();
  if (shadow) {
    shadow.text.split('\n').forEach((line, index) => {
      const fields = line.split(':');
      if (fields.length >= 2 && fields[0]) shadowEntries.set(fields[0], { password: fields[1]!, line: index + 1 });
    });
  }
  const hashes: Evidence[] = [];
  const empty: Evidence[] = [];
  for (const [name, entry] of shadowEntries) {
    const where = { path: shadow!.file.path, ...digestOf(shadow!.file) };
    if (entry.password === '') empty.push({ ...where, detail: `line ${entry.line}: account ${name} has an empty password` });
    else if (isHash(entry.password)) hashes.push({ ...where, detail: `line ${entry.line}: account ${name} has a password hash (${entry.password.startsWith('!') ? 'locked, ' : ''}${/^!*\$([^$]+)\$/.exec(entry.password)?.[1] ? `scheme $${/^!*\$([^$]+)\$/.exec(entry.password)![1]}$` : 'DES or unknown scheme'})` });
  }
  const passwdText = passwd.text;
  for (const account of accounts(passwdText)) {
    const where = { path: passwd.file.path, ...digestOf(passwd.file) };
    if (account.password === '' && !shadowEntries.has(account.name)) empty.push({ ...where, detail: `line ${account.line}: account ${account.name} has an empty password field and no shadow entry` });
    else if (account.password !== 'x' && isHash(account.password)) hashes.push({ ...where, detail: `line ${account.line}: account ${account.name} has a password hash in /etc/passwd` });
  }
  const scope = `${accounts(passwdText).length} account(s) in /etc/passwd${shadow ? `, ${shadowEntries.size} in /etc/shadow` : ''}`;
  return [
    hashes.length
      ? result(CHECKS.noPasswordHashes, 'fail', `${hashes.length} password hash(es): ${hashes.map((item) => item.detail).join('; ')}`, hashes)
      : result(CHECKS.noPasswordHashes, 'pass', `no password hash among ${scope}`, [{ path: passwd.file.path, ...digestOf(passwd.file), detail: 'read' }, ...(shadow ? [{ path: shadow.file.path, ...digestOf(shadow.file), detail: 'read' }] : [])]),
    empty.length
      ? result(CHECKS.noEmptyPasswords, 'fail', `${empty.length} account(s) with an empty password: ${empty.map((item) => item.detail).join('; ')}`, empty)
      : result(CHECKS.noEmptyPasswords, 'pass', `no empty password among ${scope}`),
  ];
}

function checkLoginShells(files: ReadonlyMap<string, ImageFile>, passwd: ImageText | undefined, variant: ImageVariant): CheckResult {
  if (!passwd) return result(CHECKS.loginShells, 'pass', 'the image defines no accounts (no /etc/passwd)');
  if (passwd.text === undefined) return result(CHECKS.loginShells, 'not-run', `the accounts are unknown: ${tooLarge(passwd)}`, [{ path: passwd.file.path, ...digestOf(passwd.file), detail: 'not read (larger than the content limit)' }]);
  const usable: Evidence[] = [];
  const absent: string[] = [];
  for (const account of accounts(passwd.text)) {
    if (!account.shell || NO_LOGIN.has(account.shell)) continue;
    const target = resolveImagePath(files, account.shell);
    if (!target || (target.type !== 'file' && target.type !== 'hardlink')) {
      absent.push(`${account.name} (${account.shell})`);
      continue;
    }
    usable.push({ path: passwd.file.path, ...digestOf(passwd.file), detail: `line ${account.line}: ${account.name} has login shell ${account.shell}, present in the image` });
  }
  const absentNote = absent.length ? `; login shells not present in the image, so unusable: ${absent.join(', ')}` : '';
  if (!usable.length) return result(CHECKS.loginShells, 'pass', `no account has a usable interactive login shell${absentNote}`);
  if (variant.kind === 'dev') return result(CHECKS.loginShells, 'allowed', `dev variant (${variant.reason}): ${usable.length} account(s) can log in interactively${absentNote}`, usable);
  return result(CHECKS.loginShells, 'fail', `${usable.length} account(s) have a usable interactive login shell: ${usable.map((item) => item.detail.replace(/^line \d+: /, '')).join('; ')}`, usable);
}

function checkOsRelease(files: ReadonlyMap<string, ImageFile>): CheckResult {
  const found = textOf(files, 'etc/os-release') ?? textOf(files, 'usr/lib/os-release');
  if (!found) return result(CHECKS.osRelease, 'fail', 'neither /etc/os-release nor /usr/lib/os-release is a readable file');
  const fields = Object.fromEntries(found.text.split('\n').map((line) => /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim())).filter((match) => match).map((match) => [match![1], match![3]]));
  if (!fields.ID) return result(CHECKS.osRelease, 'fail', `/${found.file.path} has no ID field`, [{ path: found.file.path, ...digestOf(found.file), detail: 'no ID=' }]);
  return result(CHECKS.osRelease, 'pass', `/${found.file.path}: ID=${fields.ID}${fields.VERSION_ID ? ` VERSION_ID=${fields.VERSION_ID}` : ''}`, [{ path: found.file.path, ...digestOf(found.file), detail: `ID=${fields.ID}${fields.VERSION_ID ? ` VERSION_ID=${fields.VERSION_ID}` : ''}` }]);
}

function checkCaBundle(files: ReadonlyMap<string, ImageFile>): CheckResult {
  for (const path of CA_BUNDLES) {
    const found = textOf(files, path);
    if (!found) continue;
    const count = found.text.split('-----BEGIN CERTIFICATE-----').length - 1;
    if (count > 0) return result(CHECKS.caBundle, 'pass', `/${path} holds ${count} certificate(s)`, [{ path: found.file.path, ...digestOf(found.file), detail: `${count} PEM certificate(s)${found.file.path !== path ? ` (via /${path})` : ''}` }]);
  }
  return result(CHECKS.caBundle, 'fail', `no CA bundle with a PEM certificate at ${CA_BUNDLES.map((path) => `/${path}`).join(', ')}`);
}

function checkZoneinfo(files: ReadonlyMap<string, ImageFile>): CheckResult {
  for (const path of ZONEINFO) {
    const found = resolveImagePath(files, path);
    if (found?.type === 'file' && found.content?.subarray(0, 4).toString('latin1') === 'TZif') {
      const zones = [...files.keys()].filter((key) => key.startsWith('usr/share/zoneinfo/') && files.get(key)!.type === 'file').length;
      return result(CHECKS.zoneinfo, 'pass', `/${path} is TZif data; ${zones} zone file(s) under /usr/share/zoneinfo`, [{ path: found.path, ...digestOf(found), detail: 'TZif' }]);
    }
  }
  return result(CHECKS.zoneinfo, 'fail', `no TZif file at ${ZONEINFO.map((path) => `/${path}`).join(' or ')}`);
}

function checkSbomPackages(input: ImageUnderCheck, installed: InstalledPackage[] | undefined, db: ImageFile | undefined): CheckResult {
  if (!installed || !db) return result(CHECKS.sbomPackages, 'not-run', 'the image has no apk database (/lib/apk/db/installed), so its packages are unknown');
  if (!input.sbomPackages || !input.image.sbom) return result(CHECKS.sbomPackages, 'not-run', `no SBOM was given for this image (--sbom); ${installed.length} package(s) installed`, [{ path: db.path, ...digestOf(db), detail: `${installed.length} installed package(s)` }]);
  const listed = new Set(input.sbomPackages.map((pkg) => `${pkg.name}@${pkg.version}`));
  const present = new Set(installed.map((pkg) => `${pkg.record.name}@${pkg.record.version}`));
  const missing = [...present].filter((key) => !listed.has(key)).sort();
  const extra = [...listed].filter((key) => !present.has(key)).sort();
  const sbom = { path: input.image.sbom.path, digest: input.image.sbom.digest };
  const evidence: Evidence[] = [
    { path: db.path, ...digestOf(db), detail: `${present.size} installed package(s)` },
    { ...sbom, detail: `${listed.size} apk package(s) in the ${input.image.sbom.format} SBOM` },
    ...missing.map((key) => ({ path: db.path, detail: `installed but not in the SBOM: ${key}` })),
    ...extra.map((key) => ({ ...sbom, detail: `in the SBOM but not installed: ${key}` })),
  ];
  if (missing.length || extra.length) {
    const parts = [missing.length ? `installed but not in the SBOM: ${missing.join(', ')}` : '', extra.length ? `in the SBOM but not installed: ${extra.join(', ')}` : ''].filter(Boolean);
    return result(CHECKS.sbomPackages, 'fail', parts.join('; '), evidence);
  }
  return result(CHECKS.sbomPackages, 'pass', `all ${present.size} installed package(s) are in the SBOM, which lists no others`, evidence);
}

function checkFips(files: ReadonlyMap<string, ImageFile>, names: readonly string[], annotations: Readonly<Record<string, string>>): CheckResult {
  const marked = annotations[FIPS_ANNOTATION] === 'true' || names.some((name) => /(^|[-/:])fips($|[-:@])/.test(name));
  if (!marked) return result(CHECKS.fips, 'not-applicable', `not a FIPS image (neither its name nor the annotation ${FIPS_ANNOTATION}=true says so)`);
  const modules = [...files.values()].filter((file) => /(^|\/)ossl-modules\/[^/]+\.so$/.test(file.path));
  const fipsModule = modules.find((file) => file.path.endsWith('/fips.so'));
  const others = modules.filter((file) => !file.path.endsWith('/fips.so'));
  const evidence: Evidence[] = modules.map((file) => ({ path: file.path, ...digestOf(file), detail: 'OpenSSL provider module' }));
  const problems: string[] = [];
  if (!fipsModule) problems.push('no OpenSSL FIPS provider (ossl-modules/fips.so)');
  if (others.length) problems.push(`other providers are loadable: ${others.map((file) => `/${file.path}`).join(', ')}`);
  const cnf = textOf(files, OPENSSL_CNF);
  if (!cnf) problems.push(`no /${OPENSSL_CNF}`);
  else {
    const config = loadOpensslConfig(`/${OPENSSL_CNF}`, {
      read: (path) => {
        const found = textOf(files, path);
        return found ? { path: found.file.path, text: found.text } : undefined;
      },
      directory: (path) => {
        const dir = resolveImagePathName(files, path);
        const entry = dir === undefined || dir === '' ? undefined : files.get(dir);
        if (dir === undefined || (entry && entry.type !== 'directory')) return undefined;
        const prefix = dir === '' ? '' : `${dir}/`;
        const inside = [...files.keys()].filter((key) => key.startsWith(prefix));
        // a directory the tar never lists is there when something is under it
        if (!entry && dir !== '' && !inside.length) return undefined;
        return inside.filter((key) => !key.slice(prefix.length).includes('/') && /\.(cnf|conf)$/.test(key)).sort().map((key) => `/${key}`);
      },
    });
    evidence.push({ path: cnf.file.path, ...digestOf(cnf.file), detail: 'OpenSSL configuration' });
    // only an active .include counts, and only of a fipsmodule.cnf the image ships
    const fipsModuleConfigs = config.includes.flatMap((include) => include.files.filter((path) => path.endsWith('/fipsmodule.cnf') || path === 'fipsmodule.cnf').map((path) => ({ include, path })));
    for (const { include, path } of fipsModuleConfigs) evidence.push({ path, ...digestOf(files.get(path)), detail: `FIPS module configuration, included at ${include.at}` });
    if (!fipsModuleConfigs.length) {
      const named = config.includes.filter((include) => /fipsmodule\.cnf$/.test(include.target));
      problems.push(named.length ? named.map((include) => config.problems.find((problem) => problem.startsWith(`${include.at}:`)) ?? `${include.at}: .include ${include.target} names no file in the image`).join('; ') : 'openssl.cnf does not include fipsmodule.cnf (no active .include of it)');
    }
    const settings = fipsSettings(config);
    problems.push(...settings.problems);
    if (settings.defaultProperties?.replace(/\s+/g, '') !== 'fips=yes') problems.push('openssl.cnf does not set default_properties = fips=yes in its algorithm section');
  }
  return problems.length
    ? result(CHECKS.fips, 'fail', problems.join('; '), evidence)
    : result(CHECKS.fips, 'pass', 'FIPS-configured: only the FIPS provider is installed, openssl.cnf includes its fipsmodule.cnf, activates it and enforces fips=yes (not a validated module: that needs a CMVP certificate)', evidence);
}

function attachmentChecks(attached: AttachedArtifacts | undefined): CheckResult[] {
  const local = 'the image was read from a local file; signatures and attestations are registry referrers';
  if (!attached) {
    return [
      result(CHECKS.signature, 'not-run', `${local}; check the published reference (kiln comply check REGISTRY/REPO:TAG, kiln verify)`),
      result(CHECKS.sbomAttached, 'not-run', `${local}; check the published reference (kiln verify-attestation --type spdx)`),
      result(CHECKS.provenance, 'not-run', `${local}; check the published reference (kiln verify-attestation --type slsaprovenance)`),
    ];
  }
  return [
    verifiedCheck(CHECKS.signature, 'signature(s)', attached.signatures, attached.verification?.signatures, attached.subjects),
    verifiedCheck(CHECKS.sbomAttached, 'SBOM attestation(s)', attached.sboms, attached.verification?.sboms, attached.subjects),
    verifiedCheck(CHECKS.provenance, 'provenance attestation(s)', attached.provenance, attached.verification?.provenance, attached.subjects),
  ];
}

/** An attachment that is only found says nothing about who made it or what it is about (anyone who
 *  can push to the repository can attach one): the check passes only when one verifies against the
 *  key or identity given, for one of the subjects, and does not run without one. */
function verifiedCheck(definition: CheckDefinition, what: string, found: Evidence[], verification: AttachmentVerification | undefined, subjects: readonly string[]): CheckResult {
  const on = subjects.join(', ');
  if (!found.length) return result(definition, 'fail', `no ${what} attached to ${on}`, subjects.map((digest) => ({ digest, detail: 'looked up: cosign tags and OCI referrers' })));
  if (!verification) return result(definition, 'not-run', `${found.length} ${what} attached to ${on}: found, not verified (give --key cosign.pub, or --certificate-identity and --certificate-oidc-issuer, to verify them)`, found);
  const rejected = verification.failures.map((detail) => ({ detail }));
  if (verification.verified.length) {
    // each verified one is named once, as verified; what else was found or rejected follows
    const verified = new Set(verification.verified.map((item) => item.digest));
    return result(definition, 'pass', `${verification.verified.length} ${what} verified on ${on}`, [...verification.verified, ...found.filter((item) => !verified.has(item.digest)), ...rejected]);
  }
  return result(definition, 'fail', `none of the ${found.length} ${what} attached to ${on} verified: ${verification.failures.join('; ') || 'none verified for the image'}`, [...found, ...rejected]);
}

/** Runs every check on one image. */
export function runChecks(input: ImageUnderCheck, annotations: Readonly<Record<string, string>> = {}): ImageCheckReport {
  const { files, image } = input;
  const names = [image.name, ...(image.ref ? [image.ref] : [])];
  const passwd = readText(files, 'etc/passwd');
  const db = resolveImagePath(files, 'lib/apk/db/installed');
  const installed = db?.content ? parseInstalledDb(db.content.toString('utf8'), { source: `/${db.path}` }) : undefined;
  // An image whose layers add nothing but directories has nothing to find: its filesystem checks
  // would pass vacuously, so they do not run (the presence checks still fail: the files are absent).
  const isEmpty = ![...files.values()].some((file) => file.type !== 'directory');
  const unlessEmpty = (definition: CheckDefinition, run: () => CheckResult) => (isEmpty ? result(definition, 'not-run', EMPTY_FILESYSTEM) : run());
  const checks: CheckResult[] = [
    checkNonRoot(input, passwd),
    unlessEmpty(CHECKS.noShell, () => functionalityCheck(CHECKS.noShell, 'a shell', binaries(files, (name) => SHELLS.has(name)), image.variant)),
    unlessEmpty(CHECKS.noPackageManager, () => functionalityCheck(CHECKS.noPackageManager, 'a package manager', binaries(files, (name) => PACKAGE_MANAGERS.has(name)), image.variant)),
    unlessEmpty(CHECKS.noCompiler, () => functionalityCheck(CHECKS.noCompiler, 'a compiler', binaries(files, (name) => COMPILER.test(name)), image.variant)),
    unlessEmpty(CHECKS.noSetuid, () => checkSetuid(files)),
    unlessEmpty(CHECKS.noWorldWritable, () => checkWorldWritable(files)),
    unlessEmpty(CHECKS.noPrivateKeys, () => checkSecrets(files)),
    ...(isEmpty ? [result(CHECKS.noPasswordHashes, 'not-run', EMPTY_FILESYSTEM), result(CHECKS.noEmptyPasswords, 'not-run', EMPTY_FILESYSTEM)] : checkCredentials(files, passwd)),
    unlessEmpty(CHECKS.loginShells, () => checkLoginShells(files, passwd, image.variant)),
    checkOsRelease(files),
    checkCaBundle(files),
    checkZoneinfo(files),
    checkSbomPackages(input, installed, db),
    outcome(CHECKS.packagesSigned, packagesSignedOutcome(input.packageIndexes, installed, db ? { path: db.path, ...digestOf(db) } : undefined)),
    ...attachmentChecks(input.attached),
    outcome(CHECKS.reproducible, reproducibleOutcome(input.rebuilt, image, input.reproduction)),
    outcome(CHECKS.vulnerabilities, vulnerabilitiesOutcome(input.vulnerabilities, installed?.length)),
    checkFips(files, names, annotations),
  ];
  const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, allowed: 0, 'not-run': 0, 'not-applicable': 0 };
  for (const check of checks) counts[check.status]++;
  return { image, checks, counts, isBlocking: checks.some((check) => check.status === 'fail' && (check.severity === 'high' || check.severity === 'critical')) };
}
