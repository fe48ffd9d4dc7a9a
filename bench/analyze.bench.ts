/**
 * Issue #3 speed goals, measured on the shipped models:
 *  - one 30-min MIT-BIH record end to end (read → QRS → beats → rhythm) ≤ 0.25 s median;
 *  - one 10-s 12-lead 500 Hz ECG (PTB-XL) ≤ 5 ms p50 (record already in memory, as in the service).
 * Stage timings come from analyze()'s own `timings`.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { analyze } from '../src/inference/analyze.js';
import type { Ecg } from '../src/inference/ecg.js';
import { readWfdbRecord } from '../src/inference/io/record.js';
import type { Engine } from '../src/inference/model/engine.js';
import { fmtMs, median, percentile, timeRuns } from './stats.js';

export async function benchAnalyze(dataDir: string, engine: Engine, runs = 9): Promise<string[]> {
  const mit = join(dataDir, 'mitdb', '100');
  await analyze((await readWfdbRecord(mit)).ecg, engine); // warm-up
  const long = await timeRuns(runs, async () => analyze((await readWfdbRecord(mit)).ecg, engine));
  const { ecg: twelve } = await readWfdbRecord(join(dataDir, 'ptbxl', 'records500', '00000', '00001_hr'));
  for (let i = 0; i < 20; i++) await analyze(twelve, engine);
  const short = await timeRuns(200, () => analyze(twelve, engine));
  // Cross-ECG batching (issue #14 item 2): 16 different 12-lead ECGs analysed together, as a pool worker
  // does with the ECGs waiting for it, against the same 16 one at a time, interleaved in this run.
  const batch: Ecg[] = [];
  const folder = join(dataDir, 'ptbxl', 'records500', '00000');
  const ids = (await readdir(folder))
    .filter((f) => f.endsWith('.hea'))
    .sort()
    .slice(0, 16);
  for (const id of ids) batch.push((await readWfdbRecord(join(folder, id.slice(0, -4)))).ecg);
  const oneByOne: number[] = [];
  const together: number[] = [];
  for (let round = 0; round < 7; round++) {
    const t0 = performance.now();
    for (const e of batch) await analyze(e, engine);
    const t1 = performance.now();
    await Promise.all(batch.map((e) => analyze(e, engine)));
    const t2 = performance.now();
    if (round > 0) {
      oneByOne.push((t1 - t0) / batch.length);
      together.push((t2 - t1) / batch.length);
    }
  }
  const r = await analyze(twelve, engine);
  const stages =
    r.status === 'ok'
      ? Object.entries(r.timings)
          .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
          .join(', ')
      : r.reason;
  const providers = engine.beat.provider;
  return [
    `analyze (provider ${providers})`,
    `  30-min 2-lead MIT-BIH record, read → QRS → beats → rhythm: median ${fmtMs(median(long))} (goal ≤ 250 ms: ${median(long) <= 250 ? 'met' : 'NOT met'})`,
    `  10-s 12-lead 500 Hz PTB-XL ECG in memory: p50 ${fmtMs(percentile(short, 50))}, p95 ${fmtMs(percentile(short, 95))} (goal p50 ≤ 5 ms: ${percentile(short, 50) <= 5 ? 'met' : 'NOT met'}); stages: ${stages}`,
    `  16 different 10-s 12-lead ECGs: one at a time ${fmtMs(median(oneByOne))}/ECG, together (batched model calls) ${fmtMs(median(together))}/ECG: ×${(median(oneByOne) / median(together)).toFixed(2)} (one core)`,
  ];
}
