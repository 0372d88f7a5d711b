import { z } from 'zod';

// The melange recipe format as one zod schema. The YAML is read with the failsafe schema, so every
// scalar arrives as its literal text (`version: 1.10` stays "1.10", `3.10:` data keys stay "3.10");
// integers and booleans are converted here. An empty value (`pipeline:`) arrives as "" and means
// "absent" for every non-string field.

const EMPTY = new Set(['', '~', 'null', 'Null', 'NULL']);
const absentIfEmpty = (value: unknown): unknown => (typeof value === 'string' && EMPTY.has(value) ? undefined : value);

/** Wraps a non-string schema so that an empty YAML value counts as absent. */
function opt<T extends z.ZodType>(schema: T) {
  return z.preprocess(absentIfEmpty, schema.optional());
}

const str = z.string();
const optStr = str.optional();
const uint = z.string().regex(/^\d+$/, 'expected an unsigned integer').transform(Number);
const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);
const bool = z
  .string()
  .refine((value) => TRUE.has(value) || FALSE.has(value), 'expected true or false')
  .transform((value) => TRUE.has(value));
const strList = opt(z.array(str));
const strMap = opt(z.record(z.string(), z.string()));
/** melange's priorities are strings that must read as integers once variables are substituted
 *  (`${{range.value}}`, `${{vars.x}}`); the loader checks them after substitution. */
