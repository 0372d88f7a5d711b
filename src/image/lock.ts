import { z } from 'zod';
import { parseJsonBounded } from '../lib/index.ts';
import { ImageError } from './errors.ts';

// apko's lock file (`apko lock`, image-config.md §11): exact package URLs, versions and checksums per
// architecture. Pure: building the document and reading one back.

const range = z.strictObject({ range: z.string(), checksum: z.string() });

const lockPackage = z.strictObject({
  name: z.string(),
  url: z.string(),
  version: z.string(),
  architecture: z.string(),
  signature: range,
  control: range,
  data: range,
  checksum: z.string().min(1, 'a locked package needs its checksum'),
});

const lockRepository = z.strictObject({ name: z.string(), url: z.string(), architecture: z.string() });

/** The lock file schema (apko `v1`). */
export const lockFileSchema = z.strictObject({
  version: z.literal('v1'),
  config: z.strictObject({ name: z.string(), checksum: z.string() }).optional(),
  contents: z.strictObject({
    keyring: z.array(z.strictObject({ name: z.string(), url: z.string(), content: z.string().optional() })).default([]),
    build_repositories: z.array(lockRepository).default([]),
    runtime_repositories: z.array(lockRepository).default([]),
    repositories: z.array(lockRepository).default([]),
    packages: z.array(lockPackage).default([]),
  }),
});

/** A lock file document. */
export type LockFile = z.infer<typeof lockFileSchema>;
/** One locked package. */
export type LockPackage = z.infer<typeof lockPackage>;

/** Parses and validates lock file text; errors name the file and field. */
export function parseLockFile(text: string, file: string): LockFile {
  let json: unknown;
  try {
    json = parseJsonBounded(text, file);
  } catch (error) {
    throw new ImageError('IMAGE_LOCK_INVALID', (error as Error).message, { cause: error, detail: { file } });
  }
  const result = lockFileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ImageError('IMAGE_LOCK_INVALID', `${file}: ${issue.path.join('.') || '(document)'}: ${issue.message}`, { detail: { file, path: issue.path.join('.') } });
  }
  return result.data;
}

/** Lock file text: 2-space indented JSON with a trailing newline, as apko writes it. */
export function formatLockFile(lock: LockFile): string {
  return `${JSON.stringify(lock, null, 2)}\n`;
}

/** `bytes=<start>-<end>` for a byte range of the .apk file. */
export function byteRange(start: number, endExclusive: number): string {
  return `bytes=${start}-${endExclusive - 1}`;
}
