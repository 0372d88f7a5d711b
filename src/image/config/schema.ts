import { z } from 'zod';

// The one source of truth for the shape of an apko image configuration (image-config.md §2). It
// validates the document as written (before include-merging and normalisation) and is exported as
// the published JSON Schema (schemas/image-config.schema.json). Numbers may be written as Go integer
// literals (`0o755`, `0755`, `0x1ed`) because apko parses them with Go's base-0 rules; the loader
// converts them. Every optional field also accepts null, which means absent (locked configs spell
// every key out with null or empty values).

/** A Go base-0 integer literal: decimal, 0x hex, 0o/leading-0 octal, 0b binary, `_` separators. */
export const GO_INTEGER = /^[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[1-9][0-9_]*|0)$/;

const integer = (description: string) =>
  z.union([z.number().int(), z.string().regex(GO_INTEGER, 'expected an integer (decimal, 0o octal, 0x hex)')]).nullish().meta({ description });
const text = (description: string) => z.string().nullish().meta({ description });
const textList = (description: string) => z.array(z.string()).nullish().meta({ description });
const textMap = (description: string) => z.record(z.string(), z.string()).nullish().meta({ description });

const namedContent = z.strictObject({
  name: z.string().meta({ description: 'file name' }),
  content: z.string().meta({ description: 'PEM text' }),
});

const contents = z
  .strictObject({
    repositories: textList('repositories used to resolve packages and written to /etc/apk/repositories; `URL-or-path` or `@tag URL-or-path`'),
    build_repositories: textList('repositories used only while building; never written into the image'),
    runtime_repositories: textList('repositories written into the image only; never used to resolve'),
    keyring: textList('public keys (file path or http(s) URL) that verify repository indexes; copied to /etc/apk/keys'),
    runtime_keyring: z.array(namedContent).nullish().meta({ description: 'inline RSA public keys written to /etc/apk/keys/<name> after installation' }),
    packages: textList('the world: apk package specs (name, name=version, name>=version, name@tag …)'),
    baseimage: z
      .strictObject({ image: text('local OCI layout to build on'), apkindex: text('APKINDEX describing the base image packages') })
      .nullish()
      .meta({ description: 'experimental: build on top of a base image' }),
  })
  .nullish()
  .meta({ description: 'package sources and package list' });

const entrypoint = z
  .strictObject({
    command: text('OCI Entrypoint, split into words like a shell'),
    'shell-fragment': text('if set, Entrypoint is ["/bin/sh","-c",fragment]'),
    type: text('`service-bundle` runs /bin/s6-svscan /sv and adds package s6'),
    services: textMap('service name → command; written to /sv/<name>/run'),
  })
  .nullish()
  .meta({ description: 'the OCI Entrypoint' });

const user = z.strictObject({
  username: text('user name (required)'),
  uid: integer('numeric user id (required, non-zero; root is expressed with run-as: 0)'),
  gid: integer('primary group id (default: uid)'),
  shell: text('login shell (default /bin/sh)'),
  homedir: text('home directory (default /home/<username>)'),
});

const group = z.strictObject({
  groupname: text('group name (required)'),
  gid: integer('numeric group id'),
  members: textList('user names in the group'),
});

const accounts = z
  .strictObject({
    users: z.array(user).nullish().meta({ description: 'users appended to /etc/passwd' }),
    groups: z.array(group).nullish().meta({ description: 'groups appended to /etc/group' }),
    'run-as': z.union([z.string(), z.number().int()]).nullish().meta({ description: 'user name or uid for the OCI User' }),
  })
  .nullish()
  .meta({ description: 'users, groups and the user the image runs as' });

const pathMutation = z.strictObject({
  path: z.string().meta({ description: 'absolute path in the image' }),
  type: z.enum(['directory', 'empty-file', 'hardlink', 'symlink', 'permissions']).meta({ description: 'what to do' }),
  uid: integer('owner uid (chown only if uid or gid is given)'),
  gid: integer('owner gid'),
  permissions: integer('mode as an octal integer, e.g. 0o755; may include setuid/setgid/sticky'),
  source: text('link target (hardlink, symlink)'),
  recursive: z.boolean().nullish().meta({ description: 'apply mode and owner to everything below (directory, permissions)' }),
});

const layering = z
  .strictObject({
    strategy: z.enum(['origin']).nullish().meta({ description: 'only `origin`' }),
    budget: integer('maximum number of package layers'),
  })
  .nullish()
  .meta({ description: 'split packages into layers by origin' });

const certificates = z
  .strictObject({
    additional: z.array(namedContent).nullish().meta({ description: 'extra CA certificates (PEM)' }),
    providers: textList('virtual package names whose packages contribute CA certificates'),
  })
  .nullish()
  .meta({ description: 'CA certificates added to the image bundles' });

/** The image configuration document as written (one file, before includes are merged). */
export const imageConfigSchema = z
  .strictObject({
    contents,
    entrypoint,
    cmd: text('OCI Cmd, split into words like a shell'),
    'work-dir': text('OCI WorkingDir'),
    'stop-signal': text('OCI StopSignal, e.g. SIGQUIT'),
    accounts,
    environment: textMap('OCI Env; PATH and SSL_CERT_FILE get defaults'),
    paths: z.array(pathMutation).nullish().meta({ description: 'filesystem mutations applied after installation, in order' }),
    archs: textList('target architectures: 386 amd64 arm/v6 arm/v7 arm64 loong64 ppc64le riscv64 s390x or their apk names'),
    annotations: textMap('OCI annotations (manifest, index) and config labels'),
    volumes: textList('OCI Volumes'),
    'vcs-url': text('url@commit of the configuration source'),
    include: text('another configuration merged under this one (deprecated)'),
    layering,
    format: z.enum(['tar', 'erofs']).or(z.literal('')).nullish().meta({ description: 'layer format; only tar is built' }),
    certificates,
  })
  .meta({ title: 'Kiln / apko image configuration', description: 'apko-compatible image configuration accepted by `kiln image build`' });

/** The raw document type (as validated). */
export type RawImageConfig = z.infer<typeof imageConfigSchema>;

/** JSON Schema (draft 2020-12) of the configuration, for editors. */
export function imageConfigJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(imageConfigSchema, { io: 'input' }), $id: 'https://kiln.dev/schemas/image-config.schema.json' };
}