const priorityString = z.string().refine((value) => value.includes('${{') || /^-?\d+$/.test(value.trim()), 'expected an integer or a ${{…}} variable');
/** Go duration string (`90m`) or integer seconds (documented form). */
const duration = z.string().regex(/^(\d+|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/, 'expected a duration such as 90m or integer seconds');

/** Name rule for packages and subpackages. */
export const PACKAGE_NAME = /^[a-zA-Z\d][a-zA-Z\d+_.-]*$/;

/** One pipeline step (also the shape of a `uses` definition's steps). */
export interface Step {
  name?: string | undefined;
  /** Free text (Wolfi's pipelines describe steps); not used by the build. */
  description?: string | undefined;
  uses?: string | undefined;
  with?: Record<string, string> | undefined;
  runs?: string | undefined;
  if?: string | undefined;
  'working-directory'?: string | undefined;
  environment?: Record<string, string> | undefined;
  pipeline?: Step[] | undefined;
  needs?: { packages?: string[] | undefined } | undefined;
  assertions?: { 'required-steps'?: number | undefined } | undefined;
  inputs?: Record<string, PipelineInput> | undefined;
  label?: string | undefined;
}

/** A declared input of a pipeline definition. */
interface PipelineInput {
  description?: string | undefined;
  default?: string | undefined;
  required?: boolean | undefined;
}

const inputSchema = z.strictObject({ description: optStr, default: optStr, required: opt(bool) });

const stepSchema: z.ZodType<Step> = z.lazy(() =>
  z
    .strictObject({
      name: optStr,
      description: optStr,
      uses: optStr,
      with: strMap,
      runs: optStr,
      if: optStr,
      'working-directory': optStr,
      environment: strMap,
      pipeline: opt(z.array(stepSchema)),
      needs: opt(z.strictObject({ packages: strList })),
      assertions: opt(z.strictObject({ 'required-steps': opt(uint) })),
      inputs: opt(z.record(z.string(), opt(inputSchema))),
      label: optStr,
    })
) as z.ZodType<Step>;

/** melange's rules for the steps of build pipelines (the package's and each subpackage's, nested
 *  steps included): `uses` excludes `runs`, `with` needs `uses`. Test pipelines and pipeline files
 *  are not held to them; a test step with both runs its `runs`, then the pipeline it uses. */
function checkBuildSteps(steps: readonly Step[] | undefined, path: (string | number)[], ctx: z.RefinementCtx): void {
  steps?.forEach((step, index) => {
    const at = [...path, index];
    if (step.uses !== undefined && step.runs !== undefined) ctx.addIssue({ code: 'custom', message: '`uses` and `runs` are mutually exclusive in a build pipeline', path: [...at, 'runs'] });
    if (step.with !== undefined && step.uses === undefined) ctx.addIssue({ code: 'custom', message: 'a step with `with` must have `uses`', path: [...at, 'with'] });
    checkBuildSteps(step.pipeline, [...at, 'pipeline'], ctx);
  });
}

const looseMap = opt(z.record(z.string(), z.unknown()));

const userSchema = z.looseObject({ username: str, uid: opt(uint), gid: opt(uint), shell: optStr, homedir: optStr });
const groupSchema = z.looseObject({ groupname: str, gid: opt(uint), members: strList });

/** The apko image configuration used for build and test guests (the subset recipes use). */
const environmentSchema = z.strictObject({
  contents: opt(
    z.strictObject({
      packages: strList,
      repositories: strList,
      keyring: strList,
      'build_repositories': strList,
      'runtime_repositories': strList,
    }),
  ),
  environment: strMap,
  accounts: opt(z.strictObject({ 'run-as': optStr, users: opt(z.array(userSchema)), groups: opt(z.array(groupSchema)) })),
  archs: strList,
  entrypoint: looseMap,
  cmd: optStr,
  'work-dir': optStr,
  paths: opt(z.array(z.unknown())),
  annotations: strMap,
  options: looseMap,
  'vcs-url': optStr,
});
export type EnvironmentConfig = z.output<typeof environmentSchema>;

const dependenciesSchema = z.strictObject({
  runtime: strList,
  provides: strList,
  replaces: strList,
  'provider-priority': opt(priorityString),
  'replaces-priority': opt(priorityString),
});

const packageOptionsSchema = z.strictObject({
  'no-provides': opt(bool),
  'no-depends': opt(bool),
  'no-commands': opt(bool),
  'no-versioned-shlib-deps': opt(bool),
});

const scriptletsSchema = z.strictObject({
  'pre-install': optStr,
  'post-install': optStr,
  'pre-deinstall': optStr,
  'post-deinstall': optStr,
  'pre-upgrade': optStr,
  'post-upgrade': optStr,
  trigger: opt(z.strictObject({ script: optStr, paths: strList })),
});

const checksSchema = z.strictObject({ disabled: strList, enabled: strList });

const cpeValue = z.string().regex(/^[a-z\d][a-z\d+_.-]*$/, 'CPE values match ^[a-z\\d][a-z\\d+_.-]*$');
const cpeSchema = z
  .strictObject({
    part: opt(z.enum(['a', 'o', 'h'])),
    vendor: opt(cpeValue),
    product: opt(cpeValue),
    edition: opt(cpeValue),
    language: opt(cpeValue),
    sw_edition: opt(cpeValue),
    target_sw: opt(cpeValue),
    target_hw: opt(cpeValue),
    other: opt(cpeValue),
  })
  .superRefine((cpe, ctx) => {
    if ((cpe.vendor === undefined) !== (cpe.product === undefined)) ctx.addIssue({ code: 'custom', message: 'cpe vendor and product must both be set or both be absent' });
  });

const setcapSchema = z.strictObject({ path: str, add: z.record(z.string(), z.string()), reason: str });

const copyrightSchema = z.strictObject({
  license: str,
  'license-path': optStr,
  attestation: optStr,
  paths: strList,
  'detection-override': optStr,
});

const resourcesSchema = z.strictObject({ cpu: optStr, cpumodel: optStr, memory: optStr, disk: optStr });

/** A `test:` block: a fresh guest and steps run against the built package. */
const testSchema = z.strictObject({ environment: opt(environmentSchema), pipeline: opt(z.array(stepSchema)) });
export type TestBlock = z.output<typeof testSchema>;

const packageSchema = z.strictObject({
  name: z.string().regex(PACKAGE_NAME, 'package name must match ^[a-zA-Z\\d][a-zA-Z\\d+_.-]*$'),
  version: z.string().min(1, 'version must not be empty'),
  epoch: opt(uint),
  description: optStr,
  url: optStr,
  commit: optStr,
  copyright: opt(z.array(copyrightSchema)),
  dependencies: opt(dependenciesSchema),
  options: opt(packageOptionsSchema),
  scriptlets: opt(scriptletsSchema),
  checks: opt(checksSchema),
  cpe: opt(cpeSchema),
  setcap: opt(z.array(setcapSchema)),
  'target-architecture': strList,
  timeout: opt(duration),
  resources: opt(resourcesSchema),
  'test-resources': opt(resourcesSchema),
  annotations: strMap,
});
export type PackageMeta = z.output<typeof packageSchema>;

const subpackageSchema = z.strictObject({
  name: z.string().min(1),
  description: optStr,
  url: optStr,
  commit: optStr,
  pipeline: opt(z.array(stepSchema)),
  dependencies: opt(dependenciesSchema),
  range: optStr,
  options: opt(packageOptionsSchema),
  checks: opt(checksSchema),
  scriptlets: opt(scriptletsSchema),
  if: optStr,
  test: opt(testSchema),
  annotations: strMap,
  setcap: opt(z.array(setcapSchema)),
});
export type Subpackage = z.output<typeof subpackageSchema>;

// melange reads `enabled` as a plain bool, so a block without it means false.
const updateSchema = z.strictObject({
  enabled: opt(bool),
  manual: opt(bool),
  'require-sequential': opt(bool),
  shared: opt(bool),
  'version-separator': optStr,
  'ignore-regex-patterns': strList,
  'exclude-reason': optStr,
  schedule: opt(z.strictObject({ period: z.enum(['daily', 'weekly', 'monthly']), reason: optStr })),
  'enable-prerelease-tags': opt(bool),
  'version-transform': opt(z.array(z.strictObject({ match: str, replace: str }))),
  github: looseMap,
  git: looseMap,
  'release-monitor': looseMap,
  oci: looseMap,
  'version_data': looseMap,
});

const optionSchema = z.strictObject({
  vars: strMap,
  environment: opt(z.strictObject({ contents: opt(z.strictObject({ packages: opt(z.strictObject({ add: strList, remove: strList })) })) })),
});

/** A whole recipe file, as parsed (before variable resolution and range expansion). */
export const recipeSchema = z
  .strictObject({
    package: packageSchema,
    environment: opt(environmentSchema),
    capabilities: opt(z.strictObject({ add: strList, drop: strList })),
    pipeline: opt(z.array(stepSchema)),
    subpackages: opt(z.array(subpackageSchema)),
    data: opt(z.array(z.strictObject({ name: str, items: z.record(z.string(), z.string()) }))),
    vars: strMap,
    'var-transforms': opt(z.array(z.strictObject({ from: str, match: str, replace: str, to: str }))),
    options: opt(z.record(z.string(), optionSchema)),
    update: opt(updateSchema),
    test: opt(testSchema),
  })
  .superRefine((recipe, ctx) => {
    checkBuildSteps(recipe.pipeline, ['pipeline'], ctx);
    recipe.subpackages?.forEach((sub, index) => checkBuildSteps(sub.pipeline, ['subpackages', index, 'pipeline'], ctx));
    const seen = new Set<string>();
    recipe.subpackages?.forEach((sub, index) => {
      // Ranged names contain ${{range.key}} and are checked after expansion.
      if ((sub.range === undefined || sub.range === '') && !sub.name.includes('${{')) {
        if (!PACKAGE_NAME.test(sub.name)) ctx.addIssue({ code: 'custom', message: `subpackage name ${JSON.stringify(sub.name)} must match ^[a-zA-Z\\d][a-zA-Z\\d+_.-]*$`, path: ['subpackages', index, 'name'] });
        if (sub.name === recipe.package.name) ctx.addIssue({ code: 'custom', message: `subpackage name ${JSON.stringify(sub.name)} equals the package name`, path: ['subpackages', index, 'name'] });
        if (seen.has(sub.name)) ctx.addIssue({ code: 'custom', message: `subpackage name ${JSON.stringify(sub.name)} is used twice`, path: ['subpackages', index, 'name'] });
        seen.add(sub.name);
      }
    });
  });

/** A parsed recipe (zod output). */
export type RecipeDocument = z.output<typeof recipeSchema>;

/** A pipeline definition file loaded through `uses` (decoded leniently: extra keys are ignored). */
export const pipelineDefinitionSchema = z.looseObject({
  name: optStr,
  description: optStr,
  needs: opt(z.looseObject({ packages: strList })),
  inputs: opt(z.record(z.string(), opt(z.looseObject({ description: optStr, default: optStr, required: opt(bool) })))),
  pipeline: opt(z.array(stepSchema)),
  runs: optStr,
  'working-directory': optStr,
  environment: strMap,
  if: optStr,
});
export type PipelineDefinition = z.output<typeof pipelineDefinitionSchema>;
