import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import type { ApkItem, ArchInfo } from '../apk/index.ts';
import { assembleImage } from '../oci/index.ts';
import type { BuiltImage, LayerBlob, RuntimeConfig } from '../oci/index.ts';
import type { ImageConfig } from './config/types.ts';
import { ImageError } from './errors.ts';
import { installPackage, readAhead } from './fs/install.ts';
import type { InstalledPackage, PackageOwnership } from './fs/install.ts';
import { applyPathMutation } from './fs/mutations.ts';
import { FsTree, sha1Hex } from './fs/tree.ts';
import type { FsNode } from './fs/tree.ts';
import { groupContent, parseGroup, parseOsRelease, parsePasswd, passwdContent, resolveRunAs, shadowContent } from './generate/accounts.ts';
import { installedRecord, scriptsTar, sortedLines, triggersFile } from './generate/apk-db.ts';
import { buildLdSoCache } from './generate/ld-so-cache.ts';
import { splitShellWords } from './format/shell-words.ts';
import { planLayerGroups } from './layers-plan.ts';
import { serializeTree } from './serialize.ts';

// Assembles one architecture's image from packages in install order: skeleton, apk configuration,
// packages streamed into the in-memory tree, apk database, accounts, path mutations, services,
// busybox links, CA sidecars, the glibc loader cache, then the layer tars and the image config
// (image-config.md §5).

/** A package to install, in install order. */
export interface ArchPackage {
  name: string;
  version: string;
  /** Where it came from (file path or URL), for messages. */
  location: string;
  /** Repository tag it was selected from (`s:` in the installed database). */
  repositoryTag?: string;
  /** Streams the verified package (readApk items). */
  open: () => AsyncIterable<ApkItem>;
}

/** Inputs of one architecture's build. */
export interface BuildArchInput {
  config: ImageConfig;
  arch: ArchInfo;
  packages: readonly ArchPackage[];
  /** Keyring files written to /etc/apk/keys. */
  keys: ReadonlyArray<{ name: string; content: Uint8Array }>;
  /** Lines of /etc/apk/repositories. */
  repositories: readonly string[];
  /** Lines of /etc/apk/world. */
  world: readonly string[];
  /** Build date option, seconds. */
  buildDate: number;
  /** When true (SOURCE_DATE_EPOCH given) the build date is the image time; otherwise the newest
   *  package build date wins when it is later. */
  buildDateIsFixed: boolean;
  /** Final annotations without `org.opencontainers.image.created` (added here). */
  annotations: Readonly<Record<string, string>>;
  /** Reports a warning (missing os-release, mode-0000 paths …). */
  warn?: (message: string) => void;
  onProgress?: (done: number, total: number, item: string) => void;
}

/** One file of the image as `kiln image ls-files` shows it. */
export interface ImageFileInfo {
  path: string;
  type: FsNode['type'];
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
  owner?: string;
}

/** What one architecture's build produced. */
export interface BuildArchResult {
  image: BuiltImage;
  layers: LayerBlob[];
  installed: InstalledPackage[];
  osRelease: Record<string, string>;
  /** Image time, seconds. */
  created: number;
  files: ImageFileInfo[];
  /** Per package name: the source packages its embedded SBOM (var/lib/db/sbom) names. */
  packageSources: Map<string, { name: string; version: string; purl: string }[]>;
}

const SKELETON_DIRS: Array<[string, number]> = [
  ['tmp', 0o1777],
  ['dev', 0o755],
  ['etc', 0o755],
  ['opt', 0o755],
  ['var', 0o755],
  ['usr', 0o755],
  ['proc', 0o555],
  ['etc/apk', 0o755],
  ['etc/apk/keys', 0o755],
  ['var/cache', 0o755],
  ['var/cache/apk', 0o755],
  ['var/cache/misc', 0o755],
];

const DEVICES: Array<[string, number, number, number]> = [
  ['dev/null', 1, 3, 0o666],
  ['dev/zero', 1, 5, 0o666],
  ['dev/random', 1, 8, 0o666],
  ['dev/urandom', 1, 9, 0o666],
  ['dev/console', 5, 1, 0o620],
];

