/**
 * The shipped beat model in PyTorch eager (`/usr/bin/python3`, training/beats/bench_torch.py) versus our
 * pipeline's ONNX Runtime session, on the same beats (record 100's, through the shipped beat-input code),
 * in one run; plus the effective GFLOP/s of each (FLOPs counted on the PyTorch graph: 2 × MACs of every
 * convolution and linear layer; this 2-core machine's FP32 matmul ceiling is about 200 GFLOP/s).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  beatInputs,
  RR_FEATURE_COUNT,
  WINDOW_LENGTH,
  windowTensor,
} from '../src/inference/analysis/beat-input.js';
import { primaryLeadFirst } from '../src/inference/analysis/leads.js';
import { detectQrs } from '../src/inference/dsp/qrs.js';
import { encodeNpy } from '../src/inference/io/npy.js';
import { readWfdbRecord } from '../src/inference/io/record.js';
import type { ModelSession } from '../src/inference/model/session.js';
import { missingPythonPrereqs, SYSTEM_PYTHON } from './python-prereqs.js';
import { fmtMs, median, timeRuns } from './stats.js';

export async function benchTorchVsOnnx(
  dataDir: string,
  model: ModelSession,
  repoRoot: string,
): Promise<string[]> {
  const missing = missingPythonPrereqs();
  if (missing)
    return ['torch vs onnx: skipped, the PyTorch side cannot run here:', ...missing.map((l) => `  ${l}`)];
  const { ecg } = await readWfdbRecord(join(dataDir, 'mitdb', '100'));
  const { lead, leads } = primaryLeadFirst(ecg);
  const peaks = detectQrs(leads, ecg.fs);
  const n = peaks.length;
  const { windows, rr } = beatInputs(lead.samples, ecg.fs, peaks);
  const channels = model.manifest.inputs[0]?.shape[1] === 2 ? 2 : 1;
  const window = windowTensor(windows, n, channels);
  const dir = await mkdtemp(join(tmpdir(), 'ecg-bench-'));
  try {
    await writeFile(join(dir, 'window.npy'), encodeNpy(window, [n, channels, WINDOW_LENGTH]));
    await writeFile(join(dir, 'rr.npy'), encodeNpy(rr, [n, RR_FEATURE_COUNT]));
    const feeds = {
      window: { data: window, dims: [n, channels, WINDOW_LENGTH] },
      rr: { data: rr, dims: [n, RR_FEATURE_COUNT] },
    };
    await model.run(feeds);
    const ort = median(await timeRuns(15, () => model.run(feeds)));
    const py = spawnSync(
      SYSTEM_PYTHON,
      [join(repoRoot, 'training/beats/bench_torch.py'), join(dir, 'window.npy'), join(dir, 'rr.npy'), '15'],
      {
        encoding: 'utf8',
      },
    );
    if (py.status !== 0)
      return [`torch vs onnx: PyTorch run failed (${py.stderr.trim().split('\n').pop() ?? 'no output'})`];
    const t = JSON.parse(py.stdout.trim().split('\n').pop()!) as {
      median_ms: number;
      flops_per_row: number;
      threads: number;
      weights?: string;
    };
    const gflops = (ms: number) => ((t.flops_per_row * n) / (ms / 1000) / 1e9).toFixed(1);
    return [
      `beat model on ${n} beats of mitdb/100 (${(t.flops_per_row / 1e6).toFixed(2)} MFLOP per beat), median of 15 runs` +
        (t.weights && t.weights !== 'trained' ? `; PyTorch weights ${t.weights}` : ''),
      `  PyTorch eager (${t.threads} threads)   ${fmtMs(t.median_ms).padStart(10)}  ${gflops(t.median_ms)} GFLOP/s`,
      `  ONNX Runtime (${model.provider})            ${fmtMs(ort).padStart(10)}  ${gflops(ort)} GFLOP/s  → ${(t.median_ms / ort).toFixed(2)}× PyTorch eager`,
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
