// Fires a callback at each minute a cron schedule names (UTC). One timer at a time; a tick that is
// still running when the next one is due delays it rather than overlapping it.
import type { Logger } from '../../lib/index.ts';
import { nextCronTime } from '../format/cron.ts';
import type { CronSchedule } from '../format/cron.ts';

/** How the scheduler runs; `now` is for tests. */
export interface SchedulerOptions {
  schedule: CronSchedule;
  /** Called with the scheduled minute (not the time the timer actually fired). */
  onTick: (scheduledAt: Date) => Promise<void>;
  logger: Logger;
  now?: () => Date;
}

/** A running schedule. */
export interface Scheduler {
  /** The next scheduled minute, or undefined once stopped. */
  nextRun(): Date | undefined;
  stop(): void;
}

// setTimeout's longest delay (about 24.8 days); longer waits re-arm.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Starts firing `onTick` at the schedule's minutes. */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? (() => new Date());
  let next: Date | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const arm = (after: Date): void => {
    if (stopped) return;
    const due = nextCronTime(options.schedule, after);
    next = due;
    const wait = () => {
      const remaining = due.getTime() - now().getTime();
      if (remaining > 0) {
        timer = setTimeout(wait, Math.min(remaining, MAX_TIMER_MS));
        return;
      }
      void fire(due);
    };
    wait();
  };

  const fire = async (due: Date): Promise<void> => {
    try {
      await options.onTick(due);
    } catch (error) {
      options.logger.error({ scheduledAt: due.toISOString(), err: error }, 'scheduled tick failed');
    }
    const current = now();
    arm(current > due ? current : due);
  };

  arm(now());
  return {
    nextRun: () => (stopped ? undefined : next),
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
