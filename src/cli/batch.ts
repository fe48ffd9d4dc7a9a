/**
 * `ecg-cds worker` and `ecg-cds backfill`: the nightly job's two command-line faces (issue #5).
 * Both compose the service against FHIR_BASE_URL (a worker or a backfill has no embedded server to read).
 */
import { createAnalysisWorker } from '../batch/bullmq.js';
import { nightlyDeps } from '../batch/job.js';
import { runNightly } from '../batch/nightly.js';
import { type Config, loadConfig } from '../config.js';
import { ECG_OBSERVATION_CODES } from '../fhir/ecg-codec.js';
import { type Composed, compose } from '../main.js';
import { createLogger } from '../ops/log.js';
import { progressBar } from './progress.js';

export class BatchUsageError extends Error {
  override readonly name = 'UsageError';
}

export function configFor(command: string): Config {
  const config = loadConfig();
  if (config.demo)
    throw new BatchUsageError(`${command}: set FHIR_BASE_URL (the FHIR server to read and write)`);
  return config;
}

/** A local BullMQ worker when the queue is on Redis (else the in-process queue does the work). */
export function workerFor(c: Composed) {
  if (!c.config.redisUrl) return undefined;
  return createAnalysisWorker(c.processJob, {
    url: c.config.redisUrl,
    prefix: c.config.redisPrefix,
    concurrency: c.config.nightly.concurrency,
    ratePerSec: c.config.nightly.ratePerSec,
    log: c.log,
  });
}

/** Consume the BullMQ queue until SIGTERM/SIGINT, then finish the active jobs and exit. */
export async function runWorker(): Promise<number> {
  const config = configFor('worker');
  if (!config.redisUrl) throw new BatchUsageError('worker: set REDIS_URL (the queue to consume)');
  const log = createLogger(config.logLevel);
  const c = await compose(config, log);
  const worker = workerFor(c);
  log.info({ event: 'worker.start', models: c.models.version }, 'worker consuming ecg-analysis');
  await new Promise<void>((ok) => {
    process.once('SIGTERM', ok);
    process.once('SIGINT', ok);
  });
  log.info({ event: 'worker.stop' }, 'worker stopping: finishing active jobs');
  await worker?.close();
  await c.close();
  return 0;
}

export interface BackfillArgs {
  readonly since: string;
  readonly until?: string;
  readonly dryRun: boolean;
}

/** Run the nightly job now over [since, until) with a progress bar; dry run: list, write nothing. */
export async function runBackfill(args: BackfillArgs): Promise<number> {
  for (const d of [args.since, args.until]) {
    if (d !== undefined && Number.isNaN(Date.parse(d)))
      throw new BatchUsageError(`backfill: not a date: ${d} (use e.g. 2024-01-31 or 2024-01-31T02:00:00Z)`);
  }
  const config = configFor('backfill');
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const c = await compose(config, log);
  const worker = args.dryRun ? undefined : workerFor(c);
  const deps = await nightlyDeps(c);
  try {
    const count = await c.backend
      .search('Observation', {
        code: ECG_OBSERVATION_CODES,
        _lastUpdated: [`ge${args.since}`, ...(args.until ? [`lt${args.until}`] : [])],
        _summary: 'count',
      })
      .catch(() => ({ total: 0 }) as fhir4.Bundle); // no count: no bar, the run is the same
    const bar = progressBar(count.total ?? 0, args.dryRun ? 'checking' : 'analysing');
    let ticked = 0;
    const result = await runNightly(deps, {
      since: args.since,
      ...(args.until ? { until: args.until } : {}),
      dryRun: args.dryRun,
      reason: 'backfill',
      onBatch: (seen, last) => {
        for (; ticked < seen; ticked++) bar.tick(last.lastUpdated);
      },
    });
    bar.stop();
    if (result.wouldAnalyse) {
      for (const ref of result.wouldAnalyse)
        process.stdout.write(`Observation/${ref.id}/_history/${ref.versionId ?? '?'}\t${ref.lastUpdated}\n`);
      process.stdout.write(
        `dry run: ${result.wouldAnalyse.length} of ${result.seen} ECGs would be analysed with ${c.models.version}\n`,
      );
    } else {
      const { seen, alreadyAnalysed, analysed, failed, byFinding, newFindings, durationMs } = result;
      process.stdout.write(
        `${JSON.stringify({ seen, alreadyAnalysed, analysed, failed, newFindings, byFinding, durationMs }, null, 2)}\n`,
      );
    }
    return result.failed > 0 ? 1 : 0;
  } finally {
    await deps.checkpoints.close();
    await worker?.close();
    await c.close();
  }
}
