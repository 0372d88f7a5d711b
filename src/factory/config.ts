// The factory's configuration file (factory.yaml): where Kiln OS lives, where its outputs and the
// factory's state go, what signs, where images are published and where updates come from (Debian's
// Sources, and the upstream feeds of melange `update:` blocks).
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { loadYamlBounded, readInputText } from '../lib/index.ts';
import { FactoryError } from './errors.ts';

const suites = z.array(z.string().regex(/^[a-z0-9][a-z0-9.+-]*$/, 'a suite name such as bookworm-security')).min(1);

const schema = z.strictObject({
  'os-dir': z.string().min(1),
  'out-dir': z.string().min(1),
  'state-dir': z.string().min(1),
  arch: z.string().regex(/^[a-z0-9_]+$/).default('x86_64'),
  'signing-key': z.string().min(1),
  'debian-source-cache': z.string().min(1).optional(),
  registry: z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?(\/[a-z0-9]+(?:[._/-][a-z0-9]+)*)?$/, 'HOST[:PORT][/NAMESPACE], e.g. 127.0.0.1:5000/kiln').optional(),
  'allow-insecure': z.boolean().default(false),
  'cosign-key': z.string().min(1).optional(),
  keyless: z
    .strictObject({
      'fulcio-url': z.string().url().default('https://fulcio.sigstore.dev'),
      'rekor-url': z.string().url().default('https://rekor.sigstore.dev'),
      'identity-token-file': z.string().min(1).optional(),
      'identity-token-env': z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable').default('SIGSTORE_ID_TOKEN'),
      'rekor-entry-type': z.enum(['dsse', 'intoto']).default('dsse'),
      'tlog-upload': z.boolean().default(true),
    })
    .optional(),
  'vuln-db': z.string().min(1).optional(),
  updates: z
    .strictObject({
      debian: z
        .strictObject({
          apt: z.union([z.boolean(), z.strictObject({ mirrors: z.array(z.strictObject({ uri: z.string().url(), suites })).min(1) })]).optional(),
          repositories: z.array(z.strictObject({ url: z.string().min(1), suites, component: z.string().default('main') })).optional(),
        })
        .optional(),
      upstream: z
        .union([
          z.boolean(),
          z.strictObject({
            'release-monitor-url': z.string().url().optional(),
            'github-api-url': z.string().url().optional(),
            'github-token-env': z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable').optional(),
          }),
        ])
        .optional(),
      git: z.strictObject({ commit: z.boolean().default(true), branch: z.string().regex(/^[A-Za-z0-9._/-]+$/).default('kiln-factory/updates') }).optional(),
    })
    .default({}),
  images: z.record(z.string(), z.strictObject({ 'main-package': z.string().min(1).optional(), publish: z.boolean().default(true) })).default({}),
});

/** Where Debian source updates are read from. */
export type DebianUpdateConfig =
  | { kind: 'apt'; mirrors?: { uri: string; suites: string[] }[] }
  | { kind: 'repositories'; repositories: { url: string; suites: string[]; component: string }[] }
  | { kind: 'none' };

/** A parsed factory configuration with every path absolute. */
export interface FactoryConfig {
  file: string;
  osDir: string;
  outDir: string;
  stateDir: string;
  arch: string;
  signingKey: string;
  debianSourceCache?: string;
  /** `HOST[:PORT]/NAMESPACE`; no registry = build only. */
  registry?: string;
  allowInsecure: boolean;
  cosignKey?: string;
  /** Keyless signing through Fulcio (and Rekor): the OIDC token is read from the file (or the
   *  environment variable) each time a certificate is requested, so a rotated token file is followed. */
  keyless?: { fulcioUrl: string; rekorUrl: string; identityTokenFile?: string; identityTokenEnv: string; rekorEntryType: 'dsse' | 'intoto'; tlogUpload: boolean };
  vulnDb?: string;
  debian: DebianUpdateConfig;
  /** Feeds of melange `update:` blocks; `undefined`: those blocks are not checked. The token is the
   *  environment variable's name, read when the run starts (never stored in the file). */
  upstream?: { releaseMonitorUrl?: string; githubApiUrl?: string; githubTokenEnv?: string };
  git: { commit: boolean; branch: string };
  images: Record<string, { mainPackage?: string; publish: boolean }>;
}

