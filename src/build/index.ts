// Public API of the package builder (melange-compatible recipes, pipelines, sandbox, packages).
export { BuildError, buildErrorCodes } from './errors.ts';
export type { BuildErrorCode } from './errors.ts';
export { loadRecipe } from './recipe/load.ts';
export type { Recipe, RecipeSubpackage, LoadRecipeOptions } from './recipe/load.ts';
export { archInfo, hostArch } from './arch.ts';
export type { ArchInfo } from './arch.ts';
export { compileBuild, compileTest, GUEST_WORKSPACE, GUEST_OUTDIR, NETWORK_ANNOTATION } from './compile.ts';
export type { CompiledBuild, CompiledPackage, CompiledStep, SourceReference } from './compile.ts';
export { createPipelineLibrary, builtinPipelineDir } from './pipeline-library.ts';
export type { PipelineLibrary, ResolvedPipeline } from './pipeline-library.ts';
