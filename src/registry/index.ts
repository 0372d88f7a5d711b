// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { clientAddress, RegistryServer } from './registry-server.ts';
export type { RegistryDependencies, RegistrySettings } from './registry-server.ts';
export { AccessController, hashHtpasswdPassword, loadHtpasswd, isLoopback, setHtpasswdEntry } from './access.ts';
export type { AccessConfig, AccessRule, TokenSettings, Principal, Action } from './access.ts';
export { RegistryError, registryErrorCodes } from './errors.ts';
export type { RegistryErrorCode, RegistryErrorSpec } from './errors.ts';
export { collectGarbage } from './gc.ts';
export type { GcOptions, GcReport, RetentionPolicy } from './gc.ts';
export { ImmutableTags } from './tag-policy.ts';
export { PullThroughCache } from './pull-through.ts';
export type { PullThroughRule, Upstream } from './pull-through.ts';
export type { ImmutableTagRule } from './tag-policy.ts';
export { planGc } from './gc-plan.ts';
export type { GcPlan, GcPlanOptions, GcSnapshot, RetentionRule } from './gc-plan.ts';
export { KeyedMutex } from './keyed-mutex.ts';
export type { KeyedLock } from './keyed-mutex.ts';
export { isValidName, isValidTag } from './format/grammar.ts';
export { repositoryGlob, tagGlob } from './format/patterns.ts';
