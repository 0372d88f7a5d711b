import { SbomError } from './errors.ts';

// Pure: which SBOM document formats Kiln writes, and the parsing of a user's choice of them.

/** The SBOM document formats Kiln writes: SPDX 2.3 JSON and CycloneDX 1.6 JSON. */
export const SBOM_FORMATS = ['spdx', 'cyclonedx'] as const;

/** One of {@link SBOM_FORMATS}. */
export type SbomFormat = (typeof SBOM_FORMATS)[number];

function isSbomFormat(value: string): value is SbomFormat {
  return (SBOM_FORMATS as readonly string[]).includes(value);
}

/** Parses a comma-separated list of formats (`spdx,cyclonedx`; blanks and repeats ignored) in the
 *  order given. `where` names the source in errors (a flag or a config field). */
export function parseSbomFormats(list: string, where: string): SbomFormat[] {
  const formats: SbomFormat[] = [];
  for (const raw of list.split(',')) {
    const value = raw.trim();
    if (value === '') continue;
    if (!isSbomFormat(value)) {
      throw new SbomError('SBOM_FORMAT_UNKNOWN', `${where}: unknown format ${JSON.stringify(value)} (${SBOM_FORMATS.join(', ')})`, { detail: { where, format: value } });
    }
    if (!formats.includes(value)) formats.push(value);
  }
  return formats;
}
