/**
 * Nightly back-analysis (issue #5 item 2): list ECG Observations in lastUpdated order (search or bulk
 * `$export`), skip those that already have a report from the current model version (looked up by the
 * deterministic analysis identifier, 50 per search), queue the rest, and advance a checkpoint only past
 * batches whose jobs have all finished. A run killed at any point resumes at its checkpoint: what was
 * finished is skipped by the existence check, what was queued but unfinished is queued again, and the
 * conditional write-back keeps a re-run from duplicating a report. A changed model version means a full
 * pass, so stored history is re-read with today's model. Each run first queues the dead letters again
 * that have rounds left (dead-letter.ts). The catch-up pass (catchup.ts) is this run in `catchUp` mode.
 */
import { randomUUID } from 'node:crypto';
import type { FhirAccess } from '../fhir/client.js';
import { ANALYSIS_IDENTIFIER_SYSTEM } from '../fhir/write-back/codes.js';
import { analysisKey } from '../fhir/write-back/identity.js';
import type { Logger } from '../ops/log.js';
import type { Checkpoint, CheckpointStore, RunSummary } from './checkpoint.js';
import { type DeadLetterStore, retryDeadLetters } from './dead-letter.js';
import { mapLimit, rateLimiter } from './limit.js';
import type { AnalysisQueue, JobReason } from './queue.js';
import type { EcgReader, EcgRef } from './reader.js';

export interface NightlyDeps {
  readonly fhir: Pick<FhirAccess, 'search'>;
  readonly queue: AnalysisQueue;
  readonly reader: EcgReader;
  readonly modelVersion: string;
  /** Absent: no checkpoint (a `backfill` over an explicit range). */
  readonly checkpoints?: CheckpointStore;
  readonly log: Logger;
  /** Parallel FHIR requests and enqueues. */
  readonly concurrency: number;
  /** ECGs per second toward the FHIR server (each costs a read and a write). */
  readonly ratePerSec: number;
  /** ECGs per checkpointed batch (default 200). */
  readonly batchSize?: number;
  /** Dead letters to retry at the start of a checkpointed run. */
  readonly deadLetters?: DeadLetterStore;
}

export interface NightlyOptions {
  /** Explicit range (backfill): ignores and keeps the checkpoint. */
  readonly since?: string;
  readonly until?: string;
  /** Count and list what would be analysed; write nothing. */
  readonly dryRun?: boolean;
  readonly reason?: Extract<JobReason, 'nightly' | 'backfill' | 'catchup'>;
  /**
   * Catch-up pass: resume from the checkpoint whatever model version wrote it (it looks for ECGs that
   * were never analysed, not for re-analysis), or from `after` when that is later (another pass known to
   * have covered everything before it), or from `fallbackSince` when there is neither.
   */
  readonly catchUp?: { readonly after?: string; readonly fallbackSince: string };
  /** After each batch: ECGs seen so far and the batch's last ECG. */
  readonly onBatch?: (seen: number, last: EcgRef) => void;
}

export interface NightlyResult extends RunSummary {
  /** Dry run: the ECGs that would be analysed. */
  readonly wouldAnalyse?: readonly EcgRef[];
}

/** Identifiers per existence search: 50 × ~70 characters keeps the URL near 4 kB. */
const LOOKUP_CHUNK = 50;

