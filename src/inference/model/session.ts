/**
 * ONNX Runtime sessions for the shipped models (the only importer of onnxruntime-node).
 *
 * The execution provider comes from the caller (config): 'cuda' is tried when asked for, and when its
 * libraries are absent onnxruntime-node throws instead of falling back, so we catch that, warn, and run
 * on 'cpu'. Which provider actually runs is on `session.provider`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { ModelLoadError, type ModelManifest, readManifest, type TensorSpec } from './manifest.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Provider to try first; 'cuda' falls back to 'cpu' with a warning. Default 'cpu'. */
  readonly provider?: ExecutionProvider;
  /** Receives the fallback warning (the engine does no logging of its own). */
  readonly warn?: (message: string) => void;
  /** Threads for one inference (default: onnxruntime's choice). */
  readonly intraOpThreads?: number;
  /** Largest batch sent to the runtime at once (default 1024 rows). */
  readonly maxBatch?: number;
}

/** A named float32 tensor: row-major data and its dimensions. */
export interface FloatTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface ModelSession {
  readonly manifest: ModelManifest;
  /** The provider that actually runs this model. */
  readonly provider: ExecutionProvider;
  /** Run a batch (first axis = rows), split into chunks of at most `maxBatch` rows. */
  run(feeds: Readonly<Record<string, FloatTensor>>): Promise<Record<string, FloatTensor>>;
  dispose(): Promise<void>;
}

/** Load `<dir>/<id>.onnx` after checking its checksum and signature against `<dir>/<id>.manifest.json`. */
export async function loadModel(dir: string, id: string, opts: SessionOptions = {}): Promise<ModelSession> {
  const manifest = await readManifest(dir, id);
  const file = join(dir, manifest.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ModelLoadError(`${file}: cannot read model (${(err as NodeJS.ErrnoException).code ?? err})`, {
      cause: err,
    });
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.sha256)
    throw new ModelLoadError(`${file}: SHA-256 ${sha} does not match the manifest's ${manifest.sha256}`);
  const { session, provider } = await createSession(bytes, opts);
  checkSignature(file, session, manifest);
  const maxBatch = opts.maxBatch ?? 1024;
  const coalescer = coalescing(
    (feeds, rows) => runBatched(session, manifest, feeds, rows, maxBatch),
    manifest,
  );
  return {
    manifest,
    provider,
    run: coalescer,
    dispose: () => session.release(),
  };
}

type Feeds = Readonly<Record<string, FloatTensor>>;
type Run = (feeds: Feeds) => Promise<Record<string, FloatTensor>>;
/** A run of feeds already checked by {@link checkFeeds}, with their row count. */
type CheckedRun = (feeds: Feeds, rows: number) => Promise<Record<string, FloatTensor>>;

/**
 * Cross-call batching: the runs asked for in one turn of the event loop (analyses started together, as
 * the worker does with a batch of ECGs, reach each model in step) go to the runtime as one batch, and
 * each caller gets its own rows back. A 10-s ECG has few rows (≈ 12 beats, 1–3 rhythm windows), and each
 * runtime call has a fixed cost besides them: 16 different 12-lead ECGs analysed together take ×1.30–1.36
 * less time per ECG than one at a time (`npm run bench`, 2026-12-03). A lone call waits one setImmediate.
 * Rows are computed independently by these models (no batch statistics), so batching changes no result.
 */
function coalescing(run: CheckedRun, m: ModelManifest): Run {
  let pending: {
    feeds: Feeds;
    rows: number;
    ok: (out: Record<string, FloatTensor>) => void;
    fail: (err: unknown) => void;
  }[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    if (batch.length === 1) {
      const only = batch[0]!;
      run(only.feeds, only.rows).then(only.ok, only.fail);
      return;
    }
    const total = batch.reduce((a, b) => a + b.rows, 0);
    const feeds: Record<string, FloatTensor> = {};
    for (const spec of m.inputs) {
      const first = batch[0]!.feeds[spec.name]!;
      const data = new Float32Array(batch.reduce((a, b) => a + b.feeds[spec.name]!.data.length, 0));
      let o = 0;
      for (const b of batch) {
        data.set(b.feeds[spec.name]!.data, o);
        o += b.feeds[spec.name]!.data.length;
      }
      feeds[spec.name] = { data, dims: [total, ...first.dims.slice(1)] };
    }
    let out: Record<string, FloatTensor>;
    try {
      out = await run(feeds, total);
    } catch (err) {
      for (const b of batch) b.fail(err);
      return;
    }
    let row = 0;
    for (const b of batch) {
      const mine: Record<string, FloatTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        const rowSize = total ? t.data.length / total : 0;
        mine[name] = {
          data: t.data.subarray(row * rowSize, (row + b.rows) * rowSize),
          dims: [b.rows, ...t.dims.slice(1)],
        };
      }
      row += b.rows;
      b.ok(mine);
    }
  };
  return (feeds) => {
    // A request that does not fit the model fails alone, before it could spoil a shared batch.
    let rows: number;
    try {
      rows = checkFeeds(m, feeds);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((ok, fail) => {
      pending.push({ feeds, rows, ok, fail });
      if (pending.length === 1) setImmediate(flush);
    });
  };
}

