/**
 * The analysis work queue: Subscription notifications, the nightly job and the CDS hook's overflow all
 * put ECGs here; workers analyse them and write back. Two implementations behind one interface:
 * in-process (no Redis: bounded concurrency inside this process) and BullMQ on Redis (scale-out over any
 * number of `ecg-cds worker` processes). A job's id is its Observation id + version, so a duplicate
 * notification is a no-op; the write-back is idempotent besides (ifNoneExist), so a retried job never
 * duplicates a report either.
 */

export type JobReason = 'subscription' | 'nightly' | 'backfill' | 'hook' | 'demo';

export interface AnalysisJob {
  readonly observationId: string;
  /** Analyse this version; absent: the current one. */
  readonly versionId?: string;
  readonly reason: JobReason;
}

export interface AnalysisQueue {
  /** Queue one ECG; false when the same Observation version is already queued, running or recently done. */
  enqueue(job: AnalysisJob): Promise<boolean>;
  /** Resolves once everything queued so far has finished (done or dead-lettered). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export type JobHandler = (job: AnalysisJob) => Promise<void>;

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
  /** Called once per job that failed every attempt. */
  readonly onDeadLetter?: (job: AnalysisJob, err: unknown) => void;
  /** How many finished job ids to remember for de-duplication (default 100 000). */
  readonly remember?: number;
}

/**
 * In-process queue with bounded concurrency, retries with exponential backoff and a dead-letter callback.
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
      void run(job).finally(() => {
        running--;
        active.delete(jobId(job));
        done.add(jobId(job));
        if (done.size > remember) done.delete(done.values().next().value as string);
        pump();
        settleIdle();
      });
    }
  };
  const run = async (job: AnalysisJob) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(job);
        return;
      } catch (err) {
        if (attempt >= attempts || closed) {
          opts.onDeadLetter?.(job, err);
          return;
        }
        const delay = backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  return {
    async enqueue(job) {
      const id = jobId(job);
      if (closed || active.has(id) || done.has(id)) return false;
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
