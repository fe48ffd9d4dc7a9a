/**
 * Scale-out on BullMQ with a real Redis at 127.0.0.1:6379 (skipped with a message when none answers;
 * `.ci/run` starts one): the nightly job through the queue with its checkpoint in Redis, a worker killed
 * with SIGKILL mid-job (its job is retried by another worker after the stalled check), and dead-letter
 * after N attempts. Each run uses its own key prefix and deletes its keys afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createAnalysisWorker, createBullQueue } from '../../src/batch/bullmq.js';
import { redisCheckpointStore } from '../../src/batch/checkpoint.js';
import { nightlyDeps } from '../../src/batch/job.js';
import { runNightly } from '../../src/batch/nightly.js';
import {
  flushPrefix,
  REDIS_URL,
  redisAnswers,
  seedEcgs,
  spawnChild,
  tallyReports,
  until,
} from '../support/batch.js';
import { type RunningService, startService } from '../support/service.js';

const hasRedis = await redisAnswers();
if (!hasRedis) process.stderr.write(`# skipping BullMQ tests: no Redis answers at ${REDIS_URL}\n`);
const PREFIX = `ecg-cds-test-${randomUUID().slice(0, 8)}`;

describe('BullMQ scale-out', { skip: hasRedis ? false : `no Redis at ${REDIS_URL}` }, () => {
  let s: RunningService;
  before(async () => {
    s = await startService({
      SUBSCRIPTIONS_ENSURE: 'false',
      REDIS_URL,
      REDIS_PREFIX: PREFIX,
      BATCH_RATE_PER_SEC: '1000',
    });
  });
  after(async () => {
    await s?.stop();
    await flushPrefix(PREFIX);
  });

  test('the nightly job enqueues on BullMQ, a worker analyses, the checkpoint is in Redis', async () => {
    const ecgs = await seedEcgs(s.c.backend, 10, 'bull');
    const worker = createAnalysisWorker(s.c.processJob, { url: REDIS_URL, prefix: PREFIX, concurrency: 2 });
    try {
      const deps = await nightlyDeps(s.c, { batchSize: 4 });
      const first = await runNightly(deps);
      assert.equal(first.analysed, 10);
      assert.equal(first.failed, 0);
      const second = await runNightly(deps);
      assert.deepEqual([second.mode, second.queued], ['incremental', 0]);
      assert.equal((await deps.checkpoints.load())?.complete, true);
      await deps.checkpoints.close();
      const t = await tallyReports(s.c.backend, ecgs, s.c.models.version);
      assert.deepEqual([t.missing, t.duplicated], [0, 0]);
    } finally {
      await worker.close();
    }
  });

  test('the nightly job killed with SIGKILL mid-run resumes from its Redis checkpoint', async () => {
    const ecgs = await seedEcgs(s.c.backend, 40, 'bull-kill');
    const worker = createAnalysisWorker(s.c.processJob, { url: REDIS_URL, prefix: PREFIX, concurrency: 2 });
    const store = redisCheckpointStore(REDIS_URL, PREFIX);
    try {
      const env = {
        FHIR_BASE_URL: `${s.base}/fhir`,
        REDIS_URL,
        REDIS_PREFIX: PREFIX,
        NIGHTLY_BATCH: '8',
        SUBSCRIPTIONS_ENSURE: 'false',
        BATCH_RATE_PER_SEC: '1000',
      };
      const before = (await store.load())?.savedAt;
      const run1 = spawnChild('nightly', env);
      await until(
        async () => {
          const c = await store.load();
          return c !== undefined && c.savedAt !== before && !c.complete;
        },
        60_000,
        'the first run to checkpoint a batch',
      );
      run1.child.kill('SIGKILL');
      await run1.exited;
      const run2 = spawnChild('nightly', env);
      assert.equal(await run2.exited, 0);
      const summary = JSON.parse(run2.lines.at(-1) ?? '{}') as { mode: string };
      assert.equal(summary.mode, 'incremental');
      const t = await tallyReports(s.c.backend, ecgs, s.c.models.version);
      assert.deepEqual([t.missing, t.duplicated], [0, 0]);
      assert.equal((await store.load())?.complete, true);
    } finally {
      await store.close();
      await worker.close();
    }
  });

  test('a worker killed with SIGKILL mid-job: another worker retries the job', async () => {
    const [ecg] = await seedEcgs(s.c.backend, 1, 'killed-worker');
    const env = {
      FHIR_BASE_URL: `${s.base}/fhir`,
      REDIS_URL,
      REDIS_PREFIX: PREFIX,
      BATCH_CONCURRENCY: '1',
      SUBSCRIPTIONS_ENSURE: 'false',
    };
    const a = spawnChild('worker', { ...env, SLOW_MS: '30000' });
    await until(() => a.lines.includes('ready'), 30_000, 'worker A to start');
    assert.ok(
      await s.c.queue.enqueue({
        observationId: ecg?.id ?? '',
        versionId: ecg?.meta?.versionId ?? '',
        reason: 'nightly',
      }),
    );
    await until(() => a.lines.includes(`active ${ecg?.id}`), 10_000, 'worker A to take the job');
    a.child.kill('SIGKILL');
    await a.exited;
    const b = spawnChild('worker', env);
    try {
      await until(() => b.lines.includes(`done ${ecg?.id}`), 30_000, 'worker B to finish the stalled job');
      await s.c.queue.drain();
      const t = await tallyReports(s.c.backend, [ecg as fhir4.Observation], s.c.models.version);
      assert.deepEqual(t.perEcg, [1]);
    } finally {
      b.child.kill('SIGTERM');
      await b.exited;
    }
  });

  test('one replica at a time holds the nightly run lock', async () => {
    const a = redisCheckpointStore(REDIS_URL, PREFIX);
    const b = redisCheckpointStore(REDIS_URL, PREFIX);
    try {
      const release = await a.lock(5_000);
      assert.ok(release);
      assert.equal(await b.lock(5_000), undefined);
      await release();
      const again = await b.lock(5_000);
      assert.ok(again);
      await again();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a job failing every attempt goes to the dead-letter queue after N attempts', async () => {
    const prefix = `${PREFIX}-dlq`;
    const queue = createBullQueue({ url: REDIS_URL, prefix, attempts: 3, backoffMs: 20 });
    let calls = 0;
    const worker = createAnalysisWorker(
      async () => {
        calls++;
        throw new Error('FHIR server says no');
      },
      { url: REDIS_URL, prefix, concurrency: 1 },
    );
    try {
      assert.equal(await queue.enqueue({ observationId: 'poison', versionId: '1', reason: 'nightly' }), true);
      assert.equal(
        await queue.enqueue({ observationId: 'poison', versionId: '1', reason: 'nightly' }),
        false,
      );
      await queue.drain();
      assert.equal(calls, 3);
      const dead = await queue.deadLetters.getJobs(['waiting']);
      assert.equal(dead.length, 1);
      assert.deepEqual([dead[0]?.data.job.observationId, dead[0]?.data.attempts], ['poison', 3]);
      assert.match(dead[0]?.data.error ?? '', /says no/);
    } finally {
      await worker.close();
      await queue.close();
      await flushPrefix(prefix);
    }
  });
});
