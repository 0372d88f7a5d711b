import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { readInputText, writeFileAtomic } from '../../lib/index.ts';
import type { Digest } from '../../lib/index.ts';
import { attestImage, buildSlsaProvenanceV1, predicateTypeUri, SLSA_PROVENANCE_V1 } from '../../attest/index.ts';
import type { AttestedManifest } from '../../attest/index.ts';
import { buildImage, ImageError, parseLockFile, publishIndex, publishProvenanceInput, publishSbomTargets } from '../../image/index.ts';
import type { BuildImageResult, PublishTarget } from '../../image/index.ts';
import { goJson, parseImageReference } from '../../oci/index.ts';
import { parseSbomFormats } from '../../sbom/index.ts';
import type { SbomFormat } from '../../sbom/index.ts';
import { dockerConfigCredentials, RegistryClient } from '../../registry-client/index.ts';
import { signImage } from '../../sign/index.ts';
import type { ImageSigner, SignatureFormat, SignedManifest } from '../../sign/index.ts';
import { readFile } from 'node:fs/promises';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { buildSummary } from './image-build.ts';
import { addImageOptions, buildOptionsFromFlags, loadConfigFromFlags, openImageRepositories, parseAnnotations, startImageProgress, usage } from './image-options.ts';
import type { ImageFlags } from './image-options.ts';
import { boolFlag, parseBool, positionals, signatureRepository, signerFromFlags } from './trust-options.ts';
import type { Witness } from '@sigstore/sign';

interface PublishFlags extends ImageFlags {
  sbomPath?: string;
  sbomFormats?: string;
  lockfile?: string;
  imageRefs?: string;
  allowInsecure?: boolean;
  overwrite?: boolean;
  key?: string;
  sbomAttest?: boolean;
  provenance?: boolean;
  newBundleFormat?: boolean;
  keyless?: boolean;
  fulcioUrl?: string;
  rekorUrl?: string;
  identityToken?: string;
  rekorEntryType?: string;
  tlogUpload?: boolean;
}

/** Signatures and attestations attached after pushing, for the JSON summary. */
interface TrustSummary {
  signatures: Array<SignedManifest & { repository: string; signatureReference?: string }>;
  attestations: Array<AttestedManifest & { repository: string; reference: string; attestationReference?: string; arch?: string }>;
}

/** Signs the index and each arch image, attests the SBOMs of each chosen format (SPDX, CycloneDX) and
 *  the SLSA provenance, in every repository the index went to. */
async function attachTrust(
  client: RegistryClient,
  result: BuildImageResult,
  targets: readonly PublishTarget[],
  signer: ImageSigner,
  options: { format: SignatureFormat; witnesses: Witness[]; sbomFormats: readonly SbomFormat[]; provenance: Record<string, unknown> | undefined; now: Date; signatureRepository?: { registry: string; repository: string } },
): Promise<TrustSummary> {
  const summary: TrustSummary = { signatures: [], attestations: [] };
  const repositories = new Map<string, { registry: string; repository: string }>();
  for (const target of targets) repositories.set(`${target.registry}/${target.repository}`, { registry: target.registry, repository: target.repository });
  const indexDigest = result.index.index.digest;
  const archOf = new Map<string, string>(result.arches.map((output) => [output.result.image.manifest.digest, output.arch.oci]));
  // With COSIGN_REPOSITORY one set of signatures covers every pushed repository (same digests).
  const signedRepositories = options.signatureRepository ? [...repositories].slice(0, 1) : [...repositories];
  for (const [name, repo] of signedRepositories) {
    // COSIGN_REPOSITORY: signatures and attestations of every pushed repository go to that one.
    const store = options.signatureRepository;
    const storeName = store ? `${store.registry}/${store.repository}` : name;
    const placement = { ...(store ? { signatureRepository: store } : {}), witnesses: options.witnesses };
    const record = (attested: AttestedManifest[]): void => {
      for (const entry of attested) {
        const arch = archOf.get(entry.digest);
        summary.attestations.push({
          ...entry,
          repository: name,
          reference: `${name}@${entry.digest}`,
          ...(entry.attestationTag ? { attestationReference: `${storeName}:${entry.attestationTag}` } : {}),
          ...(arch ? { arch } : {}),
        });
      }
    };
    const indexRef = { ...repo, digest: indexDigest as Digest };
    const signed = await signImage({ client, reference: indexRef, signer, recursive: true, format: options.format, now: options.now, ...placement });
    summary.signatures.push(...signed.map((entry) => ({ ...entry, repository: name, ...(entry.signatureTag ? { signatureReference: `${storeName}:${entry.signatureTag}` } : {}) })));
    for (const sbomFormat of options.sbomFormats) {
      const predicateType = predicateTypeUri(sbomFormat === 'spdx' ? 'spdxjson' : 'cyclonedx');
      for (const target of publishSbomTargets(result, sbomFormat)) {
        record(await attestImage({ client, reference: { ...repo, digest: target.digest }, signer, predicateType, predicate: target.document, format: options.format, now: options.now, ...placement }));
      }
    }
    if (options.provenance) {
      record(await attestImage({ client, reference: indexRef, signer, recursive: true, predicateType: SLSA_PROVENANCE_V1, predicate: options.provenance, format: options.format, now: options.now, ...placement }));
    }
  }
  return summary;
}