const CA_BUNDLES = ['etc/ssl/certs/ca-certificates.crt', 'var/lib/ecs/deps/execute-command/certs/tls-ca-bundle.pem', 'kaniko/ssl/certs/ca-certificates.crt', 'etc/ssl/certs/java/cacerts'];

function file(content: string | Uint8Array, mode = 0o644, mtime = 0): FsNode {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return { type: 'file', mode, uid: 0, gid: 0, mtime, content: bytes, sha1: sha1Hex(bytes) };
}

function putFile(tree: FsTree, path: string, node: FsNode): void {
  const slash = path.lastIndexOf('/');
  if (slash > 0) tree.mkdirAll(path.slice(0, slash), { mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  tree.put(path, node);
}

/** Source packages (SPDX purpose SOURCE with a purl) named by each installed package's own SBOM,
 *  as melange and Kiln embed it at var/lib/db/sbom/NAME-VERSION.spdx.json. A missing or
 *  unreadable document simply names none. */
function embeddedSources(tree: FsTree, installed: readonly InstalledPackage[]): Map<string, { name: string; version: string; purl: string }[]> {
  const sources = new Map<string, { name: string; version: string; purl: string }[]>();
  for (const pkg of installed) {
    const { name, version } = pkg.control.pkginfo;
    const body = text(tree.get(`var/lib/db/sbom/${name}-${version}.spdx.json`, true));
    if (!body || body.length > 4 * 1024 * 1024) continue;
    let document: { packages?: { name?: unknown; versionInfo?: unknown; primaryPackagePurpose?: unknown; externalRefs?: { referenceType?: unknown; referenceLocator?: unknown }[] }[] };
    try {
      document = JSON.parse(body) as typeof document;
    } catch {
      continue;
    }
    const found: { name: string; version: string; purl: string }[] = [];
    for (const entry of document.packages ?? []) {
      if (entry.primaryPackagePurpose !== 'SOURCE' || typeof entry.name !== 'string' || typeof entry.versionInfo !== 'string') continue;
      const purl = entry.externalRefs?.find((ref) => ref.referenceType === 'purl' && typeof ref.referenceLocator === 'string')?.referenceLocator;
      if (typeof purl === 'string') found.push({ name: entry.name, version: entry.versionInfo, purl });
    }
    if (found.length > 0) sources.set(name, found);
  }
  return sources;
}

function text(node: FsNode | undefined): string | undefined {
  return node?.type === 'file' && node.content ? Buffer.from(node.content).toString('utf8') : undefined;
}

/** Canonical PEM of exactly one RSA public key, or an IMAGE_KEY_INVALID error naming `name`. */
export function canonicalRsaPublicKey(name: string, pem: string): string {
  const blocks = pem.match(/-----BEGIN PUBLIC KEY-----/g) ?? [];
  if (blocks.length !== 1) throw new ImageError('IMAGE_KEY_INVALID', `key ${name}: expected exactly one PEM PUBLIC KEY block, found ${blocks.length}`, { detail: { key: name } });
  let key;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new ImageError('IMAGE_KEY_INVALID', `key ${name}: not a readable public key`, { cause: error, detail: { key: name } });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new ImageError('IMAGE_KEY_INVALID', `key ${name}: not an RSA key (${key.asymmetricKeyType ?? 'unknown'})`, { detail: { key: name } });
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** Canonical PEM of exactly one X.509 certificate, or an IMAGE_KEY_INVALID error naming `name`. */
function canonicalCertificate(name: string, pem: string): string {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
  if (blocks.length !== 1) throw new ImageError('IMAGE_KEY_INVALID', `certificate ${name}: expected exactly one PEM CERTIFICATE block, found ${blocks.length}`, { detail: { certificate: name } });
  try {
    return new X509Certificate(pem).toString();
  } catch (error) {
    throw new ImageError('IMAGE_KEY_INVALID', `certificate ${name}: not a readable X.509 certificate`, { cause: error, detail: { certificate: name } });
  }
}

/** The OCI runtime config from the configuration (image-config.md §10.1). */
export function runtimeConfig(config: ImageConfig, user: string | undefined, labels: Record<string, string>): RuntimeConfig {
  const env = { ...config.environment };
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin';
  env.SSL_CERT_FILE ??= '/etc/ssl/certs/ca-certificates.crt';
  const entrypoint = config.entrypoint['shell-fragment']
    ? ['/bin/sh', '-c', config.entrypoint['shell-fragment']]
    : config.entrypoint.type === 'service-bundle'
      ? ['/bin/s6-svscan', '/sv']
      : config.entrypoint.command
        ? splitShellWords(config.entrypoint.command)
        : [];
  const out: RuntimeConfig = {
    Env: Object.entries(env)
      .map(([key, value]) => `${key}=${value}`)
      .sort(),
    Labels: labels,
  };
  if (entrypoint.length) out.Entrypoint = entrypoint;
  if (config.cmd) out.Cmd = splitShellWords(config.cmd);
  if (user) out.User = user;
  if (config.volumes.length) out.Volumes = [...config.volumes];
  if (config['work-dir']) out.WorkingDir = config['work-dir'];
  if (config['stop-signal']) out.StopSignal = config['stop-signal'];
  return out;
}

/** RFC 3339 UTC with whole seconds, as apko writes it. */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type Warn = (message: string) => void;

const ROOT_DIR = { mode: 0o755, uid: 0, gid: 0, mtime: 0 } as const;

/** The skeleton directories and devices, the build's keys and apk's configuration files. */
function seedTree(tree: FsTree, input: BuildArchInput): void {
  for (const [path, mode] of SKELETON_DIRS) tree.mkdirAll(path, { mode, uid: 0, gid: 0, mtime: 0 });
  for (const [path, major, minor, mode] of DEVICES) tree.put(path, { type: 'char', mode, uid: 0, gid: 0, mtime: 0, devMajor: major, devMinor: minor });
  for (const key of input.keys) putFile(tree, `etc/apk/keys/${key.name}`, file(key.content));
  putFile(tree, 'etc/apk/arch', file(`${input.arch.apk}\n`));
  putFile(tree, 'etc/apk/world', file(sortedLines(input.world)));
  putFile(tree, 'etc/apk/repositories', file(sortedLines(input.repositories)));
}

/** Streams every package into the tree in install order (the next one is read ahead). */
async function installPackages(tree: FsTree, input: BuildArchInput): Promise<InstalledPackage[]> {
  const owners = new Map<string, PackageOwnership>();
  const installed: InstalledPackage[] = [];
  let done = 0;
  for await (const { pkg, items } of readAhead(input.packages, (pkg) => pkg.open())) {
    input.onProgress?.(done, input.packages.length, `${pkg.name}-${pkg.version}`);
    installed.push(await installPackage(tree, items, owners, pkg.location));
    done++;
  }
  input.onProgress?.(done, input.packages.length, '');
  return installed;
}

/** Where the apk database went and its records by package name (layers re-render it per layer). */
interface ApkDatabase {
  dbDir: string;
  libIsLink: boolean;
  records: Map<string, string>;
}

/** apk's database: a real lib/apk/db (Trivy reads exactly that path) unless /lib links to usr/lib. */
function writeApkDatabase(tree: FsTree, input: BuildArchInput, installed: readonly InstalledPackage[]): ApkDatabase {
  const libIsLink = tree.getExact(['lib'])?.type === 'symlink';
  const dbDir = libIsLink ? 'usr/lib/apk/db' : 'lib/apk/db';
  tree.mkdirAll(dbDir, ROOT_DIR);
  tree.mkdirAll(libIsLink ? 'usr/lib/apk/exec' : 'lib/apk/exec', ROOT_DIR);
  if (!libIsLink && !tree.getExact(['usr', 'lib', 'apk'])) {
    tree.mkdirAll('usr/lib', ROOT_DIR);
    tree.put('usr/lib/apk', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, linkTarget: '../../lib/apk' });
  }
  const tags = new Map(input.packages.map((pkg) => [pkg.name, pkg.repositoryTag]));
  const keepFor = (name: string) => (path: string) => tree.get(path)?.owner === name;
  const records = new Map(installed.map((pkg) => [pkg.control.pkginfo.name, installedRecord(pkg, keepFor(pkg.control.pkginfo.name), tags.get(pkg.control.pkginfo.name))]));
  putFile(tree, `${dbDir}/installed`, file([...records.values()].join('')));
  putFile(tree, `${dbDir}/scripts.tar`, file(scriptsTar(installed, input.buildDate)));
  putFile(tree, `${dbDir}/triggers`, file(triggersFile(installed)));
  putFile(tree, `${dbDir}/lock`, file('', 0o600));
  return { dbDir, libIsLink, records };
}

/** The configured users and groups merged into the packages' passwd/group/shadow, and their home
 *  directories; returns the final passwd entries. */
function writeAccounts(tree: FsTree, config: ImageConfig): ReturnType<typeof parsePasswd> {
  const passwdText = passwdContent(text(tree.get('etc/passwd', true)), config.accounts.users);
  putFile(tree, 'etc/passwd', { ...file(passwdText), ...(tree.get('etc/passwd', true) ? { mode: tree.get('etc/passwd', true)!.mode } : {}) });
  if (config.accounts.groups.length) putFile(tree, 'etc/group', file(groupContent(text(tree.get('etc/group', true)), config.accounts.groups)));
  if (config.accounts.users.length) putFile(tree, 'etc/shadow', file(shadowContent(text(tree.get('etc/shadow', true)), config.accounts.users), 0o640));
  const passwd = parsePasswd(passwdText);
  for (const entry of passwd) {
    if (!entry.home || entry.home === '/dev/null' || tree.get(entry.home, true)) continue;
    const parts = entry.home.split('/').filter(Boolean);
    tree.mkdirAll(parts.slice(0, -1).join('/'), ROOT_DIR);
    const home = tree.mkdirAll(parts.join('/'), { mode: 0o700, uid: entry.uid, gid: entry.gid, mtime: 0 });
    home.uid = entry.uid;
    home.gid = entry.gid;
    home.mode = 0o700;
  }
  return passwd;
}

/** CA certificates from the configuration and from provider packages, appended to every bundle
 *  (image-config.md §6.4; the Java keystore is not updated). */
function writeCertificates(tree: FsTree, certificates: NonNullable<ImageConfig['certificates']>, installed: readonly InstalledPackage[], created: number, warn: Warn): void {
  const collected: string[] = [];
  for (const cert of certificates.additional) {
    const pem = canonicalCertificate(cert.name, cert.content);
    const hex = createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
    putFile(tree, `usr/local/share/ca-certificates/${cert.name}-${hex}.crt`, file(pem, 0o644, created));
    collected.push(pem);
  }
  const providers = new Set(certificates.providers);
  const providing = new Set(
    installed.filter((pkg) => pkg.control.pkginfo.provides.some((provide) => providers.has(provide.split('=')[0]!))).map((pkg) => pkg.control.pkginfo.name),
  );
  const certDir = tree.get('usr/local/share/ca-certificates', true);
  for (const [name, node] of [...(certDir?.children ?? new Map<string, FsNode>())].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!node.owner || !providing.has(node.owner) || !/\.(crt|pem)$/.test(name) || !node.content) continue;
    try {
      collected.push(canonicalCertificate(name, Buffer.from(node.content).toString('utf8')));
    } catch {
      warn(`certificates: /usr/local/share/ca-certificates/${name} from ${node.owner} is not one PEM certificate; skipped`);
    }
  }
  for (const bundle of CA_BUNDLES.filter((path) => path.endsWith('.crt') || path.endsWith('.pem'))) {
    const node = tree.get(bundle, true);
    if (node?.type !== 'file' || !node.content) continue;
    let text = Buffer.from(node.content).toString('utf8');
    if (text && !text.endsWith('\n')) text += '\n';
    const content = Buffer.from(text + collected.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join(''));
    Object.assign(node, { content, sha1: sha1Hex(content), mtime: created });
    delete node.owner;
  }
}

/** A `.NAME.sha256` sidecar beside every CA bundle present. */
function writeBundleChecksums(tree: FsTree, created: number): void {
  for (const bundle of CA_BUNDLES) {
    const node = tree.get(bundle, true);
    if (node?.type !== 'file' || !node.content) continue;
    const slash = bundle.lastIndexOf('/');
    const base = bundle.slice(slash + 1);
    const hex = createHash('sha256').update(node.content).digest('hex');
    putFile(tree, `${bundle.slice(0, slash)}/.${base}.sha256`, file(`${hex}  ${base}\n`, 0o444, created));
  }
}

/** The runtime keyring (never replacing a file a package installed) and the s6 service scripts. */
function writeRuntimeKeysAndServices(tree: FsTree, config: ImageConfig, created: number): void {
  for (const key of config.contents.runtime_keyring) {
    const path = `etc/apk/keys/${key.name}`;
    if (tree.get(path)) throw new ImageError('IMAGE_KEY_INVALID', `runtime key ${key.name}: /${path} already exists`, { detail: { key: key.name } });
    putFile(tree, path, file(canonicalRsaPublicKey(key.name, key.content), 0o644, created));
  }
  for (const [name, command] of Object.entries(config.entrypoint.services).sort(([a], [b]) => (a < b ? -1 : 1))) {
    tree.mkdirAll(`sv/${name}`, { mode: 0o777, uid: 0, gid: 0, mtime: 0 });
    putFile(tree, `sv/${name}/run`, file(`#!/bin/execlineb\n${command}\n`, 0o755));
  }
}

/** busybox applet links from the package's /etc/busybox-paths.d list. */
function linkBusyboxApplets(tree: FsTree, installed: readonly InstalledPackage[], warn: Warn): void {
  const busybox = tree.get('bin/busybox', true);
  if (!busybox) return;
  const pkg = installed.find((candidate) => candidate.control.pkginfo.name === 'busybox' || candidate.control.pkginfo.provides.some((provide) => provide.startsWith('busybox')));
  const list = pkg ? text(tree.get(`etc/busybox-paths.d/${pkg.control.pkginfo.name}`, true)) : undefined;
  if (list === undefined) warn('bin/busybox exists but no /etc/busybox-paths.d list was found; no applet links were made');
  for (const line of (list ?? '').split('\n')) {
    const path = line.trim().replace(/^\/+/, '');
    if (!path || path === 'bin/busybox' || tree.get(path)) continue;
    const dir = path.slice(0, Math.max(0, path.lastIndexOf('/')));
    if (dir) tree.mkdirAll(dir, { mode: 0o755, uid: 0, gid: 0, mtime: busybox.mtime });
    tree.put(path, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: busybox.mtime, linkTarget: '/bin/busybox' });
  }
}