/** The batch size of `feeds` after checking each input is present, agrees on it and matches its row shape. */
function checkFeeds(m: ModelManifest, feeds: Feeds): number {
  const rows = feeds[m.inputs[0]!.name]?.dims[0];
  if (rows === undefined) throw new RangeError(`model ${m.id}: input ${m.inputs[0]!.name} missing`);
  for (const spec of m.inputs) {
    const t = feeds[spec.name];
    if (!t) throw new RangeError(`model ${m.id}: input ${spec.name} missing`);
    if (t.dims[0] !== rows) throw new RangeError(`model ${m.id}: inputs disagree on the batch size`);
    const size = t.dims.reduce((a, b) => a * b, 1);
    if (size !== t.data.length)
      throw new RangeError(`model ${m.id}: ${spec.name} has ${t.data.length} values for dims [${t.dims}]`);
    if (
      t.dims.length !== spec.shape.length ||
      spec.shape.some((d, k) => k > 0 && typeof d === 'number' && t.dims[k] !== d)
    )
      throw new RangeError(
        `model ${m.id}: ${spec.name} has dims [${t.dims}], the model takes [${spec.shape}]`,
      );
  }
  return rows;
}

async function createSession(bytes: Uint8Array, opts: SessionOptions) {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
  };
  if (opts.provider === 'cuda') {
    try {
      const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cuda'] });
      return { session, provider: 'cuda' as const };
    } catch (err) {
      opts.warn?.(`CUDA execution provider unavailable (${firstLine(err)}); running on CPU`);
    }
  }
  const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
  return { session, provider: 'cpu' as const };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

function checkSignature(file: string, session: ort.InferenceSession, m: ModelManifest): void {
  const problems: string[] = [];
  const compare = (
    kind: string,
    specs: readonly TensorSpec[],
    meta: readonly ort.InferenceSession.ValueMetadata[],
  ) => {
    const names = meta.map((x) => x.name);
    if (names.join(',') !== specs.map((s) => s.name).join(',')) {
      problems.push(
        `${kind} are [${names.join(', ')}], manifest says [${specs.map((s) => s.name).join(', ')}]`,
      );
      return;
    }
    specs.forEach((spec, i) => {
      const v = meta[i]!;
      if (!v.isTensor) {
        problems.push(`${kind} ${spec.name} is not a tensor`);
        return;
      }
      if (v.type !== spec.type)
        problems.push(`${kind} ${spec.name} has type ${v.type}, manifest says ${spec.type}`);
      const same =
        v.shape.length === spec.shape.length &&
        v.shape.every((d, k) =>
          typeof spec.shape[k] === 'string' ? typeof d === 'string' : d === spec.shape[k],
        );
      if (!same)
        problems.push(
          `${kind} ${spec.name} has shape [${v.shape.join(', ')}], manifest says [${spec.shape.join(', ')}]`,
        );
    });
  };
  compare('inputs', m.inputs, session.inputMetadata);
  compare('outputs', m.outputs, session.outputMetadata);
  if (problems.length)
    throw new ModelLoadError(`${file}: model does not match its manifest: ${problems.join('; ')}`);
}

async function runBatched(
  session: ort.InferenceSession,
  m: ModelManifest,
  feeds: Feeds,
  rows: number,
  maxBatch: number,
): Promise<Record<string, FloatTensor>> {
  const out: Record<string, { parts: Float32Array[]; tail: number[] }> = {};
  for (let start = 0; start < rows; start += maxBatch) {
    const n = Math.min(maxBatch, rows - start);
    const chunk: Record<string, ort.Tensor> = {};
    for (const spec of m.inputs) {
      const t = feeds[spec.name]!;
      const rowSize = t.data.length / rows;
      chunk[spec.name] = new ort.Tensor('float32', t.data.subarray(start * rowSize, (start + n) * rowSize), [
        n,
        ...t.dims.slice(1),
      ]);
    }
    const result = await session.run(chunk);
    for (const spec of m.outputs) {
      const r = result[spec.name]!;
      const entry = out[spec.name] ?? { parts: [], tail: r.dims.slice(1) };
      out[spec.name] = entry;
      entry.parts.push(r.data as Float32Array);
    }
  }
  const merged: Record<string, FloatTensor> = {};
  for (const spec of m.outputs) {
    const entry = out[spec.name];
    if (!entry) {
      merged[spec.name] = {
        data: new Float32Array(0),
        dims: [0, ...spec.shape.slice(1).map((d) => (typeof d === 'number' ? d : 0))],
      };
      continue;
    }
    const total = entry.parts.reduce((a, p) => a + p.length, 0);
    const data = new Float32Array(total);
    let o = 0;
    for (const p of entry.parts) {
      data.set(p, o);
      o += p.length;
    }
    merged[spec.name] = { data, dims: [rows, ...entry.tail] };
  }
  return merged;
}

/** Row-wise softmax of logits / temperature (numerically stable). */
export function softmaxRows(logits: Float32Array, classes: number, temperature = 1): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r + c]! / temperature);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(logits[r + c]! / temperature - max);
      out[r + c] = e;
      sum += e;
    }
    for (let c = 0; c < classes; c++) out[r + c]! /= sum;
  }
  return out;
}
