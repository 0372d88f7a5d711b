import { advisoryRecords } from './advisory.ts';
import type { AdvisoryFile } from './advisory.ts';

// Pure: Kiln's advisories as OSV records (https://ossf.github.io/osv-schema/), one per package ×
// vulnerability. Kiln OS is not a registered OSV ecosystem, and the schema admits only registered
// names in `affected[].package.ecosystem`; naming Alpine, Wolfi or Debian there would claim a
// version stream Kiln does not ship. So each record:
//   - has an `x_KILN-<vulnerability>-<package>` id: `x_` is the schema's prefix for a local
//     database's ids, which are not published to osv.dev;
//   - carries the public id (CVE-…) first in `aliases`, then the advisory's own aliases;
//   - leaves `affected[].package` out and names the package in `affected[].database_specific`
//     (`ecosystem: "Kiln"`, `name`, `purl`, and `status`/`note` so `not-affected` survives, which
//     OSV has no field for). Generic OSV tools therefore skip these entries rather than match Kiln's
//     versions against another distribution's; Kiln's reader (osv.ts) reads them back.
// The event history is kept whole in the record's `database_specific.events`.

/** The ecosystem name Kiln's records carry in `affected[].database_specific.ecosystem`. */
export const KILN_OSV_ECOSYSTEM = 'Kiln';

/** The id prefix of Kiln's OSV records. */
export const KILN_OSV_ID_PREFIX = 'x_KILN-';

/** One OSV record and the file name it is published under (`<id>.json`). */
export interface OsvExport {
  id: string;
  fileName: string;
  record: Record<string, unknown>;
}

/** RFC 3339 UTC with `Z`, as the OSV schema's timestamp pattern requires (advisories may hold dates). */
function osvTimestamp(value: string): string {
  return new Date(Date.parse(value)).toISOString().replace(/\.000Z$/, 'Z');
}

/** The OSV records of a set of advisories files, sorted by id (deterministic: no clock is read;
 *  `published` is the first event's time, `modified` the last's). */
export function advisoriesToOsv(files: ReadonlyArray<{ file: AdvisoryFile }>): OsvExport[] {
  const records: OsvExport[] = [];
  for (const { file } of files) {
    const affected = advisoryRecords(file, 'kiln', 'kiln');
    file.advisories.forEach((advisory, index) => {
      const record = affected[index]!;
      const id = `${KILN_OSV_ID_PREFIX}${advisory.id}-${file.package}`;
      const last = advisory.events.at(-1)!;
      const ranges = record.ranges.map((range) => ({
        type: 'ECOSYSTEM',
        events: [{ introduced: range.introduced ?? '0' }, ...(range.fixed ? [{ fixed: range.fixed }] : range.lastAffected ? [{ last_affected: range.lastAffected }] : [])],
      }));
      const status = record.status === 'not-affected' ? 'not affected' : ranges.some((range) => range.events.some((event) => 'fixed' in event)) ? `fixed in ${record.ranges[0]!.fixed}` : 'affected, no fix yet';
      records.push({
        id,
        fileName: `${id}.json`,
        record: {
          id,
          modified: osvTimestamp(last.timestamp),
          published: osvTimestamp(advisory.events[0]!.timestamp),
          aliases: [advisory.id, ...(advisory.aliases ?? []).filter((alias) => alias !== advisory.id)],
          summary: `${advisory.id} in Kiln OS package ${file.package}: ${status}`,
          details: advisory.events.map((event) => `${event.timestamp} ${event.type}${event.data ? ` ${JSON.stringify(event.data)}` : ''}`).join('\n'),
          affected: [
            {
              ...(ranges.length > 0 ? { ranges } : {}),
              database_specific: {
                ecosystem: KILN_OSV_ECOSYSTEM,
                name: file.package,
                purl: `pkg:apk/kiln/${file.package}`,
                status: record.status,
                ...(record.note ? { note: record.note } : {}),
              },
            },
          ],
          database_specific: { source: 'kiln advisories', package: file.package, events: advisory.events },
        },
      });
    });
  }
  return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
