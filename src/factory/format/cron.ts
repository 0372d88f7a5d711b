// Standard 5-field cron expressions (Vixie cron / cronie semantics) and their next fire time, in UTC.
// Written here rather than taken from a library: the few cron packages that fit Node 20 bring their
// own timers, time-zone tables and extensions (seconds fields, `L`, `#`, `?`) that a schedule file then
// accepts and that crontab(5) does not; this is ~150 lines of pure code with table tests.
//
//   minute hour day-of-month month day-of-week
//   *  a  a-b  */n  a-b/n  a/n (a to the end, every n)  lists with `,`
//   months jan–dec, weekdays sun–sat (0 and 7 are Sunday), macros @yearly @annually @monthly
//   @weekly @daily @midnight @hourly
//
// Day of month and day of week: when either field starts with `*` both must match (so `*/2` in one
// restricts with AND, as in cronie); when both are restricted, either may match (crontab(5)).
import { FactoryQueueError } from '../queue/errors.ts';

/** A parsed cron schedule: the allowed values of each field. */
export interface CronSchedule {
  source: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 is folded into 0). */
  daysOfWeek: ReadonlySet<number>;
  /** Day of month or day of week starts with `*`: both must match. Otherwise either may. */
  daysMatchAll: boolean;
}

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Value of names[0]. */
  nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
];

function invalid(source: string, why: string): FactoryQueueError {
  return new FactoryQueueError('SCHEDULE_INVALID', `schedule ${JSON.stringify(source)}: ${why}`, { detail: { schedule: source } });
}

function parseValue(text: string, field: FieldSpec, source: string): number {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (field.nameBase ?? 0);
  if (!/^\d{1,2}$/.test(text)) throw invalid(source, `${field.name}: ${JSON.stringify(text)} is not a number${field.names ? ' or a name' : ''}`);
  const value = Number(text);
  if (value < field.min || value > field.max) throw invalid(source, `${field.name}: ${value} is outside ${field.min}-${field.max}`);
  return value;
}

function parseField(text: string, field: FieldSpec, source: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!match) throw invalid(source, `${field.name}: ${JSON.stringify(item)} is not a value, range or step`);
    const [, range, stepText] = match as unknown as [string, string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw invalid(source, `${field.name}: step ${JSON.stringify(stepText)} must be at least 1`);
    let low: number;
    let high: number;
    if (range === '*') {
      low = field.min;
      high = field.max;
    } else if (range.includes('-')) {
      const parts = range.split('-');
      if (parts.length !== 2) throw invalid(source, `${field.name}: ${JSON.stringify(range)} is not a range`);
      low = parseValue(parts[0]!, field, source);
      high = parseValue(parts[1]!, field, source);
      if (low > high) throw invalid(source, `${field.name}: range ${range} runs backwards`);
    } else {
      low = parseValue(range, field, source);
      high = stepText === undefined ? low : field.max;
    }
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Parses a 5-field expression or macro; throws SCHEDULE_INVALID naming the field at fault, and for
 *  a schedule that never fires (`0 0 30 2 *`). */
export function parseCron(source: string): CronSchedule {
  const text = source.trim();
  const expanded = MACROS[text.toLowerCase()] ?? text;
  if (expanded.startsWith('@')) throw invalid(source, `unknown macro (expected one of ${Object.keys(MACROS).join(', ')})`);
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw invalid(source, `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const [minutes, hours, daysOfMonth, months, rawDaysOfWeek] = parts.map((part, index) => parseField(part, FIELDS[index]!, source)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const daysOfWeek = new Set([...rawDaysOfWeek].map((day) => day % 7));
  const daysMatchAll = parts[2]!.startsWith('*') || parts[4]!.startsWith('*');
  // With AND semantics the day of month must exist in some allowed month (Feb 29 counts: leap years).
  if (daysMatchAll && ![...months].some((month) => [...daysOfMonth].some((day) => day <= DAYS_IN_MONTH[month - 1]!))) {
    throw invalid(source, 'never fires: no allowed month has the allowed day of month');
  }
  return { source, minutes, hours, daysOfMonth, months, daysOfWeek, daysMatchAll };
}

function dayMatches(schedule: CronSchedule, date: Date): boolean {
  const dom = schedule.daysOfMonth.has(date.getUTCDate());
  const dow = schedule.daysOfWeek.has(date.getUTCDay());
  return schedule.daysMatchAll ? dom && dow : dom || dow;
}

const MINUTE = 60_000;

/** The first minute strictly after `after` (UTC) at which the schedule fires. */
export function nextCronTime(schedule: CronSchedule, after: Date): Date {
  const t = new Date(Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE);
  // Skips whole months, days and hours that cannot match; 28 years hold every weekday/date pairing.
  const limit = after.getTime() + 28 * 366 * 24 * 60 * MINUTE;
  while (t.getTime() <= limit) {
    if (!schedule.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(schedule, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!schedule.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
    } else if (!schedule.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    } else {
      return t;
    }
  }
  throw invalid(schedule.source, 'never fires');
}
