import type { Digest } from '../lib/index.ts';
import { MetadataError } from './errors.ts';
import type { ManifestRecord } from './port.ts';

/** A manifests-table row as both SQL stores keep it (annotations as JSON text). */
export interface ManifestRow {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  subject: string | null;
  artifact_type: string | null;
  annotations: string | null;
  created_at: number;
}

/** The record of a row and its references; `where` names the database in a corruption error. */
export function manifestFromRow(row: ManifestRow, refs: { blobs: Digest[]; children: Digest[] }, where: string): ManifestRecord {
  let annotations: Record<string, string> | undefined;
  if (row.annotations) {
    try {
      annotations = JSON.parse(row.annotations) as Record<string, string>;
    } catch (error) {
      throw new MetadataError('METADATA_CORRUPT', `${where}: annotations of ${row.repository}@${row.digest} are not JSON`, { cause: error, detail: { repository: row.repository, digest: row.digest } });
    }
  }
  return {
    repository: row.repository,
    digest: row.digest as Digest,
    mediaType: row.media_type,
    size: row.size,
    ...(row.subject ? { subject: row.subject as Digest } : {}),
    ...(row.artifact_type ? { artifactType: row.artifact_type } : {}),
    ...(annotations ? { annotations } : {}),
    blobs: refs.blobs,
    children: refs.children,
    createdAt: row.created_at,
  };
}
