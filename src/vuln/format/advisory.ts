import { z } from 'zod';
import { isValidVersion } from '../../apk/index.ts';
import { parseYamlBounded } from '../../lib/index.ts';
import { VulnError } from '../errors.ts';
import type { AffectedRecord } from './model.ts';

// Pure: Kiln's own advisories, one YAML file per origin package (`os/advisories/<origin>.yaml`):
// per vulnerability a list of dated events, oldest first. The latest event is the current state.
//
//   package: openssl
//   advisories:
//     - id: CVE-2099-0001
//       aliases: [GHSA-xxxx-xxxx-xxxx]
//       events:
//         - { timestamp: 2099-01-01T00:00:00Z, type: detected, data: { scanner: kiln } }
//         - { timestamp: 2099-01-02T00:00:00Z, type: fixed, data: { version: 3.0.8-r1, evidence: "debian/changelog: …" } }

/** OpenVEX's justifications for `not_affected`. */
export const VEX_JUSTIFICATIONS = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;

/** An OpenVEX `not_affected` justification. */
export type VexJustification = (typeof VEX_JUSTIFICATIONS)[number];

const timestamp = z.union([z.date().transform((date) => date.toISOString()), z.iso.datetime({ offset: true }), z.iso.date()]);
const note = z.string().min(1).optional();

const eventSchema = z.discriminatedUnion('type', [
  z.strictObject({ timestamp, type: z.literal('detected'), data: z.strictObject({ scanner: note, note }).optional() }),
  z.strictObject({ timestamp, type: z.literal('affected'), data: z.strictObject({ note }).optional() }),
  z.strictObject({ timestamp, type: z.literal('fixed'), data: z.strictObject({ version: z.string().refine(isValidVersion, 'not an apk version'), evidence: note }) }),
  z.strictObject({ timestamp, type: z.literal('not-affected'), data: z.strictObject({ justification: z.enum(VEX_JUSTIFICATIONS), impact: note }) }),
  z.strictObject({ timestamp, type: z.literal('false-positive'), data: z.strictObject({ reason: z.string().min(1) }) }),
  z.strictObject({ timestamp, type: z.literal('pending-upstream'), data: z.strictObject({ note }).optional() }),
  z.strictObject({ timestamp, type: z.literal('fix-not-planned'), data: z.strictObject({ reason: z.string().min(1) }) }),
]);

const advisorySchema = z.strictObject({
  id: z.string().regex(/^[A-Z][A-Z0-9]*-[A-Za-z0-9._:-]+$/, 'a vulnerability id such as CVE-2024-1234'),
  aliases: z.array(z.string().min(1)).optional(),
  events: z.array(eventSchema).min(1),
});

/** Schema of one advisories file (exported as JSON Schema for editors: z.toJSONSchema). */
export const advisoryFileSchema = z
  .strictObject({
    package: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'an apk package name'),
    advisories: z.array(advisorySchema),
  })
  .superRefine((file, context) => {
    const seen = new Set<string>();
    file.advisories.forEach((advisory, index) => {
      if (seen.has(advisory.id)) context.addIssue({ code: 'custom', path: ['advisories', index, 'id'], message: `${advisory.id} appears twice` });
      seen.add(advisory.id);
      advisory.events.forEach((event, eventIndex) => {
        const previous = advisory.events[eventIndex - 1];
        if (previous && Date.parse(event.timestamp) < Date.parse(previous.timestamp)) {
          context.addIssue({ code: 'custom', path: ['advisories', index, 'events', eventIndex, 'timestamp'], message: `earlier than the event before it (${previous.timestamp}); events are oldest first` });
        }
      });
    });
  });

/** One advisories file: the events of every vulnerability of one origin package. */
export type AdvisoryFile = z.infer<typeof advisoryFileSchema>;
/** One vulnerability's advisory. */
export type Advisory = AdvisoryFile['advisories'][number];
/** One dated event. */
export type AdvisoryEvent = Advisory['events'][number];

/** Parses and validates an advisories file. VULN_ADVISORY_INVALID names file:line:column and the
 *  field at fault; the file's name must be `<package>.yaml`. */
export function parseAdvisoryFile(text: string, file: string, expectedPackage?: string): AdvisoryFile {
  const { doc, lineCounter } = parseYamlBounded(text, file);
  const fail = (path: ReadonlyArray<string | number>, message: string): never => {
    let node: unknown;
    for (let length = path.length; length >= 0 && !node; length--) node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    const offset = (node as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
    const at = lineCounter.linePos(offset);
    const field = path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('').replace(/^\./, '');
    throw new VulnError('VULN_ADVISORY_INVALID', `${file}:${at.line}:${at.col}: ${field || 'document'}: ${message}`, { detail: { file, line: at.line, column: at.col, field } });
  };
  const syntax = doc.errors[0];
  if (syntax) {
    const at = lineCounter.linePos(syntax.pos[0]);
    throw new VulnError('VULN_ADVISORY_INVALID', `${file}:${at.line}:${at.col}: not valid YAML: ${syntax.message.split('\n')[0]}`, { detail: { file, line: at.line, column: at.col } });
  }
  const parsed = advisoryFileSchema.safeParse(doc.toJS({ maxAliasCount: -1 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(issue.path as Array<string | number>, issue.message);
  }
  if (expectedPackage !== undefined && parsed.data.package !== expectedPackage) fail(['package'], `is ${parsed.data.package}, but the file is named for ${expectedPackage}`);
  return parsed.data;
}

/** The state an advisory is in now: its latest event. */
export function currentEvent(advisory: Advisory): AdvisoryEvent {
  return advisory.events.at(-1)!;
}

/** Advisories as index records of an ecosystem: `fixed` bounds the affected range, `not-affected`
 *  and `false-positive` suppress (the note carries the OpenVEX justification first), `detected`,
 *  `affected`, `pending-upstream` and `fix-not-planned` are affected with no fix. */
export function advisoryRecords(file: AdvisoryFile, feed: string, ecosystem: string): AffectedRecord[] {
  return file.advisories.map((advisory) => {
    const event = currentEvent(advisory);
    const base = { feed, ecosystem, package: file.package, vulnerability: advisory.id, aliases: advisory.aliases ?? [], versions: [] as string[] };
    switch (event.type) {
      case 'fixed':
        return { ...base, status: 'affected', ranges: [{ fixed: event.data.version }], ...(event.data.evidence ? { note: event.data.evidence } : {}) };
      case 'not-affected':
        return { ...base, status: 'not-affected', ranges: [], note: event.data.impact ? `${event.data.justification}: ${event.data.impact}` : event.data.justification };
      case 'false-positive':
        return { ...base, status: 'not-affected', ranges: [], note: `false positive: ${event.data.reason}` };
      case 'fix-not-planned':
        return { ...base, status: 'affected', ranges: [{}], note: `fix not planned: ${event.data.reason}` };
      case 'pending-upstream':
        return { ...base, status: 'affected', ranges: [{}], note: event.data?.note ? `pending upstream fix: ${event.data.note}` : 'pending upstream fix' };
      case 'detected':
        return { ...base, status: 'affected', ranges: [{}], note: 'under investigation' };
      default:
        return { ...base, status: 'affected', ranges: [{}], ...(event.data?.note ? { note: event.data.note } : {}) };
    }
  });
}
