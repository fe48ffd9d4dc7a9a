/**
 * The analysis work queue: Subscription notifications, the nightly job and the CDS hook's overflow all
 * put ECGs here; workers analyse them and write back. Two implementations behind one interface:
 * in-process (no Redis: bounded concurrency inside this process) and BullMQ on Redis (scale-out over any
 * number of `ecg-cds worker` processes). A job's id is its Observation id + version, so a duplicate
 * notification is a no-op; the write-back is idempotent besides (ifNoneExist), so a retried job never
 * duplicates a report either.
 */

/** Why a job was queued; `catchup`: the pass at start-up and after a FHIR outage (batch/catchup.ts). */
export type JobReason = 'subscription' | 'nightly' | 'backfill' | 'hook' | 'demo' | 'catchup';

export interface AnalysisJob {
  readonly observationId: string;
  /** Analyse this version; absent: the current one. */
  readonly versionId?: string;
  readonly reason: JobReason;
  /** Set on a retry of a dead letter (batch/dead-letter.ts): its rounds so far; success resolves it. */
  readonly retry?: number;
}

export interface AnalysisQueue {
  /** Queue one ECG; false when the same Observation version is already queued, running or recently done. */
  enqueue(job: AnalysisJob): Promise<boolean>;
  /** Resolves once everything queued so far has finished (done or dead-lettered). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export type JobHandler = (job: AnalysisJob) => Promise<void>;

/**
 * Failures that another attempt cannot fix: the FHIR server said the Observation is gone (404, 410) or
 * refused what we sent (400, 422). Transport errors, 5xx, 401/403 (a token being rotated) and 429 are
 * retried.
 */
export function isPermanentJobError(err: unknown): boolean {
  // Through wrappers such as WriteBackError (`cause`), a few levels deep.
  for (let e = err as Failure | undefined, depth = 0; e && depth < 4; e = e.cause as Failure, depth++) {
    if (e.name !== 'FhirRequestError') continue;
    // A refusal by our own client (cross-origin redirect, oversized response) is no better next time.
    return e.refusal !== undefined || [400, 404, 410, 422].includes(e.status ?? 0);
  }
  return false;
}

interface Failure {
  readonly name?: string;
  readonly status?: number;
  readonly refusal?: string;
  readonly cause?: unknown;
}

/** Stable job id: Observation id and version (BullMQ job ids must not contain ':'). */
export function jobId(job: Pick<AnalysisJob, 'observationId' | 'versionId'>): string {
  return `${job.observationId}@${job.versionId ?? 'current'}`;
}

export interface InProcessQueueOptions {
  readonly concurrency: number;
  /** Attempts before a job goes to the dead-letter list (default 5). */
  readonly attempts?: number;
  /** First retry delay; doubles each attempt (default 500 ms). */
  readonly backoffMs?: number;
  /** Called once per job that failed every attempt, with the attempts made; awaited before drain() resolves. */
  readonly onDeadLetter?: (job: AnalysisJob, err: unknown, attempts: number) => void | Promise<void>;
  /** Errors that no retry can fix (default {@link isPermanentJobError}): dead-lettered at once. */
  readonly permanent?: (err: unknown) => boolean;
  /** How many succeeded job ids to remember for de-duplication (default 100 000). */
  readonly remember?: number;
}

/**
 * In-process queue with bounded concurrency, retries with exponential backoff (none for a permanent
 * error) and a dead-letter callback.
 * Written here rather than taken from a library because it must share the BullMQ queue's semantics
 * (job ids, attempts, dead letter) exactly; it is ~60 lines.
 */
export function createInProcessQueue(handler: JobHandler, opts: InProcessQueueOptions): AnalysisQueue {
  const attempts = opts.attempts ?? 5;
  const backoffMs = opts.backoffMs ?? 500;
  const remember = opts.remember ?? 100_000;
  const pending: AnalysisJob[] = [];
  const active = new Set<string>();
  const done = new Set<string>();
  let running = 0;
  let closed = false;
  let idle: Array<() => void> = [];

  const settleIdle = () => {
    if (running === 0 && pending.length === 0) {
      for (const f of idle) f();
      idle = [];
    }
  };
  const pump = () => {
    while (!closed && running < opts.concurrency && pending.length > 0) {
      const job = pending.shift()!;
      running++;
      void run(job).then((ok) => {
        running--;
        active.delete(jobId(job));
        // Only successes are remembered: a dead letter may be queued again (a retry, a new notification).
        if (ok) done.add(jobId(job));
        if (done.size > remember) done.delete(done.values().next().value as string);
        pump();
        settleIdle();
      });
    }
  };
  const permanent = opts.permanent ?? isPermanentJobError;
  /** True when the job succeeded. */
  const run = async (job: AnalysisJob): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(job);
        return true;
      } catch (err) {
        if (attempt >= attempts || closed || permanent(err)) {
          try {
            await opts.onDeadLetter?.(job, err, attempt);
          } catch {
            // a failing callback must not stall the queue
          }
          return false;
        }
        const delay = backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  return {
    async enqueue(job) {
      const id = jobId(job);
      // A dead letter's retry asks for another run even of a version that succeeded since.
      if (closed || active.has(id) || (done.has(id) && job.retry === undefined)) return false;
      active.add(id);
      pending.push(job);
      pump();
      return true;
    },
    drain() {
      if (running === 0 && pending.length === 0) return Promise.resolve();
      return new Promise((ok) => idle.push(ok));
    },
    async close() {
      closed = true;
      pending.length = 0;
      settleIdle();
    },
  };
}
