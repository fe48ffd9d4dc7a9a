/**
 * `ecg-cds dlq list|retry`: the dead letters (batch/dead-letter.ts) where the service keeps them: the
 * `ecg-analysis-dlq` queue in Redis with REDIS_URL, else `Basic` resources on the FHIR server
 * (FHIR_BASE_URL; in demo mode the running service's embedded server at PUBLIC_BASE_URL/fhir).
 * `retry` analyses here, like `backfill` (models loaded, FHIR_BASE_URL required), whatever rounds the
 * entries have; the outcome is recorded as by the service (resolved, or one more round).
 */
import { redisDeadLetterStore } from '../batch/bullmq.js';
import {
  type DeadLetter,
  type DeadLetterStore,
  exhausted,
  fhirDeadLetterStore,
  MAX_DEAD_LETTER_ROUNDS,
  retryDeadLetters,
} from '../batch/dead-letter.js';
import { type Config, loadConfig } from '../config.js';
import { createFhirClient } from '../fhir/client.js';
import { compose } from '../main.js';
import { createLogger } from '../ops/log.js';
import { BatchUsageError, configFor, workerFor } from './batch.js';

function storeFor(config: Config): DeadLetterStore {
  if (config.redisUrl) return redisDeadLetterStore(config.redisUrl, config.redisPrefix);
  const token = config.fhir.token ?? config.devFhir.tokens?.[0];
  return fhirDeadLetterStore(
    createFhirClient({
      baseUrl: config.fhir.baseUrl,
      timeoutMs: config.fhir.timeoutMs,
      ...(token ? { token } : {}),
    }),
  );
}

const view = (d: DeadLetter) => ({ ...d, exhausted: exhausted(d) });

function line(d: DeadLetter): string {
  const state = exhausted(d) ? `exhausted (${MAX_DEAD_LETTER_ROUNDS} rounds)` : `${d.rounds} round(s)`;
  return `${d.id}\t${d.job.reason}\t${state}\t${d.attempts} attempt(s)\tlast ${d.failedAt}\t${d.error}\n`;
}

/** Print the open dead letters, oldest first. */
export async function runDlqList(args: { readonly json: boolean }): Promise<number> {
  const store = storeFor(loadConfig());
  try {
    const all = await store.list();
    if (args.json) process.stdout.write(`${JSON.stringify(all.map(view), null, 2)}\n`);
    else if (all.length === 0) process.stdout.write('no dead letters\n');
    else for (const d of all) process.stdout.write(line(d));
    return 0;
  } finally {
    await store.close();
  }
}

export interface DlqRetryArgs {
  /** Job ids (`<Observation id>@<version>`, as `list` prints them). */
  readonly ids: readonly string[];
  readonly all: boolean;
  readonly json: boolean;
}

/** Queue the chosen dead letters again, analyse them here, and report each outcome; 1 if any failed. */
export async function runDlqRetry(args: DlqRetryArgs): Promise<number> {
  if (!args.all && args.ids.length === 0)
    throw new BatchUsageError('dlq retry: name job ids (as `dlq list` prints them) or --all');
  const config = configFor('dlq retry');
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const c = await compose(config, log);
  const worker = workerFor(c);
  try {
    const open = new Map((await c.deadLetters.list()).map((d) => [d.id, d]));
    const wanted = args.all ? [...open.keys()] : [...new Set(args.ids)];
    const notFound = wanted.filter((id) => !open.has(id));
    const { retried } = await retryDeadLetters(c.deadLetters, c.queue, {
      only: wanted.filter((id) => open.has(id)),
      log,
    });
    await c.queue.drain();
    const after = new Map((await c.deadLetters.list()).map((d) => [d.id, d]));
    const results = retried.map((d) => {
      const still = after.get(d.id);
      return still
        ? { id: d.id, outcome: 'failed' as const, rounds: still.rounds, error: still.error }
        : { id: d.id, outcome: 'resolved' as const };
    });
    const failed = results.filter((r) => r.outcome === 'failed').length;
    const summary = {
      retried: results.length,
      resolved: results.length - failed,
      failed,
      notFound,
      results,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      for (const r of results)
        process.stdout.write(`${r.id}\t${r.outcome}${r.outcome === 'failed' ? `\t${r.error}` : ''}\n`);
      for (const id of notFound) process.stdout.write(`${id}\tnot a dead letter\n`);
      process.stdout.write(`retried ${summary.retried}: ${summary.resolved} resolved, ${failed} failed\n`);
    }
    return failed > 0 || notFound.length > 0 ? 1 : 0;
  } finally {
    await worker?.close();
    await c.close();
  }
}