/** The glibc loader cache, only for images that carry /etc/ld.so.conf (as apko does). */
function writeLdSoCache(tree: FsTree, arch: ArchInfo, warn: Warn): void {
  let ldSoConf: FsNode | undefined;
  try {
    ldSoConf = tree.get('etc/ld.so.conf', true);
  } catch {
    ldSoConf = undefined; // a link loop or escape: no usable ld.so.conf, so no cache
  }
  if (ldSoConf?.type !== 'file' && ldSoConf?.type !== 'hardlink') return;
  const cache = buildLdSoCache(tree, arch.apk);
  for (const skipped of cache?.skipped ?? []) warn(`ld.so.cache: ${skipped.path} is a damaged ELF file; left out`);
  if (cache) putFile(tree, 'etc/ld.so.cache', file(cache.content));
}

/** Warns about missing account files and writes a generic os-release when no package ships one,
 *  so that the image and its SBOM still identify themselves. */
function readIdentity(tree: FsTree, warn: Warn): Record<string, string> {
  for (const required of ['etc/passwd', 'etc/group']) if (!tree.get(required, true)) warn(`/${required} is missing from the image`);
  if (!tree.get('etc/os-release', true) && !tree.get('usr/lib/os-release', true)) {
    warn('/etc/os-release is missing from the packages; writing a generic one');
    putFile(tree, 'etc/os-release', file('ID=kiln\nNAME="Kiln image"\nPRETTY_NAME="Kiln image"\n'));
  }
  return parseOsRelease(text(tree.get('etc/os-release', true)) ?? text(tree.get('usr/lib/os-release', true)) ?? '');
}

