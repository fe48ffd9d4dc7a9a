/**
 * `npm run bench:gpu` (issue #14 item 5): batch throughput of each shipped model, and of the analysis
 * stage of the nightly path, on `ORT_PROVIDER=cuda` against the CPU, in one run. Needs no GPU: where the
 * CUDA execution provider cannot start (no device, or its libraries absent: `.npmrc` skips their
 * download), the fallback is reported exactly as the service reports it, and the CPU figures still print.
 * Never part of CI. Inputs are random tensors in each model's declared shape (throughput does not depend on
 * the values); the nightly stage analyses the committed 10-s 12-lead PTB-XL fixture repeatedly.
 */
import { join } from 'node:path';
import { analyze } from '../src/inference/analyze.js';
import { readWfdbRecord } from '../src/inference/io/record.js';
import {
  type Engine,
  type ExecutionProvider,
  loadEngine,
  type ModelSession,
} from '../src/inference/model/index.js';
import { median, timeRuns } from './stats.js';

const ROOT = join(import.meta.dirname, '..');
const BATCHES = [1, 64, 1024] as const;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function randomFeeds(model: ModelSession, batch: number) {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  return Object.fromEntries(
    model.manifest.inputs.map((spec) => {
      const dims = spec.shape.map((d) => (typeof d === 'number' ? d : batch));
      const n = dims.reduce((a, b) => a * b, 1);
      // RR-like inputs stay positive (the beat model takes logs of clipped RR seconds)
      const data = Float32Array.from({ length: n }, () => (spec.name === 'rr' ? 0.8 + 0.2 * rnd() : rnd()));
      return [spec.name, { data, dims }];
    }),
  );
}

async function modelRows(engine: Engine): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [role, model] of [
    ['beat', engine.beat],
    ['rhythm', engine.rhythm],
    ['quality', engine.quality],
  ] as const) {
    for (const batch of BATCHES) {
      const feeds = randomFeeds(model, batch);
      await model.run(feeds); // warm-up (CUDA: kernel selection, memory arenas)
      const ms = median(await timeRuns(RUNS, () => model.run(feeds)));
      out.set(`${role} ${model.manifest.id}@${model.manifest.version}, batch ${batch}`, (batch * 1000) / ms);
    }
  }
  return out;
}

async function nightlyRate(engine: Engine): Promise<number> {
  const { ecg } = await readWfdbRecord(join(ROOT, 'test', 'fixtures', 'ptbxl', '00003_hr'));
  await analyze(ecg, engine);
  const n = 50;
  const ms = median(
    await timeRuns(3, async () => {
      for (let i = 0; i < n; i++) await analyze(ecg, engine);
    }),
  );
  return (n * 1000) / ms;
}

const results = new Map<
  ExecutionProvider,
  { provider: string; rows: Map<string, number>; nightly: number }
>();
for (const asked of ['cpu', 'cuda'] as const) {
  const warnings: string[] = [];
  const engine = await loadEngine(join(ROOT, 'models'), { provider: asked, warn: (m) => warnings.push(m) });
  try {
    const ran = [...new Set([engine.beat, engine.rhythm, engine.quality].map((m) => m.provider))].join('+');
    if (asked === 'cuda' && warnings.length) process.stdout.write(`cuda requested: ${warnings[0]}\n`);
    results.set(asked, { provider: ran, rows: await modelRows(engine), nightly: await nightlyRate(engine) });
  } finally {
    await engine.dispose();
  }
}

const cpu = results.get('cpu')!;
const gpu = results.get('cuda')!;
const gpuRan = gpu.provider.includes('cuda');
process.stdout.write(
  `bench:gpu — cuda run executed on: ${gpu.provider}${gpuRan ? '' : ' (CUDA unavailable: both columns are CPU; the ratio is run-to-run noise)'}\n`,
);
process.stdout.write(
  'model, batch                                   cpu items/s   cuda-run items/s   ratio\n',
);
for (const [row, cpuRate] of cpu.rows) {
  const g = gpu.rows.get(row)!;
  process.stdout.write(
    `${row.padEnd(46)} ${cpuRate.toFixed(0).padStart(12)} ${g.toFixed(0).padStart(18)}   ${(g / cpuRate).toFixed(2)}×\n`,
  );
}
process.stdout.write(
  `nightly analysis stage (10-s 12-lead ECGs, analyze() only, one thread of work): cpu ${cpu.nightly.toFixed(1)} ECG/s, cuda run ${gpu.nightly.toFixed(1)} ECG/s (${(gpu.nightly / cpu.nightly).toFixed(2)}×)\n`,
);
