import type { ArchInfo, PackageRecord } from '../apk/index.ts';
import type { ImageConfig } from './config/types.ts';

// Pure: from the configuration and the resolved (or locked) package selection of each arch to the
// plan of what will be built — plain JSON, printed by `kiln image build --dry-run` and applied by
// buildImage. No I/O here.

/** A repository as the plan records it. */
export interface PlannedRepository {
  url: string;
  tag?: string;
}

/** One package to install. */
export interface PlannedPackage {
  name: string;
  version: string;
  /** `C:` identity the fetched file must have. */
  identity: string;
  /** .apk size from the index, when known. */
  size?: number;
  repository: PlannedRepository;
}

/** One architecture of the plan. */
export interface PlannedArch {
  arch: ArchInfo;
  /** Packages in install order (dependencies first). */
  packages: PlannedPackage[];
  /** /etc/apk/world: every installed package pinned `name=version[@tag]`. */
  world: string[];
}

/** The plan of an image build. */
export interface ImagePlan {
  tag: string;
  /** Annotations of config labels, manifests and index (without the created time). */
  annotations: Record<string, string>;
  /** Build date option, seconds; fixed when SOURCE_DATE_EPOCH was given. */
  buildDate: number;
  buildDateIsFixed: boolean;
  /** Lines of /etc/apk/repositories. */
  runtimeRepositories: string[];
  /** Key files copied to /etc/apk/keys. */
  keyFiles: string[];
  /** Package groups per layer are decided per arch from the installed packages with this budget. */
  layering?: { strategy: 'origin'; budget: number };
  arches: PlannedArch[];
}

/** Inputs of {@link planImage}. */
export interface PlanImageInput {
  config: ImageConfig;
  tag: string;
  arches: readonly ArchInfo[];
  selections: ReadonlyMap<string, ReadonlyArray<{ record: PackageRecord; repository: PlannedRepository }>>;
  annotations?: Readonly<Record<string, string>>;
  repositoryAppend?: readonly string[];
  keyringAppend?: readonly string[];
  buildDate?: number;
  sourceDateEpoch?: number;
}

/** Builds the plan. */
export function planImage(input: PlanImageInput): ImagePlan {
  const { config } = input;
  const annotations: Record<string, string> = { ...config.annotations, ...(input.annotations ?? {}) };
  const vcs = config['vcs-url'];
  if (vcs && vcs.includes('@')) {
    annotations['org.opencontainers.image.source'] = vcs.slice(0, vcs.lastIndexOf('@'));
    annotations['org.opencontainers.image.revision'] = vcs.slice(vcs.lastIndexOf('@') + 1);
  }
  return {
    tag: input.tag,
    annotations,
    buildDate: input.sourceDateEpoch ?? input.buildDate ?? 0,
    buildDateIsFixed: input.sourceDateEpoch !== undefined,
    runtimeRepositories: [...config.contents.repositories, ...config.contents.runtime_repositories, ...(input.repositoryAppend ?? [])],
    keyFiles: [...config.contents.keyring, ...(input.keyringAppend ?? [])],
    ...(config.layering ? { layering: config.layering } : {}),
    arches: input.arches.map((arch) => {
      const selected = input.selections.get(arch.oci) ?? [];
      return {
        arch,
        packages: selected.map(({ record, repository }) => ({
          name: record.name,
          version: record.version,
          identity: record.identity,
          ...(record.size !== undefined ? { size: record.size } : {}),
          repository,
        })),
        world: selected.map(({ record, repository }) => `${record.name}=${record.version}${repository.tag ? `@${repository.tag}` : ''}`),
      };
    }),
  };
}
