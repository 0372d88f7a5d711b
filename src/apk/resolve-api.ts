// Public API of versions, dependencies and the resolver (re-exported by index.ts).
//
// Versions (apk-tools 3.0.6 semantics, apk-format.md §3):
//   compareVersions(a, b) → -1/0/1, isValidVersion(v), versionMatches(v, op, constraint),
//   parseVersionOperator('>=') / formatVersionOperator(bits), splitNameVersion('foo-1.2-r0').
// Dependencies (§4): parseDependency('so:libc.musl-x86_64.so.1'), parseDependencyList('a b>1'),
//   formatDependency(dep), dependencySatisfiedBy(dep, provider), providedNames(record).
// Resolver (§6): resolve({ repositories: [{ records, tag? }], world, arch, installed?, cache?, flags? })
//   → { install: PackageRecord[] (final system, dependencies first, apk's order), remove, changes, text }
//   or throws ApkResolveError (code APK_RESOLVE_UNSATISFIABLE) whose message is apk's report.
//   resolve() builds the package universe once per set of records arrays (identity, plus tag, name,
//   availability, arch, installed and cache) and reuses it on later calls, as apk-tools loads its
//   indexes once and then solves; cachedResolver(universe) returns that shared Resolver.
//   new Resolver({ repositories, installed?, arch }).resolve(world, { flags? }) builds a private
//   universe and resolves many worlds against it (the universe costs more than a solve).
//   The choice is apk-tools' own: the same provider, version and order `apk add` picks.
//   Packages are keyed by identity (`C:`; base64 decoded leniently like apk, so spellings that differ
//   only in unused bits are one package); records with the same identity in several repositories
//   are one package available from all of them. Architecture: a record qualifies when its `A:` is
//   empty, `noarch`, or one of `arch`.
// Simulation: simulateApk({ args: ['add', 'foo'], repositories, installed?, world?, cache? }) runs an
//   apk command line (add, del, upgrade, fix) against in-memory text and returns apk's output;
//   parseSolverTest/runSolverTest run apk-tools' solver test files (`kiln apk solver-test`).
export {
  compareVersions,
  compareVersionBits,
  isValidVersion,
  versionMatches,
  parseVersionOperator,
  formatVersionOperator,
  splitNameVersion,
  VERSION_EQUAL,
  VERSION_LESS,
  VERSION_GREATER,
  VERSION_FUZZY,
  VERSION_CONFLICT,
  DEPMASK_ANY,
  DEPMASK_CHECKSUM,
} from './version.ts';
export {
  parseDependency,
  parseDependencyList,
  formatDependency,
  formatWorldDependency,
  dependencySatisfiedBy,
  providedNames,
  isConflict,
} from './dependency.ts';
export type { Dependency, DependencyList, ParseDependencyOptions, ProvidedName } from './dependency.ts';
export { resolve, cachedResolver, Resolver, ApkResolveError } from './solver/resolve.ts';
export type { ResolveInput, UniverseInput, ResolveOptions, ResolveRepository, ResolveFlags, Resolution, ResolvedChange, ChangeAction } from './solver/resolve.ts';
export { simulateApk } from './solver/simulate.ts';
export type { SimulationInput, SimulationResult, SimulatedRepository } from './solver/simulate.ts';
export { parseSolverTest, runSolverTest, unifiedDiff } from './solver/test-file.ts';
export type { SolverTest, SolverTestOutcome } from './solver/test-file.ts';
