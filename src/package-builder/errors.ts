import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the package builder (docs/errors/build.md). */
export const buildErrorCodes = {
  RECIPE_INVALID: 'a recipe is malformed: YAML syntax, unknown key, wrong type or a failed validation rule (message gives file:line:column)',
  RECIPE_UNSUPPORTED: 'a recipe uses a melange feature Kiln does not implement (the feature is named)',
  RECIPE_NOT_FOUND: 'the recipe file does not exist or is not readable',
  SUBSTITUTION_UNDEFINED: 'a ${{…}} variable is not defined where it is used',
  CONDITION_INVALID: 'an `if:` expression does not parse',
  PIPELINE_NOT_FOUND: 'a `uses:` pipeline is neither built in nor in a --pipeline-dir',
  PIPELINE_INPUT_INVALID: 'a `with:` input is undeclared, a required input is missing, or a checksum input is malformed',
  PIPELINE_INVALID: 'a pipeline definition file is malformed',
  STEP_FAILED: 'a pipeline step exited non-zero (the step is named and the log tail shown)',
  STEP_WROTE_OUTSIDE: 'a step tried to write outside the workspace and destination (read-only file system)',
  STEP_NETWORK_DENIED: 'a step tried to use the network, which the recipe did not ask for',
  ASSERTION_FAILED: 'a step `assertions.required-steps` count did not match',
  SOURCE_CHECKSUM_MISMATCH: 'a fetched source did not hash to its expected-sha256/expected-sha512',
  SANDBOX_FAILED: 'the sandbox runner could not start a step',
  ENVIRONMENT_FAILED: 'the build environment could not be assembled',
  ELF_INVALID: 'a file starting with the ELF magic is truncated or malformed',
  PACKAGE_WRITE_FAILED: 'writing, signing or indexing a built package failed',
  INDEX_SIGNATURE_DOWNGRADE: 'the output APKINDEX.tar.gz is signed and this run has no signing key: Kiln refuses to replace it with an unsigned index (the index file is named)',
  SIGNING_KEY_NOT_FOUND: 'the signing key file (given with --signing-key, or melange\'s default local-melange.rsa) does not exist (the path looked at is named)',
  ENV_FILE_INVALID: 'a --env-file line is not NAME=VALUE (the file and line are named)',
  LINT_FAILED: 'a required package linter failed',
  DEPENDENCY_CYCLE: 'recipes depend on each other in a cycle (the cycle is listed)',
  BUILD_ALL_FAILED: 'one or more recipes of a build-all run failed or did not load (each is listed with its error)',
  RECIPE_CHECK_FAILED: 'kiln pkg check: one or more recipes of the directory did not load or compile (each error names the file, line and field)',
  TEST_FAILED: 'a recipe test pipeline failed',
} as const satisfies ErrorCodeTable<string>;

export type BuildErrorCode = keyof typeof buildErrorCodes;

/** A package-builder failure; `detail` names the recipe, line, step or package at fault. */
export class BuildError extends KilnError<BuildErrorCode> {}
