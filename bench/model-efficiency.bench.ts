/**
 * Model efficiency (issue #14 item 4): each shipped model and its int8 (QDQ) variant on the CPU provider,
 * on the batches one 30-min Holter record (mitdb/100, through the shipped input code) sends them: the beat
 * model's two-lead vote batch (every beat on both leads), the rhythm model's 10-s windows (5-s stride) and
 * the quality autoencoder's 2.048-s segments. Per model: ms per batch, rows/s and the effective GFLOP/s
 * as a share of this 2-core machine's ~200 GFLOP/s FP32 ceiling, fp32 and int8 side by side in one run
 * (interleaved, median of BENCH_RUNS rounds), and the speed ratio int8 / fp32. Where the shipped model is
 * itself int8 (its manifest's `quantization.fp32Model`, e.g. beat-cnn 4.1.0), its fp32 source from models/
 * fills the fp32 column.
 *
 * FLOPs per row are counted from each fp32 ONNX graph (training/quantize/onnx_flops.py: 2 × MACs of
 * every Conv, ConvTranspose, Gemm and MatMul, shapes from ONNX's own shape inference); the int8 column
 * uses the same count (fp32-equivalent FLOP/s: the graphs do the same multiply-accumulates, in int8).
 * The int8 models are built by training/quantize/quantize.py into training/cache/quant/models-int8
 * (override with BENCH_INT8_MODELS); when absent, only the fp32 rows print.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { aeInputs, SEGMENT_LENGTH } from '../src/inference/analysis/ae-input.js';
import {
  beatInputs,
  RR_FEATURE_COUNT,
  WINDOW_LENGTH,
  windowTensor,
} from '../src/inference/analysis/beat-input.js';
import { primaryLeadFirst } from '../src/inference/analysis/leads.js';
import {
  RHYTHM_FEATURE_COUNT,
  WINDOW_LENGTH as RHYTHM_WINDOW,
  rhythmInputs,
} from '../src/inference/analysis/rhythm-input.js';
import { detectQrs } from '../src/inference/dsp/qrs.js';
import { readWfdbRecord } from '../src/inference/io/record.js';
import {
  type FloatTensor,
  loadEngine,
  loadModel,
  type ModelRole,
  type ModelSession,
} from '../src/inference/model/index.js';
import { SYSTEM_PYTHON } from './python-prereqs.js';
import { median } from './stats.js';

/** This 2-core machine's FP32 matmul ceiling (README, bench/torch-vs-onnx.bench.ts). */
export const FP32_CEILING_GFLOPS = 200;

type Feeds = Record<string, FloatTensor>;

/** FLOPs per row of each ONNX file (null where the counter cannot run: no python3 with onnx). */
export function onnxFlopsPerRow(files: readonly string[], repoRoot: string): Map<string, number> | string {
  const r = spawnSync(SYSTEM_PYTHON, [join(repoRoot, 'training/quantize/onnx_flops.py'), ...files], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error || r.status !== 0)
    return `FLOP counter unavailable (${r.error ? (r.error as NodeJS.ErrnoException).code : r.stderr.trim().split('\n').pop()})`;
  const out = new Map<string, number>();
  for (const line of r.stdout.trim().split('\n')) {
    const o = JSON.parse(line) as { file: string; flops_per_row: number };
    out.set(o.file, o.flops_per_row);
  }
  return out;
}

/** The inputs one 30-min record gives each model, built by the shipped input code. */
async function recordBatches(dataDir: string, beatChannels: 1 | 2): Promise<Record<ModelRole, Feeds>> {
  const { ecg } = await readWfdbRecord(join(dataDir, 'mitdb', '100'));
  const { lead, leads, ordered } = primaryLeadFirst(ecg);
  const peaks = detectQrs(leads, ecg.fs);
  const n = peaks.length;
  // two-lead vote: the same beats on the primary lead and on the other lead, one batch
  const perLead = ordered.slice(0, 2).map((l) => beatInputs(l.samples, ecg.fs, peaks));
  const rows = n * perLead.length;
  const window = new Float32Array(rows * beatChannels * WINDOW_LENGTH);
  const rr = new Float32Array(rows * RR_FEATURE_COUNT);
  perLead.forEach((b, i) => {
    window.set(windowTensor(b.windows, n, beatChannels), i * n * beatChannels * WINDOW_LENGTH);
    rr.set(b.rr, i * n * RR_FEATURE_COUNT);
  });
  const rh = rhythmInputs(lead.samples, ecg.fs);
  const ae = aeInputs(lead.samples, ecg.fs);
  return {
    beat: {
      window: { data: window, dims: [rows, beatChannels, WINDOW_LENGTH] },
      rr: { data: rr, dims: [rows, RR_FEATURE_COUNT] },
    },
    rhythm: {
      signal: { data: rh.signal, dims: [rh.count, 1, RHYTHM_WINDOW] },
      features: { data: rh.features, dims: [rh.count, RHYTHM_FEATURE_COUNT] },
    },
    quality: { segment: { data: ae.segments, dims: [ae.count, 1, SEGMENT_LENGTH] } },
  };
}

