import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/index.ts';
import type { AdvisoryFile } from './format/advisory.ts';
import { advisoriesToOsv, KILN_OSV_ID_PREFIX } from './format/advisory-osv.ts';
import { advisoriesToSecdb } from './format/advisory-secdb.ts';
import type { SecdbHeader } from './format/advisory-secdb.ts';
import type { Severity } from './format/cvss.ts';
import { slaCsv, slaMarkdown, slaReport } from './format/sla.ts';
import type { SlaPolicy } from './format/sla.ts';
import { writeZip } from './format/zip.ts';

// Writes everything Kiln publishes about its advisories into one directory beside the package
// repository: the apk secdb, the OSV records (one file each, plus an `all.zip` dump as osv.dev
// serves per ecosystem) and the remediation SLA report. Every file is written atomically; OSV files
// of advisories no longer present are removed last, so a reader never misses a current record.

/** Settings of {@link publishAdvisories}. */
export interface PublishOptions {
  outDir: string;
  secdb: SecdbHeader;
  sla: { now: Date; policy: SlaPolicy; severityOf: (id: string, aliases: readonly string[]) => Severity };
}

/** What {@link publishAdvisories} wrote. */
export interface PublishResult {
  secdb: string;
  osvDir: string;
  osvRecords: number;
  osvZip: string;
  /** OSV files of advisories that no longer exist, removed. */
  removed: string[];
  sla: { json: string; csv: string; markdown: string; entries: number; breached: number };
}

/** Canonical JSON text of a published document (two-space indent, trailing newline). */
function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Publishes validated advisories files as secdb, OSV and SLA data into `outDir`:
 *  `security.json`, `osv/<id>.json`, `osv/all.zip`, `sla.json`, `sla.csv`, `sla.md`. */
export async function publishAdvisories(files: ReadonlyArray<{ file: AdvisoryFile }>, options: PublishOptions): Promise<PublishResult> {
  const { outDir } = options;
  const secdb = join(outDir, 'security.json');
  await writeFileAtomic(secdb, jsonText(advisoriesToSecdb(files, options.secdb)));

  const osvDir = join(outDir, 'osv');
  const records = advisoriesToOsv(files);
  const texts = records.map((record) => ({ name: record.fileName, data: Buffer.from(jsonText(record.record)) }));
  for (const text of texts) await writeFileAtomic(join(osvDir, text.name), text.data);
  const osvZip = join(osvDir, 'all.zip');
  await writeFileAtomic(osvZip, writeZip(texts));
  const current = new Set(texts.map((text) => text.name));
  const removed = (await readdir(osvDir)).filter((name) => name.startsWith(KILN_OSV_ID_PREFIX) && name.endsWith('.json') && !current.has(name)).sort();
  for (const name of removed) await rm(join(osvDir, name), { force: true });

  const entries = slaReport(files, options.sla);
  const sla = { json: join(outDir, 'sla.json'), csv: join(outDir, 'sla.csv'), markdown: join(outDir, 'sla.md') };
  await writeFileAtomic(sla.json, jsonText({ generatedAt: options.sla.now.toISOString(), policy: options.sla.policy, entries }));
  await writeFileAtomic(sla.csv, slaCsv(entries));
  await writeFileAtomic(sla.markdown, slaMarkdown(entries));
  return { secdb, osvDir, osvRecords: records.length, osvZip, removed, sla: { ...sla, entries: entries.length, breached: entries.filter((entry) => entry.breached).length } };
}
