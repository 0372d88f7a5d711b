// Pure: durations as people write them in configs and flags.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses a duration into milliseconds: `90s`, `15m`, `1h30m`, `30d`, `1w2d`, `250ms`, or a bare whole
 *  number of seconds (`3600`, the unit older configs use). Undefined when the text is not one. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d{1,12}$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d{1,12})(ms|[smhdw])/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) return undefined;
  return parts.reduce((total, part) => total + Number(part[1]) * UNIT_MS[part[2]!]!, 0);
}

/** The words every duration error shows, so each names the same accepted forms. */
export const DURATION_FORMS = 'a whole number of seconds or a duration like 90s, 15m, 1h30m, 7d, 1w';

/** Writes milliseconds in the form parseDurationMs reads, largest units first (`1h30m`, `250ms`, `0s`). */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  const parts: string[] = [];
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}
