// Flags and helpers shared by the trust commands (sign, verify, attest, verify-attestation,
// download, tree, policy verify): registry client from the Docker config, cosign's environment
// variables, key loading and password input.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { KeyObject } from 'node:crypto';
import { KilnError, parseJsonBounded } from '../../lib/index.ts';
import { parseImageReference } from '../../oci/index.ts';
import type { ImageReference } from '../../oci/index.ts';
import { RegistryClient, dockerConfigCredentials } from '../../registry-client/index.ts';
import type { RepositoryRef } from '../../registry-client/index.ts';
import { SignError, decryptPrivateKey, fromPem, keySigner, keylessSigner, loadPlainPrivateKey, loadPublicKey, rekorWitnesses, trustMaterialFromTrustedRoot } from '../../sign/index.ts';
import type { ImageSigner, SignatureFormat, TrustPolicy } from '../../sign/index.ts';
import type { Witness } from '@sigstore/sign';
import type { TrustMaterial } from '@sigstore/verify';
import type { CliContext } from '../context.ts';

/** Flags every registry-touching trust command takes. */
export interface RegistryFlags {
  allowInsecureRegistry?: boolean;
}

export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** A positional argument that an optional-value boolean flag consumed (`--flag IMAGE`). */
class SwallowedArgument {
  constructor(readonly value: string) {}
}

/** cosign-style booleans: `--flag`, `--flag=true`, `--flag=false` (pflag never takes the next
 *  word as the value). Commander does, so a non-boolean value is kept as a positional argument and
 *  given back by {@link positionals}. */
export function parseBool(_flag: string): (value: string | undefined) => boolean {
  return ((value: string | undefined) => {
    if (value === undefined || value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return new SwallowedArgument(value);
  }) as (value: string | undefined) => boolean;
}

/** The boolean value of a {@link parseBool} flag. */
export function boolFlag(value: unknown): boolean | undefined {
  return value instanceof SwallowedArgument ? true : (value as boolean | undefined);
}

/** Positional arguments plus any a boolean flag swallowed; at least one is required. */
export function positionals(args: string[], flags: object, what = 'image'): string[] {
  const swallowed = Object.values(flags).filter((value): value is SwallowedArgument => value instanceof SwallowedArgument).map((value) => value.value);
  const all = [...swallowed, ...args];
  if (!all.length) throw new KilnError('USAGE', `missing required argument: ${what}`);
  return all;
}

export function addRegistryOptions(command: Command): Command {
  return command.option('--allow-insecure-registry', 'allow plain HTTP to registries that are not on loopback (loopback always uses HTTP)');
}

/** A registry client with Docker credentials (`DOCKER_CONFIG` or ~/.docker/config.json). */
export function openClient(flags: RegistryFlags, context: CliContext): RegistryClient {
  return new RegistryClient({ credentials: dockerConfigCredentials(context.env), allowInsecure: Boolean(flags.allowInsecureRegistry), userAgent: 'kiln' });
}

/** Parses an image argument, turning a bad reference into a usage error. */
export function imageArgument(value: string): ImageReference {
  try {
    return parseImageReference(value);
  } catch (error) {
    throw new KilnError('USAGE', (error as Error).message, { cause: error });
  }
}

/** `COSIGN_REPOSITORY=<registry/repo>`: where signatures and attestations are stored. */
export function signatureRepository(context: CliContext): RepositoryRef | undefined {
  const value = context.env.COSIGN_REPOSITORY;
  if (!value) return undefined;
  const parsed = imageArgument(value);
  return { registry: parsed.registry, repository: parsed.repository };
}

/** `-a key=value` pairs. */
export function parseAnnotations(values: string[] | undefined): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  const result: Record<string, string> = {};
  for (const entry of values) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new KilnError('USAGE', `-a ${JSON.stringify(entry)}: expected key=value`);
    result[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return result;
}

/** The password for a cosign key: `COSIGN_PASSWORD` when set (even empty), else a prompt when
 *  stdin and stderr are terminals, else PASSWORD_REQUIRED. `confirm` asks twice. */
export async function readPassword(context: CliContext, what: string, confirm = false): Promise<string> {
  const fromEnv = context.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!context.isTTY || !process.stdin.isTTY) {
    throw new SignError('PASSWORD_REQUIRED', `${what}: set COSIGN_PASSWORD or run on a terminal to be prompted`, {});
  }
  const first = await prompt(context, `Enter password for ${what}: `);
  if (confirm) {
    const second = await prompt(context, `Enter password for ${what} again: `);
    if (first !== second) throw new KilnError('USAGE', 'passwords do not match');
  }
  return first;
}

