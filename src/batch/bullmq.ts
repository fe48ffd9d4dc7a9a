/**
 * The {@link AnalysisQueue} on BullMQ (https://docs.bullmq.io): with REDIS_URL set, producers (the nightly
 * job, Subscription notifications, the hook's overflow) add jobs here and any number of `ecg-cds worker`
 * processes on any machines consume them. Semantics shared with the in-process queue: job id = Observation
 * id + version (a duplicate add while the job is queued or running is a no-op), N attempts with exponential
 * backoff, then a dead-letter queue. A killed worker's job is found by BullMQ's stalled-job check (its lock
 * expires) and moved back to wait for another worker; the idempotent write-back makes the re-run harmless.
 */
import { Queue, type RedisOptions, Worker } from 'bullmq';
import type { Logger } from '../ops/log.js';
import { type AnalysisJob, type AnalysisQueue, jobId } from './queue.js';

export const QUEUE_NAME = 'ecg-analysis';
export const DLQ_NAME = 'ecg-analysis-dlq';

/** What a dead-lettered job records: the job and why its last attempt failed. */
export interface DeadLetter {
  readonly job: AnalysisJob;
  readonly error: string;
  readonly attempts: number;
  readonly failedAt: string;
}

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
      if (await queue.getJob(id)) return false;
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
  const deadLetters = new Queue<DeadLetter>(DLQ_NAME, { connection, prefix });
  const worker = new Worker<AnalysisJob>(
    QUEUE_NAME,
    async (job) => {
      try {
        await handle(job.data);
      } catch (err) {
        // Dead-letter before the last attempt is marked failed, so a crash in between loses nothing;
        // the DLQ job id is the analysis job id, so writing it twice adds one entry.
        const attempts = job.opts.attempts ?? 1;
        if (job.attemptsMade + 1 >= attempts) {
          await deadLetters.add(
            'dead',
            {
              job: job.data,
              error: (err as Error).message,
              attempts,
              failedAt: new Date().toISOString(),
            },
            { jobId: job.id ?? jobId(job.data) },
          );
          opts.log?.error(
            { event: 'queue.dead-letter', observation: job.data.observationId, err: (err as Error).message },
            'job dead-lettered',
          );
        }
        throw err;
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
      await deadLetters.close();
    },
  };
}