/** The layer tars: one, or one per planned package group when the config asks for layering. */
async function serializeLayers(tree: FsTree, config: ImageConfig, installed: readonly InstalledPackage[], passwd: ReturnType<typeof parsePasswd>, db: ApkDatabase): Promise<LayerBlob[]> {
  const users = new Map<number, string>();
  for (const entry of passwd) if (!users.has(entry.uid)) users.set(entry.uid, entry.name);
  const groupNames = new Map<number, string>();
  for (const entry of parseGroup(text(tree.get('etc/group', true)) ?? '')) if (!groupNames.has(entry.gid)) groupNames.set(entry.gid, entry.name);
  const groups = config.layering
    ? planLayerGroups(
        installed.map((pkg) => ({
          name: pkg.control.pkginfo.name,
          ...(pkg.control.pkginfo.origin ? { origin: pkg.control.pkginfo.origin } : {}),
          installedSize: pkg.control.pkginfo.installedSize ?? 0,
          replaces: pkg.control.pkginfo.replaces,
        })),
        config.layering.budget,
      )
    : undefined;
  const { builders } = serializeTree(tree, {
    ...(groups ? { groups } : {}),
    users,
    groupNames,
    installedDb: {
      path: `${db.dbDir}/installed`,
      render: (names) => Buffer.from(names.map((name) => db.records.get(name) ?? '').join('')),
      ...(db.libIsLink ? { alias: 'lib/apk/db/installed' } : {}),
    },
  });
  return Promise.all(builders.map((builder) => builder.finish()));
}

