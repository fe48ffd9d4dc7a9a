/** `npm run bench`: every benchmark, printed as numbers (targets live here, not in timed tests). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEngine, loadModel } from '../src/inference/model/index.js';
import { benchAnalyze } from './analyze.bench.js';
import { benchBackfill } from './backfill.bench.js';
import { benchDecoder } from './decoder.bench.js';
import { benchModelEfficiency } from './model-efficiency.bench.js';
import { benchQrs } from './qrs.bench.js';
import { benchTorchVsOnnx } from './torch-vs-onnx.bench.js';

const dataDir = resolve(
  process.env.ECG_SHARED_DATA ?? resolve(import.meta.dirname, '..', '..', 'shared', 'data'),
);
if (!existsSync(dataDir)) {
  process.stderr.write(`bench: ${dataDir} not found (PhysioNet databases absent; set ECG_SHARED_DATA)\n`);
  process.exit(2);
}
process.stdout.write(
  `machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown'} × ${(await import('node:os')).cpus().length}, node ${process.version}\n`,
);
for (const line of await benchQrs(dataDir)) process.stdout.write(`${line}\n`);
// Decoder vs JSON.parse + split (issue #14 item 7): same run, ratio printed.
for (const line of await benchDecoder(dataDir)) process.stdout.write(`${line}\n`);
const engine = await loadEngine(join(import.meta.dirname, '..', 'models'));
try {
  for (const line of await benchAnalyze(dataDir, engine)) process.stdout.write(`${line}\n`);
  // PyTorch runs the fp32 graph: compare it with the fp32 ONNX source of an int8 shipped model (beat-cnn 4.1.0)
  const fp32Id = (engine.beat.manifest as { quantization?: { fp32Model?: string } }).quantization?.fp32Model;
  const beat = fp32Id ? await loadModel(join(import.meta.dirname, '..', 'models'), fp32Id) : engine.beat;
  try {
    for (const line of await benchTorchVsOnnx(dataDir, beat, join(import.meta.dirname, '..'))) {
      process.stdout.write(`${line}\n`);
    }
  } finally {
    if (beat !== engine.beat) await beat.dispose();
  }
} finally {
  await engine.dispose();
}
// Effective GFLOP/s of each shipped model and of its int8 (QDQ) variant (issue #14 item 4), same run.
for (const line of await benchModelEfficiency(dataDir, join(import.meta.dirname, '..'))) {
  process.stdout.write(`${line}\n`);
}
// Back-analysis throughput (issue #5): FHIR server and workers in their own processes.
for (const line of await benchBackfill()) process.stdout.write(`${line}\n`);
