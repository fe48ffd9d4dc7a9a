/**
 * The nightly schedule: node-cron (https://github.com/node-cron/node-cron) with the configured expression
 * and IANA timezone. A run that would start while the previous one is still going is skipped (and
 * logged), not queued behind it. Started by main(), never by compose(), so tests decide when jobs run.
 */
import cron from 'node-cron';
import type { Logger } from '../ops/log.js';

export interface NightlySchedule {
  /** Run now unless a run is in progress; false when skipped. */
  trigger(): Promise<boolean>;
  /**
   * Stop scheduling. A run in progress is not waited for: shutdown must fit a container's grace period,
   * and the checkpoint lets the next run resume where this one is cut off.
   */
  stop(): Promise<void>;
}

export function scheduleNightly(opts: {
  readonly cron: string;
  readonly timezone: string;
  readonly run: () => Promise<unknown>;
  readonly log: Logger;
}): NightlySchedule {
  if (!cron.validate(opts.cron)) throw new Error(`NIGHTLY_CRON is not a valid cron expression: ${opts.cron}`);
  let running: Promise<unknown> | undefined;
  const trigger = async (): Promise<boolean> => {
    if (running) {
      opts.log.warn({ event: 'nightly.skipped' }, 'nightly run skipped: the previous one is still running');
      return false;
    }
    running = opts
      .run()
      .catch((err: Error) =>
        opts.log.error({ event: 'nightly.failed', err: err.message }, 'nightly run failed'),
      );
    try {
      await running;
    } finally {
      running = undefined;
    }
    return true;
  };
  const task = cron.schedule(opts.cron, () => trigger(), { timezone: opts.timezone, name: 'nightly' });
  opts.log.info(
    { event: 'nightly.scheduled', cron: opts.cron, timezone: opts.timezone, next: task.getNextRun() },
    'nightly back-analysis scheduled',
  );
  return {
    trigger,
    async stop() {
      await task.stop();
    },
  };
}