/** The version the root program was given (program.ts's KILN_VERSION), read at run time so this
 *  command does not import the program that registers it. */
function kilnVersion(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.version() ?? 'unknown';
}

async function readConfigBytes(path: string, given: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ImageError('IMAGE_CONFIG_INVALID', `${given}: cannot read the configuration (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error, detail: { file: given } });
  }
}

/** `kiln image publish CONFIG TAG...`: build, push each arch image by digest and the index to every tag. */
export function registerImagePublish(image: Command, context: CliContext): void {
  addImageOptions(
    image
      .command('publish')
      .description('build an image and push it (per-arch images by digest, the index to every tag), like apko publish')
      .argument('[config]', 'image configuration')
      .argument('[tags...]', 'references to push, e.g. registry.example.com/app:1.0'),
  )
    .option('--sbom-path <DIR>', 'also write the SBOMs (of --sbom-formats) into this directory')
    .option('--sbom-formats <LIST>', 'comma-separated SBOM formats to attest (and write with --sbom-path): spdx, cyclonedx', 'spdx,cyclonedx')
    .option('--lockfile <FILE>', 'build exactly the packages of this lock file')
    .option('--build-date <RFC3339>', 'build date (default: newest package build date; SOURCE_DATE_EPOCH overrides)')
    .option('--annotations <KEY:VALUE>', 'annotation to add (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--image-refs <FILE>', 'write the pushed references to this file, one per line')
    .option('--allow-insecure', 'allow plain HTTP to registries that are not on loopback')
    .option('--overwrite', 'replace existing --image-refs / SBOM files')
    .option('--key <PATH>', 'sign the index and each image and attest SBOM and provenance with this cosign.key (password from COSIGN_PASSWORD) or PEM private key; COSIGN_REPOSITORY stores them in another repository')
    .option('--keyless', 'sign and attest keyless instead: a Fulcio certificate for the OIDC identity (--identity-token or SIGSTORE_ID_TOKEN) and a Rekor entry; stored as Sigstore bundles')
    .option('--fulcio-url <URL>', 'with --keyless: Fulcio server', 'https://fulcio.sigstore.dev')
    .option('--rekor-url <URL>', 'Rekor server for the transparency-log entry (default with --keyless: https://rekor.sigstore.dev; with --key only when given)')
    .addOption(new Option('--rekor-entry-type <KIND>', 'Rekor entry kind for the signed envelopes').choices(['dsse', 'intoto']).default('dsse'))
    .option('--identity-token <TOKEN>', 'with --keyless: OIDC identity token (default: $SIGSTORE_ID_TOKEN)')
    .addOption(new Option('--tlog-upload [BOOL]', 'upload to the transparency log (--keyless, or --key with --rekor-url); --tlog-upload=false to skip').argParser(parseBool('--tlog-upload')).default(true))
    .addOption(new Option('--sbom-attest [BOOL]', 'with --key or --keyless: attach each SBOM of --sbom-formats as a signed attestation (--sbom-attest=false to skip)').argParser(parseBool('--sbom-attest')).default(true))
    .addOption(new Option('--provenance [BOOL]', 'with --key or --keyless: attach a signed SLSA v1 provenance attestation, recording every input kiln image reproduce rebuilds from (--provenance=false to skip)').argParser(parseBool('--provenance')).default(true))
    .addOption(new Option('--new-bundle-format [BOOL]', 'with --key: true = only Sigstore bundle referrers; false = only .sig/.att tags; unset = tags plus bundles where the registry has the referrers API (--keyless stores bundles)').argParser(parseBool('--new-bundle-format')))
    .option('--json', 'print a JSON summary with the pushed references on stdout')
    .action(async (configPath: string, tags: string[], flags: PublishFlags) => {
      // `--provenance CONFIG TAG`: an optional-value boolean took the next word; give it back.
      const all = positionals([configPath, ...tags].filter((value): value is string => value !== undefined), flags, 'config');
      configPath = all[0]!;
      tags = all.slice(1);
      if (tags.length === 0) throw usage('give at least one tag');
      const sbomFormats = parseSbomFormats(flags.sbomFormats ?? 'spdx,cyclonedx', '--sbom-formats');
      const startedOn = new Date();
      if (flags.key && flags.keyless) throw usage('give --key or --keyless, not both');
      const signing = flags.key || flags.keyless ? await signerFromFlags(flags, context, { what: 'publishing', keylessLegacy: false }) : undefined;
      const signer = signing?.signer;
      const configBytes = signer ? await readConfigBytes(resolve(context.cwd, configPath), configPath) : undefined;
      const targets = tags.map((tag) => parseImageReference(tag));
      for (const [index, target] of targets.entries()) if (target.digest) throw usage(`${tags[index]!}: publish needs tags, not digests`);
      const loaded = await loadConfigFromFlags(context, configPath, flags);
      const lock = flags.lockfile ? parseLockFile(await readInputText(resolve(context.cwd, flags.lockfile), { what: 'lock file' }), flags.lockfile) : undefined;
      const handle = await openImageRepositories(context, loaded, flags);
      // One set of bars for building and pushing, drawn only on a terminal and gone before the
      // signing messages and the output.
      const progress = startImageProgress(context);
      let result;
      let client: RegistryClient;
      let refs: string[];
      try {
        try {
          result = await buildImage({ ...buildOptionsFromFlags(context, flags), loaded, repository: handle.client, remoteKeys: handle.remoteKeys, tag: tags[0]!, ...(lock ? { lock } : {}), ...(progress ? { onProgress: progress.update } : {}) });
        } finally {
          handle.close();
        }
        client = new RegistryClient({ credentials: dockerConfigCredentials(context.env), userAgent: 'kiln', ...(flags.allowInsecure ? { allowInsecure: true } : {}) });
        refs = await publishIndex(client, result.index, targets, progress ? (done, total, item) => progress.update('push', done, total, item) : undefined);
      } finally {
        progress?.stop();
      }
      if (flags.sbomPath) {
        const dir = resolve(context.cwd, flags.sbomPath);
        // The same names as kiln image build --sbom-path.
        if (sbomFormats.includes('spdx')) {
          for (const [arch, doc] of result.spdx.perArch) await writeFileAtomic(join(dir, `sbom-${arch}.spdx.json`), `${goJson(doc, 2)}\n`, { exclusive: !flags.overwrite });
          await writeFileAtomic(join(dir, 'sbom-index.spdx.json'), `${goJson(result.spdx.index, 2)}\n`, { exclusive: !flags.overwrite });
        }
        if (sbomFormats.includes('cyclonedx')) for (const [arch, doc] of result.cyclonedx) await writeFileAtomic(join(dir, `sbom-${arch}.cdx.json`), `${goJson(doc, 2)}\n`, { exclusive: !flags.overwrite });
      }
      let trust: TrustSummary | undefined;
      if (signer) {
        const format: SignatureFormat = signing!.format;
        const configFiles = await Promise.all(loaded.files.map(async (file, index) => ({ path: index === 0 ? configPath : file, bytes: index === 0 ? configBytes! : await readConfigBytes(resolve(context.cwd, file), file) })));
        const annotations = parseAnnotations(flags.annotations);
        const provenance =
          boolFlag(flags.provenance) === false
            ? undefined
            : buildSlsaProvenanceV1(
                publishProvenanceInput(result, {
                  kilnVersion: kilnVersion(image),
                  configPath,
                  configDigest: `sha256:${createHash('sha256').update(configBytes!).digest('hex')}` as Digest,
                  configChecksum: loaded.checksum,
                  tags,
                  ...(context.env.SOURCE_DATE_EPOCH ? { sourceDateEpoch: context.env.SOURCE_DATE_EPOCH } : {}),
                  startedOn,
                  finishedOn: new Date(),
                  reproducible: {
                    configFiles,
                    build: {
                      archs: result.arches.map((output) => output.arch.oci),
                      ...(Object.keys(annotations).length ? { annotations } : {}),
                      ...(flags.buildDate ? { buildDate: flags.buildDate } : {}),
                      ...(flags.repositoryAppend?.length ? { repositoryAppend: flags.repositoryAppend } : {}),
                      ...(flags.keyringAppend?.length ? { keyringAppend: flags.keyringAppend } : {}),
                      ...(flags.packageAppend?.length ? { packageAppend: flags.packageAppend } : {}),
                    },
                  },
                }),
              );
        const store = signatureRepository(context);
        trust = await attachTrust(client, result, targets, signer, { format, witnesses: signing!.witnesses, sbomFormats: boolFlag(flags.sbomAttest) === false ? [] : sbomFormats, provenance, now: new Date(), ...(store ? { signatureRepository: store } : {}) });
        if (context.isTTY && !flags.json) {
          for (const entry of trust.signatures) {
            if (entry.signatureReference) context.stderr(`Pushing signature to: ${entry.signatureReference}\n`);
            if (entry.bundle) context.stderr(`Pushing bundle referrer ${entry.bundle.digest} for ${entry.digest}${entry.bundle.viaApi ? '' : ' (referrers tag fallback)'}\n`);
          }
          for (const entry of trust.attestations) context.stderr(`Attaching ${entry.predicateType} attestation to ${entry.reference}${entry.attestationReference ? ` (${entry.attestationReference})` : ''}${entry.bundle ? ` and bundle referrer ${entry.bundle.digest}` : ''}\n`);
        }
      }
      if (flags.imageRefs) await writeFileAtomic(resolve(context.cwd, flags.imageRefs), refs.map((ref) => `${ref}\n`).join(''), { exclusive: !flags.overwrite });
      if (flags.json) printJson(context, { ...buildSummary(result, {}), refs, ...(trust ? { signatures: trust.signatures, attestations: trust.attestations } : {}) });
      else context.stdout(`${refs[0]!}\n`);
    });
}
