/**
 * The analysis pool: worker threads that own the ONNX sessions and run decode + `analyze()`, so the
 * HTTP thread only routes, verifies, reads and renders (STYLE: HTTP handlers and the nightly job submit
 * here and never call `analyze()` directly). Piscina (a well-kept worker-thread pool) queues the tasks.
 *
 * Workers run this TypeScript under tsx, as the service does: Node 20 does not apply the parent's
 * `--import tsx` hooks to a worker's imports, so a worker starts from `worker-entry.mjs`, which loads
 * `worker.ts` through tsx's API (the same under `npm start`, `tsx`, the test runner and the CLI).
 * A built (.js) tree starts `worker.js` directly.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type CodecLimits, DecodeError } from '../fhir/ecg-codec.js';
import type { StoredResult } from '../fhir/stored-result.js';
import type { ExecutionProvider } from '../inference/model/session.js';
import type { EcgView } from '../render/types.js';
import type { EngineInfo, PoolReplies, PoolTask, WorkerSetup } from './tasks.js';

export interface AnalysisPoolOptions {
  readonly modelsDir: string;
  readonly provider?: ExecutionProvider;
  /** Worker threads (ANALYSIS_WORKERS; default the machine's cores). */
  readonly size: number;
  readonly limits?: Partial<CodecLimits>;
  /**
   * Most ECGs one worker analyses together (ANALYSIS_BATCH). ECGs that arrive while every worker is busy
   * wait, and the next free worker takes up to this many at once: model calls are batched across them.
   * An idle pool starts an ECG at once, alone, so a lone hook call never waits for company.
   */
  readonly maxBatch?: number;
  /** A worker failed outside any task (it is replaced); without a listener Piscina would crash the process. */
  readonly onWorkerError?: (err: Error) => void;
}

export interface AnalysisPool {
  /** The model set the workers loaded (checked at start-up: a bad model fails createAnalysisPool). */
  readonly info: EngineInfo;
  readonly size: number;
  /** Decode → analyse → summarise one ECG Observation; a DecodeError becomes an 'unable' result. */
  result(obs: fhir4.Observation, opts?: { readonly urgent?: boolean }): Promise<StoredResult>;
  /** The viewer's EcgView of one Observation; rejects with a DecodeError for an ECG the codec refuses. */
  view(obs: fhir4.Observation): Promise<EcgView>;
  /** Tasks waiting for a worker. */
  readonly queued: number;
  /** Waits for the tasks running, refuses the queued ones, then ends the workers and their ONNX sessions. */
  close(): Promise<void>;
}

/**
 * Most SampledData characters in one batch task (about eighteen 10-s 12-lead ECGs; one 30-min 2-lead
 * Holter is ~6.4 M on its own and goes alone).
 */
export const MAX_BATCH_CHARS = 4_000_000;

/** Characters of SampledData text in an (unvalidated) Observation: its weight in a batch. */
export function waveformChars(obs: fhir4.Observation): number {
  if (obs === null || typeof obs !== 'object') return 0;
  let n = 0;
  const add = (sd: unknown) => {
    const data = (sd as { data?: unknown } | undefined)?.data;
    if (typeof data === 'string') n += data.length;
  };
  add((obs as { valueSampledData?: unknown }).valueSampledData);
  const components = (obs as { component?: unknown }).component;
  if (Array.isArray(components))
    for (const c of components) add((c as { valueSampledData?: unknown } | null)?.valueSampledData);
  return n;
}

/** How many of the leading `weights` form one batch: at least one, then while their sum stays ≤ max. */
export function batchLength(weights: readonly number[], max: number): number {
  let sum = weights[0] ?? 0;
  let n = Math.min(1, weights.length);
  while (n < weights.length && sum + weights[n]! <= max) sum += weights[n++]!;
  return n;
}

/** Young-generation size of each analysis worker's V8 heap (MiB). */
const WORKER_YOUNG_GENERATION_MB = 4;