/** Parses factory.yaml; paths are relative to the file. FACTORY_CONFIG_INVALID names the file and field. */
export function parseFactoryConfig(text: string, file: string): FactoryConfig {
  const parsed = schema.safeParse(loadYamlBounded(text, file));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
    throw new FactoryError('FACTORY_CONFIG_INVALID', `${file}: ${field || 'document'}: ${issue.message}`, { detail: { file, field } });
  }
  const data = parsed.data;
  if (data['cosign-key'] && data.keyless) throw new FactoryError('FACTORY_CONFIG_INVALID', `${file}: keyless: give cosign-key or keyless, not both`, { detail: { file, field: 'keyless' } });
  const base = dirname(resolve(file));
  const path = (value: string) => (isAbsolute(value) ? value : resolve(base, value));
  const repoUrl = (value: string) => (/^[a-z]+:\/\//.test(value) ? value : `file://${path(value)}`);
  const debianConfig = data.updates.debian;
  let debian: DebianUpdateConfig;
  if (debianConfig?.repositories && debianConfig.apt) {
    throw new FactoryError('FACTORY_CONFIG_INVALID', `${file}: updates.debian: give apt or repositories, not both`, { detail: { file, field: 'updates.debian' } });
  } else if (debianConfig?.repositories) {
    debian = { kind: 'repositories', repositories: debianConfig.repositories.map((repo) => ({ ...repo, url: repoUrl(repo.url).replace(/\/+$/, '') })) };
  } else if (debianConfig?.apt === false) {
    debian = { kind: 'none' };
  } else {
    debian = { kind: 'apt', ...(typeof debianConfig?.apt === 'object' ? { mirrors: debianConfig.apt.mirrors } : {}) };
  }
  const upstreamConfig = data.updates.upstream ?? true;
  const upstream =
    upstreamConfig === false
      ? undefined
      : upstreamConfig === true
        ? {}
        : {
            ...(upstreamConfig['release-monitor-url'] ? { releaseMonitorUrl: upstreamConfig['release-monitor-url'].replace(/\/+$/, '') } : {}),
            ...(upstreamConfig['github-api-url'] ? { githubApiUrl: upstreamConfig['github-api-url'].replace(/\/+$/, '') } : {}),
            ...(upstreamConfig['github-token-env'] ? { githubTokenEnv: upstreamConfig['github-token-env'] } : {}),
          };
  return {
    file: resolve(file),
    osDir: path(data['os-dir']),
    outDir: path(data['out-dir']),
    stateDir: path(data['state-dir']),
    arch: data.arch,
    signingKey: path(data['signing-key']),
    ...(data['debian-source-cache'] ? { debianSourceCache: path(data['debian-source-cache']) } : {}),
    ...(data.registry ? { registry: data.registry } : {}),
    allowInsecure: data['allow-insecure'],
    ...(data['cosign-key'] ? { cosignKey: path(data['cosign-key']) } : {}),
    ...(data.keyless
      ? {
          keyless: {
            fulcioUrl: data.keyless['fulcio-url'],
            rekorUrl: data.keyless['rekor-url'],
            ...(data.keyless['identity-token-file'] ? { identityTokenFile: path(data.keyless['identity-token-file']) } : {}),
            identityTokenEnv: data.keyless['identity-token-env'],
            rekorEntryType: data.keyless['rekor-entry-type'],
            tlogUpload: data.keyless['tlog-upload'],
          },
        }
      : {}),
    ...(data['vuln-db'] ? { vulnDb: path(data['vuln-db']) } : {}),
    debian,
    ...(upstream ? { upstream } : {}),
    git: { commit: data.updates.git?.commit ?? true, branch: data.updates.git?.branch ?? 'kiln-factory/updates' },
    images: Object.fromEntries(Object.entries(data.images).map(([name, image]) => [name, { publish: image.publish, ...(image['main-package'] ? { mainPackage: image['main-package'] } : {}) }])),
  };
}

/** Reads and parses a factory configuration file. */
export async function loadFactoryConfig(path: string): Promise<FactoryConfig> {
  return parseFactoryConfig(await readInputText(path, { what: 'factory configuration' }), path);
}
