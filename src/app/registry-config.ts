import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { DURATION_FORMS, isKilnError, loadYamlBounded, parseDurationMs, readInputText } from '../lib/index.ts';
import { RegistryError } from '../registry/index.ts';

/** A duration in seconds: a whole number of seconds, or text like `90s`, `15m`, `1h`, `7d`. */
const seconds = z.union([z.number().int().nonnegative(), z.string()]).transform((value, context) => {
  if (typeof value === 'number') return value;
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    context.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not ${DURATION_FORMS}` });
    return z.NEVER;
  }
  return ms / 1000;
});

/** An S3-compatible bucket (AWS S3, MinIO, Ceph RGW …). Credentials: the two keys here, else the AWS
 *  SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles). */
const s3Settings = z.strictObject({
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 characters: a-z, 0-9, dots and hyphens)'),
  prefix: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'must be empty or path segments each ending in "/" (e.g. registry/)')
    .default(''),
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  region: z.string().min(1).default('us-east-1'),
  forcePathStyle: z.boolean().optional(),
  accessKeyId: z.string().min(1).optional(),
  secretAccessKey: z.string().min(1).optional(),
  partSize: z
    .number()
    .int()
    .min(5 * 1024 * 1024, 'must be at least 5 MiB (5242880), the smallest multipart part S3 accepts')
    .max(5 * 1024 * 1024 * 1024)
    .default(8 * 1024 * 1024),
  conditionalWrites: z.boolean().default(true),
  publicEndpoint: z.url({ protocol: /^https?$/ }).optional(),
}).refine((s3) => (s3.accessKeyId === undefined) === (s3.secretAccessKey === undefined), { message: 'accessKeyId and secretAccessKey go together', path: ['secretAccessKey'] });

const accessRule = z.strictObject({
  repository: z.string().min(1),
  public: z.boolean().default(false),
  pull: z.array(z.string()).default([]),
  push: z.array(z.string()).default([]),
  delete: z.array(z.string()).default([]),
});

const tagGlobs = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((value) => (typeof value === 'string' ? [value] : value));

/** `tags.immutable[]`: tags matching `tags` in repositories matching `repository` are created once and
 *  never moved or deleted. */
const immutableRule = z.strictObject({
  name: z.string().min(1).optional(),
  repository: z.string().min(1),
  tags: tagGlobs,
});

/** `gc.retention[]`: what garbage collection keeps of the repositories matching `repository`. */
const retentionRule = z
  .strictObject({
    repository: z.string().min(1),
    keepLast: z.number().int().nonnegative().optional(),
    keepTags: tagGlobs.optional(),
    untaggedAfter: seconds.optional(),
  })
  .refine((rule) => rule.keepLast !== undefined || rule.keepTags !== undefined || rule.untaggedAfter !== undefined, { message: 'a retention policy needs keepLast, keepTags or untaggedAfter' });

/** `events.webhooks[]`: a receiver of signed CloudEvents. */
const webhook = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, hyphens or underscores'),
    url: z.url({ protocol: /^https?$/ }),
    secret: z.string().min(16, 'must be at least 16 characters').optional(),
    secretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    actions: z.array(z.enum(['push', 'delete', 'pull'])).min(1).default(['push', 'delete']),
    repositories: z.array(z.string().min(1)).min(1).default(['**']),
    timeout: seconds.default(10).refine((value) => value > 0, 'must be more than 0 seconds'),
    maxAttempts: z.number().int().min(1).max(100).default(8),
    backoff: seconds.default(1).refine((value) => value > 0, 'must be more than 0 seconds'),
    maxBackoff: seconds.default(300),
  })
  .refine((hook) => (hook.secret === undefined) !== (hook.secretEnv === undefined), { message: 'give exactly one of secret and secretEnv', path: ['secret'] });

/** `proxy[]`: local repositories matching `repository` are a pull-through cache of `upstream`. */
const proxyRule = z
  .strictObject({
    repository: z.string().min(1),
    upstream: z.url({ protocol: /^https?$/ }),
    stripPrefix: z.string().default(''),
    addPrefix: z.string().default(''),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    revalidateAfter: seconds.default(300),
    /** Seconds the upstream may stay silent (no headers, or no bytes of a body) before the pull gives up. */
    timeout: seconds.default(30),
  })
  .refine((rule) => !(rule.password !== undefined && rule.passwordEnv !== undefined), { message: 'give at most one of password and passwordEnv', path: ['password'] })
  .refine((rule) => (rule.username === undefined) === (rule.password === undefined && rule.passwordEnv === undefined), { message: 'username and a password (password or passwordEnv) go together', path: ['username'] });

/** The registry config file (YAML); docs/registry.md is its reference. Every key is optional. */
export const registryConfigSchema = z.strictObject({
  addr: z.string().default('127.0.0.1:5000'),
  dataDir: z.string().optional(),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info') }).prefault({}),
  storage: z
    .strictObject({
      driver: z.enum(['filesystem', 's3']).default('filesystem'),
      filesystem: z.strictObject({ root: z.string().optional() }).prefault({}),
      s3: s3Settings.optional(),
      /** How blob GETs are answered on S3: streamed by the registry (`proxy`) or by a 307 to a
       *  pre-signed URL (`redirect`) valid `expiresIn`. HEAD always stays on the registry. */
      redirect: z
        .strictObject({
          mode: z.enum(['proxy', 'redirect']).default('proxy'),
          expiresIn: seconds.default(1200).refine((value) => value >= 1 && value <= 7 * 24 * 3600, 'must be between 1 second and 7 days'),
        })
        .prefault({}),
      delete: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
    })
    .prefault({})
    .superRefine((storage, context) => {
      if (storage.driver === 's3' && !storage.s3) context.addIssue({ code: 'custom', path: ['s3'], message: 'storage.driver is s3, so storage.s3 (with at least bucket) is required' });
      if (storage.redirect.mode === 'redirect' && storage.driver !== 's3') context.addIssue({ code: 'custom', path: ['redirect', 'mode'], message: 'redirect needs storage.driver s3 (the filesystem driver has no URLs to redirect to)' });
    }),
  metadata: z
    .strictObject({
      driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
      sqlite: z.strictObject({ path: z.string().optional(), synchronous: z.enum(['full', 'normal']).default('full') }).prefault({}),
      postgres: z
        .strictObject({
          /** `postgres://user@host:port/database`; the password may come from PGPASSWORD instead. */
          url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
          maxConnections: z.number().int().positive().default(10),
        })
        .optional(),
    })
    .prefault({})
    .superRefine((metadata, context) => {
      if (metadata.driver === 'postgres' && !metadata.postgres) context.addIssue({ code: 'custom', path: ['postgres'], message: 'metadata.driver is postgres, so metadata.postgres.url is required' });
    }),
  http: z
    .strictObject({
      tls: z.strictObject({ certificate: z.string(), key: z.string() }).optional(),
      trustProxy: z.boolean().default(false),
      maxManifestBytes: z.number().int().positive().default(4 * 1024 * 1024),
      maxNameLength: z.number().int().positive().default(255),
      maxPageSize: z.number().int().positive().default(1000),
      /** Announced as OCI-Chunk-Min-Length; default 5 MiB on S3 (the smallest multipart part), none on the filesystem. */
      chunkMinLength: z.number().int().nonnegative().optional(),
      shutdownTimeout: seconds.default(30),
      rateLimit: z.strictObject({ requestsPerSecond: z.number().nonnegative().default(0), burst: z.number().int().positive().default(200) }).prefault({}),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      anonymous: z.boolean().optional(),
      users: z.array(z.string().min(1)).default(['*']),
    })
    .prefault({}),
  auth: z
    .strictObject({
      htpasswd: z.string().optional(),
      token: z
        .strictObject({
          realm: z.string().optional(),
          service: z.string().default('kiln-registry'),
          issuer: z.string().default('kiln-registry'),
          key: z.string().optional(),
          expiresIn: seconds.default(300).refine((value) => value >= 60, 'must be at least 60 seconds'),
        })
        .optional(),
      access: z.array(accessRule).default([]),
    })
    .prefault({}),
  tags: z.strictObject({ immutable: z.array(immutableRule).default([]) }).prefault({}),
  proxy: z.array(proxyRule).default([]),
  events: z
    .strictObject({
      webhooks: z.array(webhook).default([]),
      deadLetter: z.string().optional(),
    })
    .prefault({}),
  gc: z
    .strictObject({
      retention: z.array(retentionRule).default([]),
      online: z.boolean().default(false),
      interval: seconds.default(3600).refine((value) => value > 0, 'must be more than 0 seconds'),
      gracePeriod: seconds.default(3600),
      deleteUntagged: z.boolean().default(true),
      uploadExpiry: seconds.default(7 * 24 * 3600),
    })
    .prefault({}),
});