/** Interleaved timing of the fp32 and int8 sessions on the same feeds (same machine load for both). */
async function timePair(
  a: ModelSession,
  b: ModelSession | undefined,
  feeds: Feeds,
  runs: number,
): Promise<[number, number | undefined]> {
  await a.run(feeds);
  await b?.run(feeds);
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [s, out] of [
      [a, ta],
      [b, tb],
    ] as const) {
      if (!s) continue;
      const t0 = performance.now();
      await s.run(feeds);
      out.push(performance.now() - t0);
    }
  }
  return [median(ta), b ? median(tb) : undefined];
}

export async function benchModelEfficiency(
  dataDir: string,
  repoRoot: string,
  runs = Number(process.env.BENCH_RUNS ?? 9),
): Promise<string[]> {
  const fp32Dir = join(repoRoot, 'models');
  const int8Dir = process.env.BENCH_INT8_MODELS ?? join(repoRoot, 'training/cache/quant/models-int8');
  const lines: string[] = [];
  const shipped = await loadEngine(fp32Dir);
  const variants = existsSync(join(int8Dir, 'shipped.json')) ? await loadEngine(int8Dir) : undefined;
  const extra: ModelSession[] = [];
  try {
    const roles = ['beat', 'rhythm', 'quality'] as const;
    // A shipped int8 model names its fp32 source (models/<id>-fp32): that is the fp32 column, the shipped
    // model the int8 one; otherwise the shipped model is the fp32 column and the int8 variant comes from
    // int8Dir.
    const pairs: Record<ModelRole, [ModelSession, ModelSession | undefined]> = {} as never;
    for (const role of roles) {
      const m = shipped[role];
      const source = (m.manifest as { quantization?: { fp32Model?: string } }).quantization?.fp32Model;
      if (source) {
        const f = await loadModel(fp32Dir, source);
        extra.push(f);
        pairs[role] = [f, m];
      } else pairs[role] = [m, variants?.[role]];
    }
    const files = roles.map((r) => join(fp32Dir, pairs[r][0].manifest.file));
    const flops = onnxFlopsPerRow(files, repoRoot);
    const channels = shipped.beat.manifest.inputs[0]?.shape[1] === 2 ? 2 : 1;
    const batches = await recordBatches(dataDir, channels);
    lines.push(
      `model efficiency (CPU, mitdb/100 = one 30-min record's batches, median of ${runs} interleaved runs; ` +
        `GFLOP/s against a ~${FP32_CEILING_GFLOPS} GFLOP/s FP32 ceiling, int8 counted at the fp32 graph's FLOPs; * = shipped)`,
    );
    if (typeof flops === 'string') lines.push(`  ${flops}: GFLOP/s not shown`);
    if (!variants)
      lines.push(
        `  no int8 variants in ${int8Dir}: run training/quantize/quantize.py (training/README.md) for the int8 column`,
      );
    lines.push(
      '  model                      rows  MFLOP/row |   fp32 ms   rows/s  GFLOP/s  %ceil |   int8 ms   rows/s  GFLOP/s | int8/fp32 speed',
    );
    for (const [i, role] of roles.entries()) {
      const feeds = batches[role];
      const rows = Object.values(feeds)[0]!.dims[0]!;
      const perRow = typeof flops === 'string' ? undefined : flops.get(files[i]!);
      const [a, b] = pairs[role];
      const [msA, msB] = await timePair(a, b, feeds, runs);
      const gf = (ms: number) => (perRow === undefined ? NaN : (perRow * rows) / (ms / 1000) / 1e9);
      const star = (s: ModelSession) => (s === shipped[role] ? '*' : ' ');
      const name = `${role} ${shipped[role].manifest.id}@${shipped[role].manifest.version}`;
      let line =
        `  ${name.padEnd(26)}${String(rows).padStart(5)}  ${perRow === undefined ? '      n/a' : (perRow / 1e6).toFixed(2).padStart(9)} |` +
        `${star(a)}${msA.toFixed(1).padStart(8)} ${((rows * 1000) / msA).toFixed(0).padStart(8)} ${gf(msA).toFixed(1).padStart(8)} ${((100 * gf(msA)) / FP32_CEILING_GFLOPS).toFixed(1).padStart(5)}% |`;
      if (b && msB !== undefined)
        line +=
          `${star(b)}${msB.toFixed(1).padStart(8)} ${((rows * 1000) / msB).toFixed(0).padStart(8)} ${gf(msB).toFixed(1).padStart(8)} |` +
          ` ${(msA / msB).toFixed(2)}×`;
      lines.push(line);
    }
  } finally {
    await Promise.all([shipped.dispose(), variants?.dispose(), ...extra.map((e) => e.dispose())]);
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, '..');
  const data = process.env.ECG_SHARED_DATA ?? join(root, '..', 'shared', 'data');
  for (const line of await benchModelEfficiency(data, root)) process.stdout.write(`${line}\n`);
}
