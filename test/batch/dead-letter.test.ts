/**
 * Dead letters (issue #11 item 7): a job that cannot succeed is dead-lettered (a 404 at once, without
 * retries), later nightly runs retry it a bounded number of rounds (recorded), and `ecg-cds dlq list|retry`
 * show and retry it over the same store: FHIR `Basic` without Redis, the BullMQ dead-letter queue with it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAnalysisWorker, createBullQueue, redisDeadLetterStore } from '../../src/batch/bullmq.js';
import { type DeadLetter, MAX_DEAD_LETTER_ROUNDS, retryDeadLetters } from '../../src/batch/dead-letter.js';
import { nightlyDeps } from '../../src/batch/job.js';
import { runNightly } from '../../src/batch/nightly.js';
import { REPO_ROOT } from '../../src/main.js';
import { flushPrefix, REDIS_URL, redisAnswers, tallyReports } from '../support/batch.js';
import { type RunningService, startService } from '../support/service.js';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const { REDIS_URL: _r, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args],
    { env: { ...inherited, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((ok) => child.once('exit', (code) => ok({ code, out })));
}

describe('dead letters without Redis (FHIR Basic store)', { timeout: 120_000 }, () => {
  let s: RunningService;
  let env: Record<string, string>;
  const ID = `dlq-${randomUUID().slice(0, 8)}`;
  const job = { observationId: ID, versionId: '1', reason: 'subscription' as const };
  const entry = async (): Promise<DeadLetter | undefined> =>
    (await s.c.deadLetters.list()).find((d) => d.id === `${ID}@1`);

  before(async () => {
    s = await startService({ SUBSCRIPTIONS_ENSURE: 'false', BATCH_RATE_PER_SEC: '1000' });
    await s.c.catchUp.idle();
    env = { FHIR_BASE_URL: `${s.base}/fhir`, SUBSCRIPTIONS_ENSURE: 'false' };
  });
  after(async () => {
    await s?.stop();
  });

  test('a 404 is dead-lettered at once; later runs retry it for a bounded number of rounds', async () => {
    assert.equal(await s.c.queue.enqueue(job), true);
    await s.c.queue.drain();
    const first = await entry();
    assert.deepEqual([first?.rounds, first?.attempts], [1, 1], 'one attempt: a 404 is not retried');
    assert.match(first?.error ?? '', /404/);

    const deps = await nightlyDeps(s.c, { batchSize: 50 });
    try {
      for (let round = 2; round <= MAX_DEAD_LETTER_ROUNDS; round++) {
        const run = await runNightly(deps);
        assert.equal(run.deadLettersRetried, 1, `run ${round - 1} retries it`);
        assert.equal((await entry())?.rounds, round);
      }
      const gaveUp = await runNightly(deps);
      assert.equal(gaveUp.deadLettersRetried, undefined, 'exhausted: no more automatic retries');
      assert.equal((await entry())?.rounds, MAX_DEAD_LETTER_ROUNDS);
      assert.equal((await entry())?.attempts, MAX_DEAD_LETTER_ROUNDS);
    } finally {
      await deps.checkpoints.close();
    }
  });

  test('`dlq list --json` shows it; `dlq retry --all` analyses it once it can be read', async () => {
    const listed = await cli(['dlq', 'list', '--json'], env);
    assert.equal(listed.code, 0);
    const all = JSON.parse(listed.out) as Array<DeadLetter & { exhausted: boolean }>;
    const mine = all.find((d) => d.id === `${ID}@1`);
    assert.deepEqual(
      [mine?.job.observationId, mine?.rounds, mine?.exhausted],
      [ID, MAX_DEAD_LETTER_ROUNDS, true],
    );

    const text = await cli(['dlq', 'list'], env);
    assert.match(text.out, new RegExp(`${ID}@1\\tsubscription\\texhausted`));

    // Still missing: the retry fails, is recorded, exit code 1.
    const failed = await cli(['dlq', 'retry', `${ID}@1`, 'nope@9', '--json'], env);
    assert.equal(failed.code, 1);
    const f = JSON.parse(failed.out) as {
      failed: number;
      notFound: string[];
      results: Array<{ rounds: number }>;
    };
    assert.deepEqual(
      [f.failed, f.notFound, f.results[0]?.rounds],
      [1, ['nope@9'], MAX_DEAD_LETTER_ROUNDS + 1],
    );

    // The ECG appears (version 1 of that id): the retry analyses it and the entry is resolved.
    const { id: _id, meta: _meta, ...template } = s.seeded[0]!.observation;
    await s.c.backend.update({ ...template, id: ID } as fhir4.Observation & { id: string });
    const ok = await cli(['dlq', 'retry', '--all', '--json'], env);
    assert.equal(ok.code, 0, ok.out);
    const r = JSON.parse(ok.out) as { retried: number; resolved: number; failed: number };
    assert.deepEqual([r.retried, r.resolved, r.failed], [1, 1, 0]);
    const t = await tallyReports(
      s.c.backend,
      [{ ...template, id: ID, meta: { versionId: '1' } } as fhir4.Observation],
      s.c.models.version,
    );
    assert.deepEqual(t.perEcg, [1]);
    assert.deepEqual(JSON.parse((await cli(['dlq', 'list', '--json'], env)).out), []);
  });

  test('`dlq retry` without job ids or --all is a usage error', async () => {
    assert.equal((await cli(['dlq', 'retry'], env)).code, 2);
  });
});

const hasRedis = await redisAnswers();
describe('dead letters on Redis (BullMQ)', { skip: hasRedis ? false : `no Redis at ${REDIS_URL}` }, () => {
  const prefix = `ecg-cds-test-dlq-${randomUUID().slice(0, 8)}`;
  after(async () => {
    if (hasRedis) await flushPrefix(prefix);
  });

  test('permanent errors skip retries; a retry runs again, counts a round, and resolves on success', async () => {
    const queue = createBullQueue({ url: REDIS_URL, prefix, attempts: 3, backoffMs: 20 });
    const store = redisDeadLetterStore(REDIS_URL, prefix);
    let fixed = false;
    let calls = 0;
    const worker = createAnalysisWorker(
      async (job) => {
        calls++;
        if (!fixed)
          throw Object.assign(new Error('GET Observation/gone: HTTP 404'), {
            name: 'FhirRequestError',
            status: 404,
          });
        if (job.retry !== undefined) await store.resolve(`${job.observationId}@${job.versionId}`);
      },
      { url: REDIS_URL, prefix, concurrency: 1 },
    );
    try {
      await queue.enqueue({ observationId: 'gone', versionId: '1', reason: 'nightly' });
      await queue.drain();
      assert.equal(calls, 1, 'a 404 is not retried');
      assert.deepEqual(
        (await store.list()).map((d) => [d.id, d.rounds, d.attempts]),
        [['gone@1', 1, 1]],
      );

      const again = await retryDeadLetters(store, queue);
      assert.equal(again.retried.length, 1, 'the failed job is queued again, not deduplicated');
      await queue.drain();
      assert.deepEqual(
        (await store.list()).map((d) => d.rounds),
        [2],
      );

      fixed = true;
      await retryDeadLetters(store, queue);
      await queue.drain();
      assert.deepEqual(await store.list(), []);
      assert.equal(calls, 3);
    } finally {
      await worker.close();
      await store.close();
      await queue.close();
    }
  });
});
