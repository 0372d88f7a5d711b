// Public API of the image assembler (apko-compatible).
export { ImageError, imageErrorCodes } from './errors.ts';
export type { ImageErrorCode } from './errors.ts';
export { ARCHS, archInfo, normalizeArchs } from './config/archs.ts';
export type { ArchInfo } from './config/archs.ts';
export { imageConfigSchema, imageConfigJsonSchema } from './config/schema.ts';
export { parseImageConfigText, parseGoInteger } from './config/parse.ts';
export type { ConfigIssue } from './config/parse.ts';
export { loadImageConfig, loadImageConfigText } from './config/load.ts';
export type { LoadedImageConfig, LoadImageConfigOptions } from './config/load.ts';
export type { ImageConfig, ImageUser, ImageGroup, PathMutation, NamedContent } from './config/types.ts';