/** The image config and manifest over the layers, with apko's history comment. */
function assembleArchImage(input: BuildArchInput, layers: LayerBlob[], created: number, passwd: ReturnType<typeof parsePasswd>): BuiltImage {
  const createdText = rfc3339(created);
  const annotations: Record<string, string> = { ...input.annotations, 'org.opencontainers.image.created': createdText };
  const title = annotations['org.opencontainers.image.title'];
  const vendor = annotations['org.opencontainers.image.vendor'];
  const comment = title && vendor ? `${title} by ${vendor}` : layers.length === 1 ? 'This is a kiln single-layer image' : undefined;
  return assembleImage({
    platform: { architecture: input.arch.architecture, os: 'linux', ...(input.arch.variant ? { variant: input.arch.variant } : {}) },
    layers,
    created: createdText,
    author: 'kiln',
    history: layers.map(() => ({ author: 'kiln', created: createdText, created_by: 'kiln', ...(comment ? { comment } : {}) })),
    runtime: runtimeConfig(input.config, resolveRunAs(input.config.accounts['run-as'], passwd), annotations),
    annotations,
  });
}

/** Every path of the final tree, for SBOMs and reports. */
function listFiles(tree: FsTree): ImageFileInfo[] {
  return [...tree.walk()].map(({ path, node }) => ({
    path: `/${path}`,
    type: node.type,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    size: node.content?.length ?? 0,
    ...(node.linkTarget !== undefined ? { linkTarget: node.linkTarget } : {}),
    ...(node.owner ? { owner: node.owner } : {}),
  }));
}