export async function runNightly(deps: NightlyDeps, opts: NightlyOptions = {}): Promise<NightlyResult> {
  const started = new Date();
  const ranged = opts.since !== undefined || opts.until !== undefined;
  const cp = ranged ? undefined : await deps.checkpoints?.load();
  const incremental = cp?.modelVersion === deps.modelVersion && cp.lastUpdated !== undefined;
  const mode: RunSummary['mode'] = ranged
    ? 'range'
    : opts.catchUp
      ? 'catch-up'
      : incremental
        ? 'incremental'
        : 'full';
  const since = ranged
    ? opts.since
    : opts.catchUp
      ? (latest(cp?.lastUpdated, opts.catchUp.after) ?? opts.catchUp.fallbackSince)
      : incremental
        ? cp?.lastUpdated
        : undefined;
  deps.log.info({ event: 'nightly.start', mode, since, until: opts.until, reader: deps.reader.kind });

  const limiter = rateLimiter(deps.ratePerSec);
  const batchSize = deps.batchSize ?? 200;
  const byFinding: Record<string, number> = {};
  const would: EcgRef[] = [];
  let seen = 0;
  let already = 0;
  let queued = 0;
  let analysed = 0;
  let failed = 0;
  let newFindings = 0;
  let lastDone: string | undefined = opts.catchUp ? since : cp?.lastUpdated;

  const save = async (complete: boolean) => {
    if (ranged || opts.dryRun || !deps.checkpoints) return;
    const next: Checkpoint = {
      modelVersion: deps.modelVersion,
      ...(lastDone ? { lastUpdated: lastDone } : {}),
      complete,
      savedAt: new Date().toISOString(),
    };
    await deps.checkpoints.save(next);
  };

  const runBatch = async (batch: EcgRef[]) => {
    seen += batch.length;
    const keys = batch.map((ref) =>
      analysisKey({ observationId: ref.id, versionId: ref.versionId }, deps.modelVersion),
    );
    const existing = await reportsFor(keys);
    const todo = batch.filter((_, i) => !existing.has(keys[i] as string));
    already += batch.length - todo.length;
    if (opts.dryRun) {
      would.push(...todo);
    } else if (todo.length) {
      await mapLimit(todo, deps.concurrency, async (ref) => {
        await limiter.take();
        await deps.queue.enqueue({
          observationId: ref.id,
          ...(ref.versionId ? { versionId: ref.versionId } : {}),
          reason: opts.reason ?? 'nightly',
        });
      });
      queued += todo.length;
      await deps.queue.drain();
      // Tally from the server: a report exists exactly for the jobs that finished.
      const done = await reportsFor(
        todo.map((ref) =>
          analysisKey({ observationId: ref.id, versionId: ref.versionId }, deps.modelVersion),
        ),
      );
      analysed += done.size;
      failed += todo.length - done.size;
      for (const report of done.values()) {
        const codes = (report.conclusionCode ?? []).map((c) => c.text ?? c.coding?.[0]?.code ?? '?');
        if (codes.length) newFindings++;
        for (const code of codes.length ? codes : ['no finding'])
          byFinding[code] = (byFinding[code] ?? 0) + 1;
      }
    }
    const last = batch.at(-1) as EcgRef;
    lastDone = last.lastUpdated;
    await save(false);
    opts.onBatch?.(seen, last);
  };

  /** DiagnosticReports carrying these analysis keys, by key. */
  const reportsFor = async (keys: readonly string[]): Promise<Map<string, fhir4.DiagnosticReport>> => {
    const found = new Map<string, fhir4.DiagnosticReport>();
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += LOOKUP_CHUNK) chunks.push(keys.slice(i, i + LOOKUP_CHUNK));
    await mapLimit(chunks, deps.concurrency, async (chunk) => {
      const bundle = await deps.fhir.search('DiagnosticReport', {
        identifier: chunk.map((k) => `${ANALYSIS_IDENTIFIER_SYSTEM}|${k}`).join(','),
        _elements: 'identifier,conclusionCode',
        _count: LOOKUP_CHUNK * 2,
      });
      for (const e of bundle.entry ?? []) {
        const r = e.resource as fhir4.DiagnosticReport | undefined;
        const key = r?.identifier?.find((i) => i.system === ANALYSIS_IDENTIFIER_SYSTEM)?.value;
        if (r && key) found.set(key, r);
      }
    });
    return found;
  };

  // Dead letters with rounds left go first; their outcome is recorded by the job path (resolved or one
  // more round). A dry run or an explicit range (backfill) leaves them alone.
  const retried =
    deps.deadLetters && !ranged && !opts.dryRun
      ? (await retryDeadLetters(deps.deadLetters, deps.queue, { log: deps.log })).retried.length
      : 0;

  let batch: EcgRef[] = [];
  for await (const ref of deps.reader.read({
    ...(since ? { since } : {}),
    ...(opts.until ? { until: opts.until } : {}),
  })) {
    batch.push(ref);
    if (batch.length >= batchSize) {
      await runBatch(batch);
      batch = [];
    }
  }
  if (batch.length) await runBatch(batch);
  if (retried) await deps.queue.drain();
  await save(true);

  const finished = new Date();
  const summary: NightlyResult = {
    runId: `${started.toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    modelVersion: deps.modelVersion,
    mode,
    seen,
    alreadyAnalysed: already,
    queued,
    analysed,
    failed,
    byFinding,
    newFindings,
    dryRun: Boolean(opts.dryRun),
    ...(retried ? { deadLettersRetried: retried } : {}),
  };
  deps.log.info({ event: 'nightly.done', ...summary }, 'nightly back-analysis finished');
  if (!opts.dryRun) await deps.checkpoints?.record(summary);
  return opts.dryRun ? { ...summary, wouldAnalyse: would } : summary;
}

/** The later of two ISO instants (either may be absent). */
function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