const WORKER = new URL(
  extname(fileURLToPath(import.meta.url)) === '.ts' ? './worker-entry.mjs' : './worker.js',
  import.meta.url,
);

export async function createAnalysisPool(opts: AnalysisPoolOptions): Promise<AnalysisPool> {
  const setup: WorkerSetup = { modelsDir: opts.modelsDir, provider: opts.provider ?? 'cpu' };
  const piscina = new Piscina<PoolTask, PoolReplies[PoolTask['kind']]>({
    filename: WORKER.href,
    minThreads: opts.size,
    maxThreads: opts.size,
    // Workers keep their loaded sessions for the life of the service.
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: setup,
    execArgv: process.execArgv,
    // A small young generation per worker: V8's default let each worker's heap grow by ~35 MiB under a
    // nightly load for no speed (2 workers, 320 12-lead ECGs: RSS 428 → 356 MiB, 13.1 → 12.8 ms/ECG).
    // Waveforms are typed arrays, whose memory lies outside the V8 heap.
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
  piscina.on('error', (err: Error) => opts.onWorkerError?.(err));
  const run = <K extends PoolTask['kind']>(task: PoolTask & { kind: K }) =>
    piscina.run(task) as Promise<PoolReplies[K]>;
  let info: EngineInfo;
  try {
    info = await run({ kind: 'info' });
  } catch (err) {
    await piscina.destroy();
    throw err;
  }
  const modelVersion = info.version;
  const maxBatch = Math.max(1, opts.maxBatch ?? 1);
  const waiting: {
    obs: fhir4.Observation;
    /** Its waveform text (characters), weighed once on arrival. */
    weight: number;
    urgent: boolean;
    ok: (r: StoredResult) => void;
    fail: (err: Error) => void;
  }[] = [];
  let inFlight = 0;
  let closed = false;
  const dispatch = () => {
    while (waiting.length > 0 && inFlight < opts.size) {
      // Up to maxBatch ECGs, and no more waveform text than MAX_BATCH_CHARS in one task (always one):
      // sixteen 10-s ECGs go together, a 30-min Holter goes alone, so a worker never holds many at once.
      const head = waiting.slice(0, maxBatch).map((w) => w.weight);
      const items = waiting.splice(0, batchLength(head, MAX_BATCH_CHARS));
      inFlight++;
      run({
        kind: 'results',
        items: items.map((i) => i.obs),
        modelVersion,
        ...(opts.limits ? { limits: opts.limits } : {}),
      })
        .then(
          (replies) =>
            items.forEach((item, k) => {
              const reply = replies[k]!;
              if ('result' in reply) item.ok(reply.result);
              else item.fail(new Error(reply.error));
            }),
          (err: Error) => {
            for (const item of items) item.fail(err);
          },
        )
        .finally(() => {
          inFlight--;
          dispatch();
        });
    }
  };
  return {
    info,
    size: opts.size,
    get queued() {
      return waiting.length + piscina.queueSize;
    },
    result: (obs, o) =>
      new Promise<StoredResult>((ok, fail) => {
        if (closed) {
          fail(new Error('the analysis pool is closed'));
          return;
        }
        // Urgent ECGs (a clinician's hook call) go ahead of the others waiting, after earlier urgent ones.
        const urgent = o?.urgent === true;
        const behind = urgent ? waiting.findIndex((w) => !w.urgent) : -1;
        const item = { obs, weight: waveformChars(obs), urgent, ok, fail };
        if (behind < 0) waiting.push(item);
        else waiting.splice(behind, 0, item);
        dispatch();
      }),
    async view(obs) {
      const reply = await run({ kind: 'view', obs });
      if ('view' in reply) return reply.view;
      const e = reply.decodeError;
      throw new DecodeError(e.code, e.message, e.path);
    },
    // Tasks already running finish (their write-back follows); queued ones are refused.
    close: () => {
      closed = true;
      for (const item of waiting.splice(0)) item.fail(new Error('the analysis pool is closed'));
      return piscina.close({ force: true });
    },
  };
}
