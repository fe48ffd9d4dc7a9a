/**
 * Dead letters: ECGs whose analysis job failed every attempt. They are kept (in Redis with BullMQ,
 * bullmq.ts; otherwise as FHIR `Basic` resources next to the nightly checkpoint), retried by later
 * nightly runs and catch-up passes up to {@link MAX_DEAD_LETTER_ROUNDS} rounds, and listed or retried by
 * hand with `ecg-cds dlq list|retry`. Each entry counts its rounds and attempts, so a poison ECG stops
 * costing analyses after a bounded number (rounds × the queue's attempts per round; a permanent error
 * such as a 404 takes one attempt per round).
 */
import type { FhirAccess } from '../fhir/client.js';
import type { Logger } from '../ops/log.js';
import { STATE_SYSTEM, STATE_URL, stateBasic, stateOf } from './checkpoint.js';
import { keysetSearch } from './keyset.js';
import { type AnalysisJob, type AnalysisQueue, jobId } from './queue.js';

/** Rounds (a round: one job and its retries, dead-lettered) before automatic retries stop. */
export const MAX_DEAD_LETTER_ROUNDS = 3;

export interface DeadLetter {
  /** The job id (Observation id @ version). */
  readonly id: string;
  readonly job: AnalysisJob;
  /** Why its last attempt failed (an error message: no resource content, no token). */
  readonly error: string;
  /** Attempts over all rounds. */
  readonly attempts: number;
  /** Times it was dead-lettered. */
  readonly rounds: number;
  readonly firstFailedAt: string;
  readonly failedAt: string;
}

export interface DeadLetterStore {
  /** Record one more dead-lettered round of `job`. */
  record(job: AnalysisJob, error: string, attempts: number): Promise<DeadLetter>;
  /** Open dead letters, oldest first. */
  list(): Promise<DeadLetter[]>;
  /** The job succeeded: drop its entry; false when there was none. */
  resolve(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Whether automatic retries have given up on `d`. */
export function exhausted(d: Pick<DeadLetter, 'rounds'>, maxRounds = MAX_DEAD_LETTER_ROUNDS): boolean {
  return d.rounds >= maxRounds;
}

/** The next state of an entry after one more dead-lettered round. */
export function nextDeadLetter(
  previous: DeadLetter | undefined,
  job: AnalysisJob,
  error: string,
  attempts: number,
  now = new Date().toISOString(),
): DeadLetter {
  const { retry: _retry, ...plain } = job;
  return {
    id: jobId(job),
    job: plain,
    error,
    attempts: (previous?.attempts ?? 0) + attempts,
    rounds: (previous?.rounds ?? 0) + 1,
    firstFailedAt: previous?.firstFailedAt ?? now,
    failedAt: now,
  };
}

const OPEN = 'dead-letter';
const RESOLVED = 'dead-letter-resolved';

/**
 * Dead letters as `Basic` resources on the FHIR server (no Redis): identifier <STATE_SYSTEM>|dlq-<job
 * id>, code `dead-letter` while open and `dead-letter-resolved` once a retry succeeded (FhirAccess has no
 * delete, and the resolved entry is an audit trail).
 */
export function fhirDeadLetterStore(
  fhir: Pick<FhirAccess, 'search' | 'searchAll' | 'create' | 'update'>,
): DeadLetterStore {
  const identifier = (id: string) => `dlq-${id}`;
  const basic = (d: DeadLetter, code: string): fhir4.Basic => {
    const b = stateBasic(d, identifier(d.id), 'dead-letter');
    return { ...b, code: { coding: [{ system: STATE_SYSTEM, code }] } };
  };
  const find = async (id: string): Promise<fhir4.Basic | undefined> => {
    const bundle = await fhir.search('Basic', { identifier: `${STATE_SYSTEM}|${identifier(id)}` });
    return bundle.entry?.[0]?.resource as fhir4.Basic | undefined;
  };
  const isOpen = (b: fhir4.Basic | undefined) => b?.code.coding?.some((c) => c.code === OPEN) ?? false;
  return {
    async record(job, error, attempts) {
      const found = await find(jobId(job));
      const next = nextDeadLetter(
        isOpen(found) ? stateOf<DeadLetter>(found) : undefined,
        job,
        error,
        attempts,
      );
      if (found?.id) await fhir.update({ ...basic(next, OPEN), id: found.id });
      else
        await fhir.create(basic(next, OPEN), {
          ifNoneExist: `identifier=${STATE_SYSTEM}|${identifier(next.id)}`,
        });
      return next;
    },
    async list() {
      const out: DeadLetter[] = [];
      for await (const b of keysetSearch(fhir, 'Basic', { params: { code: `${STATE_SYSTEM}|${OPEN}` } })) {
        const d = stateOf<DeadLetter>(b);
        if (d?.job?.observationId && b.extension?.some((e) => e.url === STATE_URL)) out.push(d);
      }
      return out.sort((a, b) => a.firstFailedAt.localeCompare(b.firstFailedAt));
    },
    async resolve(id) {
      const found = await find(id);
      const d = isOpen(found) ? stateOf<DeadLetter>(found) : undefined;
      if (!found?.id || !d) return false;
      await fhir.update({ ...basic(d, RESOLVED), id: found.id });
      return true;
    },
    async close() {},
  };
}

export interface RetryOptions {
  /** Retry only these job ids, whatever their rounds (by hand); absent: every entry not exhausted. */
  readonly only?: readonly string[];
  readonly maxRounds?: number;
  readonly log?: Logger;
}

export interface RetryResult {
  /** Queued again (each marked `retry`, so its success resolves the entry). */
  readonly retried: readonly DeadLetter[];
  /** Left alone: automatic retries gave up on them (`ecg-cds dlq retry` still can). */
  readonly exhausted: readonly DeadLetter[];
}

/** Queue dead letters again; their outcome lands in the store (resolved, or one more round). */
export async function retryDeadLetters(
  store: DeadLetterStore,
  queue: AnalysisQueue,
  opts: RetryOptions = {},
): Promise<RetryResult> {
  const retried: DeadLetter[] = [];
  const gaveUp: DeadLetter[] = [];
  const only = opts.only ? new Set(opts.only) : undefined;
  for (const d of await store.list()) {
    if (only ? !only.has(d.id) : exhausted(d, opts.maxRounds)) {
      if (!only) gaveUp.push(d);
      continue;
    }
    if (await queue.enqueue({ ...d.job, retry: d.rounds })) retried.push(d);
  }
  if (retried.length || gaveUp.length)
    opts.log?.info(
      { event: 'dlq.retry', retried: retried.length, exhausted: gaveUp.length },
      'dead-lettered ECGs queued again',
    );
  return { retried, exhausted: gaveUp };
}
