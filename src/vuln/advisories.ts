import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isKilnError, readInputText } from '../lib/index.ts';
import { currentEvent, parseAdvisoryFile } from './format/advisory.ts';
import type { AdvisoryFile } from './format/advisory.ts';

/** The advisories files of a directory: those that validate, and the errors of those that do not. */
export interface AdvisoryDirectory {
  files: Array<{ path: string; file: AdvisoryFile }>;
  /** One error per invalid file (VULN_ADVISORY_INVALID, INPUT_INVALID, LIMIT_EXCEEDED), naming file and line. */
  errors: Error[];
}

/** Reads and validates every `<origin>.yaml` of an advisories directory (sorted by name); a file
 *  that fails does not stop the others, so `kiln advisory validate` reports them all. */
export async function loadAdvisoryDirectory(dir: string): Promise<AdvisoryDirectory> {
  const names = (await readdir(dir)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const result: AdvisoryDirectory = { files: [], errors: [] };
  for (const name of names) {
    const path = join(dir, name);
    try {
      result.files.push({ path, file: parseAdvisoryFile(await readInputText(path, { what: 'advisories file' }), path, name.replace(/\.ya?ml$/, '')) });
    } catch (error) {
      if (!isKilnError(error)) throw error;
      result.errors.push(error);
    }
  }
  return result;
}

/** One line of `kiln advisory list`: a vulnerability of a package and its current state. */
export interface AdvisorySummary {
  package: string;
  id: string;
  aliases: string[];
  status: string;
  since: string;
  /** The fixed version, the justification or the reason, whichever the state has. */
  detail?: string;
  events: number;
}

/** Current state of every advisory, by package then id. */
export function summarizeAdvisories(files: ReadonlyArray<{ file: AdvisoryFile }>): AdvisorySummary[] {
  return files
    .flatMap(({ file }) =>
      file.advisories.map((advisory) => {
        const event = currentEvent(advisory);
        const data = (event.data ?? {}) as Record<string, string | undefined>;
        const detail = data.version ?? data.justification ?? data.reason ?? data.note;
        return { package: file.package, id: advisory.id, aliases: advisory.aliases ?? [], status: event.type, since: event.timestamp, ...(detail ? { detail } : {}), events: advisory.events.length };
      }),
    )
    .sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
