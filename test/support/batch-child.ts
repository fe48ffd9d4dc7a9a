/**
 * A child process for the kill tests: `nightly` runs the nightly job once against FHIR_BASE_URL and prints
 * its summary as one JSON line; `worker` consumes the BullMQ queue with a short stalled-job interval,
 * printing `active <jobId>` when a job starts (SLOW_MS makes each job take at least that long).
 * Configured by env only, like the real `ecg-cds` commands.
 */
import { createAnalysisWorker } from '../../src/batch/bullmq.js';
import { nightlyDeps } from '../../src/batch/job.js';
import { runNightly } from '../../src/batch/nightly.js';
import { loadConfig } from '../../src/config.js';
import { compose } from '../../src/main.js';
import { silentLogger } from '../../src/ops/log.js';

const mode = process.argv[2];
const config = loadConfig();
const c = await compose(config, silentLogger);
if (mode === 'nightly') {
  const deps = await nightlyDeps(c, { batchSize: Number(process.env['NIGHTLY_BATCH'] ?? 10) });
  const summary = await runNightly(deps);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  await deps.checkpoints.close();
  await c.close();
} else if (mode === 'worker') {
  const slow = Number(process.env['SLOW_MS'] ?? 0);
  const worker = createAnalysisWorker(
    async (job) => {
      process.stdout.write(`active ${job.observationId}\n`);
      if (slow) await new Promise((r) => setTimeout(r, slow));
      await c.processJob(job);
      process.stdout.write(`done ${job.observationId}\n`);
    },
    {
      url: config.redisUrl ?? '',
      prefix: config.redisPrefix,
      concurrency: config.nightly.concurrency,
      stalledIntervalMs: 500,
      lockDurationMs: 1000,
    },
  );
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void worker
      .close()
      .then(() => c.close())
      .then(() => process.exit(0));
  });
} else {
  process.stderr.write(`batch-child: unknown mode ${mode}\n`);
  process.exit(2);
}
