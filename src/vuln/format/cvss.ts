import type { CvssScore } from './model.ts';

// Pure: CVSS base scores. v3.0/v3.1 scores are computed from the vector (FIRST's specification,
// section 7.1, with v3.1's Roundup), v2.0 scores with FIRST's CVSS v2 guide (section 3.2.1), v4.0
// in cvss4.ts. Small and exact: no library needed.

const V3_WEIGHTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};

function roundUp(value: number): number {
  const integer = Math.round(value * 100000);
  return integer % 10000 === 0 ? integer / 100000 : (Math.floor(integer / 10000) + 1) / 10;
}

/** The base score of a CVSS v3.x vector (`CVSS:3.1/AV:N/AC:L/…`), or undefined when malformed. */
export function cvss3BaseScore(vector: string): number | undefined {
  const parts = vector.split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return undefined;
  const metrics: Record<string, string> = {};
  for (const part of parts.slice(1)) {
    const [key, value] = part.split(':');
    if (!key || !value) return undefined;
    metrics[key] = value;
  }
  const scope = metrics.S;
  const pr = metrics.PR;
  if (scope !== 'U' && scope !== 'C') return undefined;
  const prWeight = pr === 'N' ? 0.85 : pr === 'L' ? (scope === 'C' ? 0.68 : 0.62) : pr === 'H' ? (scope === 'C' ? 0.5 : 0.27) : undefined;
  const weight = (key: string) => V3_WEIGHTS[key]![metrics[key] ?? ''];
  const [av, ac, ui, c, i, a] = ['AV', 'AC', 'UI', 'C', 'I', 'A'].map(weight);
  if (prWeight === undefined || [av, ac, ui, c, i, a].some((value) => value === undefined)) return undefined;
  const iss = 1 - (1 - c!) * (1 - i!) * (1 - a!);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  const exploitability = 8.22 * av! * ac! * prWeight * ui!;
  if (impact <= 0) return 0;
  return scope === 'U' ? roundUp(Math.min(impact + exploitability, 10)) : roundUp(Math.min(1.08 * (impact + exploitability), 10));
}

const V2_WEIGHTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  AV: { L: 0.395, A: 0.646, N: 1 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 },
};

/** The base score of a CVSS v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, also in parentheses as NVD's
 *  old feeds write it), or undefined when malformed. Temporal and environmental metrics may follow. */
export function cvss2BaseScore(vector: string): number | undefined {
  const metrics: Record<string, string> = {};
  for (const part of vector.trim().replace(/^\((.*)\)$/, '$1').split('/')) {
    const [key, value, extra] = part.split(':');
    if (!key || !value || extra !== undefined || key in metrics) return undefined;
    metrics[key] = value;
  }
  const [av, ac, au, c, i, a] = ['AV', 'AC', 'Au', 'C', 'I', 'A'].map((key) => V2_WEIGHTS[key]![metrics[key] ?? '']);
  if ([av, ac, au, c, i, a].some((weight) => weight === undefined)) return undefined;
  const impact = 10.41 * (1 - (1 - c!) * (1 - i!) * (1 - a!));
  const exploitability = 20 * av! * ac! * au!;
  const score = (0.6 * impact + 0.4 * exploitability - 1.5) * (impact === 0 ? 0 : 1.176);
  return Math.round(score * 10) / 10;
}

/** Qualitative severity ratings, lowest first (UNKNOWN: no score known). */
export const SEVERITIES = ['UNKNOWN', 'NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

/** A qualitative severity rating. */
export type Severity = (typeof SEVERITIES)[number];

/** The rating of a CVSS v3/v4 base score (CVSS specification's table). */
export function severityOfScore(score: number | undefined): Severity {
  if (score === undefined) return 'UNKNOWN';
  if (score === 0) return 'NONE';
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}

/** The rating of a score with its CVSS version: v2.0 has no CRITICAL or NONE (NVD's v2 table:
 *  below 4 LOW, below 7 MEDIUM, else HIGH); v3.x and v4.0 share the specification's table. */
export function severityOfCvss(cvss: Pick<CvssScore, 'version' | 'score'> | undefined): Severity {
  if (cvss?.version !== '2.0') return severityOfScore(cvss?.score);
  return cvss.score < 4 ? 'LOW' : cvss.score < 7 ? 'MEDIUM' : 'HIGH';
}

/** Rank of a severity for comparisons (UNKNOWN lowest). */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Parses a `--fail-on` style severity name (case-insensitive), or undefined. */
export function parseSeverity(text: string): Severity | undefined {
  const upper = text.toUpperCase();
  return (SEVERITIES as readonly string[]).includes(upper) ? (upper as Severity) : undefined;
}
