/**
 * The {@link AnalysisQueue} on BullMQ (https://docs.bullmq.io): with REDIS_URL set, producers (the nightly
 * job, Subscription notifications, the hook's overflow) add jobs here and any number of `ecg-cds worker`
 * processes on any machines consume them. Semantics shared with the in-process queue: job id = Observation
 * id + version (a duplicate add while the job is queued or running is a no-op), N attempts with exponential
 * backoff, then a dead-letter queue. A killed worker's job is found by BullMQ's stalled-job check (its lock
 * expires) and moved back to wait for another worker; the idempotent write-back makes the re-run harmless.
 */
import { Queue, type RedisOptions, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from '../ops/log.js';
import { type DeadLetter, type DeadLetterStore, nextDeadLetter } from './dead-letter.js';
import { type AnalysisJob, type AnalysisQueue, isPermanentJobError, jobId } from './queue.js';

export const QUEUE_NAME = 'ecg-analysis';
export const DLQ_NAME = 'ecg-analysis-dlq';

export type { DeadLetter } from './dead-letter.js';

export interface BullOptions {
  /** redis:// or rediss:// URL. */
  readonly url: string;
  /** Redis key prefix (default 'ecg-cds'); tests use a unique one per run. */
  readonly prefix?: string;
  /** Attempts before dead-letter (default 5). */
  readonly attempts?: number;
  /** First retry delay; BullMQ's exponential backoff doubles it each attempt (default 1000 ms). */
  readonly backoffMs?: number;
}

/** ioredis options from a Redis URL (BullMQ opens its own connections from them). */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = Number(u.pathname.replace(/^\//, '') || 0);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export interface BullQueue extends AnalysisQueue {
  readonly queue: Queue<AnalysisJob>;
  readonly deadLetters: Queue<DeadLetter>;
}

/** A producer: add jobs; `drain()` polls until no job is waiting, active, delayed or prioritized. */
export function createBullQueue(opts: BullOptions): BullQueue {
  const connection = redisOptions(opts.url);
  const prefix = opts.prefix ?? 'ecg-cds';
  const queue = new Queue<AnalysisJob>(QUEUE_NAME, { connection, prefix });
  const deadLetters = new Queue<DeadLetter>(DLQ_NAME, { connection, prefix });
  const attempts = opts.attempts ?? 5;
  const backoffMs = opts.backoffMs ?? 1000;
  return {
    queue,
    deadLetters,
    async enqueue(job) {
      const id = jobId(job);
      // add() with an existing jobId returns the existing job and adds nothing; checking first only tells
      // the caller which case it was (a race between the two calls costs at most a redundant `true`).
      // A failed job (kept for inspection) is no obstacle: it is dead-lettered, and may run again.
      const existing = await queue.getJob(id);
      if (existing) {
        if (!(await existing.isFailed())) return false;
        await existing.remove().catch(() => undefined);
      }
      await queue.add('analyse', job, {
        jobId: id,
        attempts,
        backoff: { type: 'exponential', delay: backoffMs },
        // Removed when done, so a new model version can queue the same Observation version again; a
        // late duplicate is harmless (the write-back is conditional on the analysis identifier).
        removeOnComplete: true,
        removeOnFail: { count: 10_000 },
      });
      return true;
    },
    async drain() {
      for (;;) {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        if (Object.values(c).every((n) => n === 0)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await Promise.all([queue.close(), deadLetters.close()]);
    },
  };
}

export interface WorkerOptions extends BullOptions {
  readonly concurrency: number;
  /** Jobs started per second across all workers (BullMQ's limiter is global per queue). */
  readonly ratePerSec?: number;
  /** How often a worker looks for stalled jobs (default 30 000 ms; tests use ~1 000). */
  readonly stalledIntervalMs?: number;
  /** A job's lock; a killed worker's job is stalled once it expires (default 30 000 ms). */
  readonly lockDurationMs?: number;
  readonly log?: Logger;
  /** Where dead letters go (default: the `ecg-analysis-dlq` queue under the same prefix). */
  readonly deadLetters?: DeadLetterStore;
}

export interface AnalysisWorker {
  readonly worker: Worker<AnalysisJob>;
  /** Stop taking jobs, let the active ones finish, disconnect. */
  close(): Promise<void>;
}

/** A consumer running `handle` for each job, with bounded concurrency. */
export function createAnalysisWorker(
  handle: (job: AnalysisJob) => Promise<unknown>,
  opts: WorkerOptions,
): AnalysisWorker {
  const connection = redisOptions(opts.url);
  const prefix = opts.prefix ?? 'ecg-cds';
  const deadLetters = opts.deadLetters ?? redisDeadLetterStore(opts.url, prefix);
  const worker = new Worker<AnalysisJob>(
    QUEUE_NAME,
    async (job) => {
      try {
        await handle(job.data);
      } catch (err) {
        // Dead-letter before the last attempt is marked failed, so a crash in between loses nothing.
        // A permanent error (the Observation is gone, the server refuses it) is not retried at all.
        const attempts = job.opts.attempts ?? 1;
        const permanent = isPermanentJobError(err);
        if (permanent || job.attemptsMade + 1 >= attempts) {
          await deadLetters.record(job.data, (err as Error).message, job.attemptsMade + 1);
          opts.log?.error(
            { event: 'queue.dead-letter', observation: job.data.observationId, err: (err as Error).message },
            'job dead-lettered',
          );
        }
        throw permanent ? new UnrecoverableError((err as Error).message) : err;
      }
    },
    {
      connection,
      prefix,
      concurrency: opts.concurrency,
      ...(opts.ratePerSec
        ? { limiter: { max: Math.max(1, Math.round(opts.ratePerSec)), duration: 1000 } }
        : {}),
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      lockDuration: opts.lockDurationMs ?? 30_000,
      // One stall is a crashed worker; a job that stalls every worker twice is failed, not looped on.
      maxStalledCount: 2,
    },
  );
  worker.on('error', (err) => opts.log?.warn({ event: 'queue.worker-error', err: err.message }));
  return {
    worker,
    async close() {
      await worker.close();
      if (!opts.deadLetters) await deadLetters.close();
    },
  };
}

/**
 * Dead letters in the `ecg-analysis-dlq` BullMQ queue (never consumed: a list in Redis that every
 * replica and `ecg-cds dlq` see), one job per analysis job id holding the {@link DeadLetter}.
 */
export function redisDeadLetterStore(
  url: string,
  prefix = 'ecg-cds',
): DeadLetterStore & {
  readonly queue: Queue<DeadLetter>;
} {
  const queue = new Queue<DeadLetter>(DLQ_NAME, { connection: redisOptions(url), prefix });
  return {
    queue,
    async record(job, error, attempts) {
      const id = jobId(job);
      const existing = await queue.getJob(id);
      const next = nextDeadLetter(existing?.data, job, error, attempts);
      if (existing) await existing.updateData(next);
      else await queue.add('dead', next, { jobId: id });
      return next;
    },
    async list() {
      const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1, true);
      return jobs
        .filter((j) => j?.data?.job?.observationId)
        .map((j) => ({ ...j.data, id: j.data.id ?? j.id ?? jobId(j.data.job) }))
        .sort((a, b) => (a.firstFailedAt ?? a.failedAt).localeCompare(b.firstFailedAt ?? b.failedAt));
    },
    async resolve(id) {
      const job = await queue.getJob(id);
      if (!job) return false;
      await job.remove();
      return true;
    },
    async close() {
      await queue.close();
    },
  };
}