/** Asks on the terminal without echoing what is typed (passwords). */
export async function prompt(context: CliContext, question: string): Promise<string> {
  context.stderr(question);
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolvePassword) => rl.question('', resolvePassword));
  } finally {
    rl.close();
    context.stderr('\n');
  }
}

async function readKeyFile(path: string, context: CliContext): Promise<string> {
  try {
    return await readFile(resolve(context.cwd, path), 'utf8');
  } catch (error) {
    throw new SignError('KEY_INVALID', `${path}: cannot read key file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error, detail: { path } });
  }
}

/** Loads a signing key: a cosign encrypted key (password from COSIGN_PASSWORD/prompt) or, as
 *  cosign accepts for imported keys, an unencrypted PEM private key. */
export async function loadSigningKey(path: string, context: CliContext): Promise<KeyObject> {
  const text = await readKeyFile(path, context);
  const { label } = fromPem(text, path);
  if (label.startsWith('ENCRYPTED ') && label.endsWith(' PRIVATE KEY') && label !== 'ENCRYPTED PRIVATE KEY') {
    return decryptPrivateKey(text, await readPassword(context, path), path);
  }
  return loadPlainPrivateKey(text, path);
}

/** Loads one or more verification keys; a file may hold several PEM public keys (key rotation). */
export async function loadVerificationKeys(paths: string[], context: CliContext): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  for (const path of paths) {
    const text = await readKeyFile(path, context);
    const blocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
    if (!blocks.length) throw new SignError('KEY_INVALID', `${path}: no PEM public key found`, { detail: { path } });
    for (const block of blocks) keys.push(loadPublicKey(block, path));
  }
  return keys;
}

/** Options for keyless verification (cosign spellings). */
export function addIdentityOptions(command: Command): Command {
  return command
    .addOption(new Option('--key <PATH>', 'public key file (cosign.pub); may hold several keys; repeatable').argParser(collect))
    .option('--certificate-identity <SAN>', 'keyless: the signing certificate\'s identity (email or URI) must equal this')
    .option('--certificate-identity-regexp <RE>', 'keyless: the identity must match this regular expression')
    .option('--certificate-oidc-issuer <URL>', 'keyless: the OIDC issuer in the certificate must equal this')
    .option('--certificate-oidc-issuer-regexp <RE>', 'keyless: the issuer must match this regular expression')
    .option('--trusted-root <FILE>', 'Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys): required for keyless; with --key, log entries in bundles are checked against its Rekor keys')
    .addOption(new Option('--insecure-ignore-tlog [BOOL]', 'keyless: do not require a transparency-log entry (the certificate is then checked at the current time); --key never requires one').argParser(parseBool('--insecure-ignore-tlog')))
    .addOption(new Option('--insecure-ignore-sct [BOOL]', 'do not require a certificate transparency SCT').argParser(parseBool('--insecure-ignore-sct')));
}

/** Flags of {@link addIdentityOptions}. */
export interface IdentityFlags {
  key?: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  trustedRoot?: string;
  insecureIgnoreTlog?: boolean;
  insecureIgnoreSct?: boolean;
}

function regexp(flag: string, value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (error) {
    throw new KilnError('USAGE', `${flag}: invalid regular expression ${JSON.stringify(value)}`, { cause: error });
  }
}

/** The trust policy from --key / --certificate-* flags (cosign's rules: keyless needs both an
 *  identity and an issuer, and a trusted root). */
export async function trustPolicyFromFlags(flags: IdentityFlags, context: CliContext): Promise<TrustPolicy> {
  const policy: TrustPolicy = {};
  if (flags.key?.length) policy.keys = await loadVerificationKeys(flags.key, context);
  const identity = flags.certificateIdentity ?? (flags.certificateIdentityRegexp ? regexp('--certificate-identity-regexp', flags.certificateIdentityRegexp) : undefined);
  const issuer = flags.certificateOidcIssuer ?? (flags.certificateOidcIssuerRegexp ? regexp('--certificate-oidc-issuer-regexp', flags.certificateOidcIssuerRegexp) : undefined);
  let trust: TrustMaterial | undefined;
  if (flags.trustedRoot) {
    let json: unknown;
    try {
      json = parseJsonBounded(await readFile(resolve(context.cwd, flags.trustedRoot), 'utf8'), flags.trustedRoot);
    } catch (error) {
      throw new SignError('TRUST_ROOT_INVALID', `${flags.trustedRoot}: cannot read trusted root JSON`, { cause: error, detail: { path: flags.trustedRoot } });
    }
    trust = trustMaterialFromTrustedRoot(json, flags.trustedRoot);
    // Key-signed bundles that went to a transparency log have their entries checked against it.
    policy.logs = trust.tlogs;
  }
  if (identity !== undefined || issuer !== undefined) {
    if (identity === undefined || issuer === undefined) {
      throw new KilnError('USAGE', 'keyless verification needs both --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]');
    }
    if (!trust) throw new KilnError('USAGE', 'keyless verification needs --trusted-root FILE (the Sigstore trusted root of the Fulcio/Rekor that issued the certificates)');
    policy.keyless = {
      trust,
      identity,
      issuer,
      tlogThreshold: boolFlag(flags.insecureIgnoreTlog) ? 0 : 1,
      ctlogThreshold: boolFlag(flags.insecureIgnoreSct) ? 0 : 1,
    };
  }
  if (!policy.keys && !policy.keyless) throw new KilnError('USAGE', 'give --key PATH, or --certificate-identity and --certificate-oidc-issuer (keyless)');
  return policy;
}

/** Flags that choose how `kiln sign` and `kiln attest` sign: a key, or keyless through Fulcio/Rekor. */
export interface SignerFlags {
  key?: string;
  tlogUpload?: boolean;
  newBundleFormat?: boolean;
  fulcioUrl?: string;
  rekorUrl?: string;
  identityToken?: string;
  rekorEntryType?: string;
}

/** Adds the signing flags `kiln sign` and `kiln attest` share (cosign's names); `--key` is added by
 *  each command, whose help says what the key signs. */
export function addSignerOptions(command: Command, stored: string): Command {
  return command
    .addOption(new Option('--tlog-upload [BOOL]', 'upload to the transparency log (keyless, or with --rekor-url); --tlog-upload=false to skip').argParser(parseBool('--tlog-upload')).default(true))
    .addOption(new Option('--new-bundle-format [BOOL]', `true: store only a Sigstore bundle referrer; false: only the ${stored} tag; unset: ${stored} tag plus a bundle where the referrers API exists`).argParser(parseBool('--new-bundle-format')))
    .option('--fulcio-url <URL>', 'keyless: Fulcio server', 'https://fulcio.sigstore.dev')
    .option('--rekor-url <URL>', 'Rekor server for the transparency-log entry (default for keyless: https://rekor.sigstore.dev)')
    .addOption(new Option('--rekor-entry-type <KIND>', 'Rekor entry kind for the signed envelope').choices(['dsse', 'intoto']).default('dsse'))
    .option('--identity-token <TOKEN>', 'keyless: OIDC identity token (default: $SIGSTORE_ID_TOKEN)')
    .option('-y, --yes', 'do not prompt for confirmation (accepted for cosign compatibility)');
}

/** The signer, transparency-log witnesses and storage format the signing flags ask for. `what` names
 *  the operation in errors; `keylessLegacy` says whether keyless output may use the legacy tag form. */
export async function signerFromFlags(
  flags: SignerFlags,
  context: CliContext,
  options: { what: string; keylessLegacy: boolean },
): Promise<{ signer: ImageSigner; witnesses: Witness[]; format: SignatureFormat }> {
  const bundleFlag = boolFlag(flags.newBundleFormat);
  let format: SignatureFormat = bundleFlag === undefined ? 'auto' : bundleFlag ? 'bundle' : 'legacy';
  const entryType = flags.rekorEntryType as 'dsse' | 'intoto';
  if (flags.key) {
    const signer = keySigner(await loadSigningKey(flags.key, context));
    // A key-based signature goes to a transparency log only when a Rekor is named: Kiln is
    // self-hosted and never publishes private image digests to the public log by default.
    if (!flags.rekorUrl || boolFlag(flags.tlogUpload) === false) return { signer, witnesses: [], format };
    return { signer, witnesses: rekorWitnesses({ rekorURL: flags.rekorUrl, tlogUpload: true, entryType }), format: format === 'bundle' ? 'bundle' : 'both' };
  }
  const token = flags.identityToken ?? context.env.SIGSTORE_ID_TOKEN;
  if (!token) throw new SignError('KEYLESS_FAILED', `keyless ${options.what} needs an OIDC identity token: --identity-token or SIGSTORE_ID_TOKEN (or use --key)`, {});
  if (format === 'legacy' && !options.keylessLegacy) throw new KilnError('USAGE', `keyless ${options.what} is stored as a Sigstore bundle; drop --new-bundle-format=false`);
  const keyless = keylessSigner({ fulcioURL: flags.fulcioUrl ?? 'https://fulcio.sigstore.dev', rekorURL: flags.rekorUrl ?? 'https://rekor.sigstore.dev', identityToken: token, tlogUpload: boolFlag(flags.tlogUpload) !== false, entryType });
  // cosign v3 stores keyless signatures as bundles; where allowed, --new-bundle-format=false gives
  // cosign v2's .sig layer with certificate, chain and Rekor bundle annotations.
  format = format === 'legacy' ? 'legacy' : 'bundle';
  return { signer: keyless.signer, witnesses: keyless.witnesses, format };
}