/** Builds one architecture's image, step by step in the order apko takes them. */
export async function buildArchImage(input: BuildArchInput): Promise<BuildArchResult> {
  const { config } = input;
  const warn = input.warn ?? (() => {});
  const tree = new FsTree();
  seedTree(tree, input);
  const installed = await installPackages(tree, input);
  const newest = Math.max(0, ...installed.map((pkg) => pkg.control.pkginfo.buildDate ?? 0));
  const created = input.buildDateIsFixed ? input.buildDate : Math.max(input.buildDate, newest);
  const db = writeApkDatabase(tree, input, installed);
  const passwd = writeAccounts(tree, config);
  for (const mutation of config.paths) {
    if (mutation.permissions === undefined && mutation.type !== 'symlink') warn(`paths: ${mutation.path} has no permissions; it gets mode 0000 (as apko does)`);
    applyPathMutation(tree, mutation, 0);
  }
  if (config.certificates) writeCertificates(tree, config.certificates, installed, created, warn);
  writeBundleChecksums(tree, created);
  writeRuntimeKeysAndServices(tree, config, created);
  linkBusyboxApplets(tree, installed, warn);
  writeLdSoCache(tree, input.arch, warn);
  const osRelease = readIdentity(tree, warn);
  const layers = await serializeLayers(tree, config, installed, passwd, db);
  const image = assembleArchImage(input, layers, created, passwd);
  return { image, layers, installed, osRelease, created, files: listFiles(tree), packageSources: embeddedSources(tree, installed) };
}