/** A parsed, defaulted config with every path resolved. */
export type RegistryConfig = Omit<z.infer<typeof registryConfigSchema>, 'events'> & {
  dataDir: string;
  configFile?: string;
  /** Webhooks with their secrets resolved, and the dead-letter log's path. */
  events: { webhooks: (z.infer<typeof webhook> & { secret: string })[]; deadLetter: string };
};

/** Default data directory: $KILN_REGISTRY_DATA, else $XDG_DATA_HOME/kiln/registry, else ~/.local/share/kiln/registry. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  if (env.KILN_REGISTRY_DATA) return env.KILN_REGISTRY_DATA;
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'kiln', 'registry');
}

/** Loads the config: the file given, else `<data dir>/config.yaml` if present, else embedded defaults;
 *  flags override file values. Errors name the file and the key at fault. */
export async function loadRegistryConfig(options: { file?: string; addr?: string; dataDir?: string; cwd: string; env: NodeJS.ProcessEnv }): Promise<RegistryConfig> {
  let file = options.file ? resolve(options.cwd, options.file) : undefined;
  let text: string | undefined;
  if (file) {
    text = await readInputText(file, { what: 'registry config' }).catch((error: unknown) => {
      throw new RegistryError('CONFIG_INVALID', (error as Error).message, { cause: error, detail: { file } });
    });
  } else {
    const dataDir = options.dataDir ? resolve(options.cwd, options.dataDir) : defaultDataDir(options.env);
    const candidate = join(dataDir, 'config.yaml');
    text = await readInputText(candidate, { what: 'registry config' }).catch((error: unknown) => {
      // Absent is normal (embedded defaults); present but unreadable is the operator's to fix.
      if (isKilnError(error) && error.detail.errno === 'ENOENT') return undefined;
      throw new RegistryError('CONFIG_INVALID', (error as Error).message, { cause: error, detail: { file: candidate } });
    });
    if (text !== undefined) file = candidate;
  }
  let raw: unknown = {};
  if (text !== undefined) {
    try {
      raw = loadYamlBounded(text, file!) ?? {};
    } catch (error) {
      throw new RegistryError('CONFIG_INVALID', (error as Error).message, { cause: error, detail: { file } });
    }
  }
  const parsed = registryConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RegistryError('CONFIG_INVALID', `${file ?? 'config'}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, { detail: { file, key: issue.path.join('.') } });
  }
  const config = parsed.data;
  const base = file ? join(file, '..') : options.cwd;
  const dataDir = options.dataDir ? resolve(options.cwd, options.dataDir) : config.dataDir ? resolve(base, config.dataDir) : defaultDataDir(options.env);
  const at = (path: string | undefined) => (path === undefined ? undefined : isAbsolute(path) ? path : resolve(base, path));
  // The outbox names each pending delivery by webhook name: two webhooks of one name would share it.
  const named = new Map<string, number>();
  for (const [index, hook] of config.events.webhooks.entries()) {
    const first = named.get(hook.name);
    if (first !== undefined) throw new RegistryError('CONFIG_INVALID', `${file ?? 'config'}: events.webhooks.${index}.name: ${JSON.stringify(hook.name)} is already the name of events.webhooks.${first}`, { detail: { file, key: `events.webhooks.${index}.name` } });
    named.set(hook.name, index);
  }
  const webhooks = config.events.webhooks.map((hook, index) => {
    const secret = hook.secret ?? options.env[hook.secretEnv!];
    if (!secret || secret.length < 16) {
      throw new RegistryError('CONFIG_INVALID', `${file ?? 'config'}: events.webhooks.${index}.secretEnv: $${hook.secretEnv} is not set to a secret of at least 16 characters`, { detail: { file, key: `events.webhooks.${index}.secretEnv` } });
    }
    return { ...hook, secret };
  });
  const proxy = config.proxy.map((rule, index) => {
    if (rule.passwordEnv === undefined) return rule;
    const password = options.env[rule.passwordEnv];
    if (!password) throw new RegistryError('CONFIG_INVALID', `${file ?? 'config'}: proxy.${index}.passwordEnv: $${rule.passwordEnv} is not set`, { detail: { file, key: `proxy.${index}.passwordEnv` } });
    return { ...rule, password };
  });
  return {
    ...config,
    ...(file ? { configFile: file } : {}),
    addr: options.addr ?? config.addr,
    dataDir,
    storage: { ...config.storage, filesystem: { root: at(config.storage.filesystem.root) ?? join(dataDir, 'storage') } },
    metadata: { ...config.metadata, sqlite: { path: at(config.metadata.sqlite.path) ?? join(dataDir, 'metadata.db'), synchronous: config.metadata.sqlite.synchronous } },
    proxy,
    events: { webhooks, deadLetter: at(config.events.deadLetter) ?? join(dataDir, 'events-dead-letter.jsonl') },
    http: { ...config.http, ...(config.http.tls ? { tls: { certificate: at(config.http.tls.certificate)!, key: at(config.http.tls.key)! } } : {}) },
    auth: {
      ...config.auth,
      ...(config.auth.htpasswd ? { htpasswd: at(config.auth.htpasswd)! } : {}),
      ...(config.auth.token ? { token: { ...config.auth.token, ...(config.auth.token.key ? { key: at(config.auth.token.key)! } : {}) } } : {}),
    },
  };
}

/** Splits `host:port` / `[v6]:port` / `:port`. */
export function parseAddr(addr: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new RegistryError('CONFIG_INVALID', `--addr ${JSON.stringify(addr)}: expected HOST:PORT`, { detail: { addr } });
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}
