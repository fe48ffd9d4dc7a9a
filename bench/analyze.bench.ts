/**
 * Issue #3 speed goals, measured on the shipped models:
 *  - one 30-min MIT-BIH record end to end (read → QRS → beats → rhythm) ≤ 0.25 s median;
 *  - one 10-s 12-lead 500 Hz ECG (PTB-XL) ≤ 5 ms p50 (record already in memory, as in the service).
 * Stage timings come from analyze()'s own `timings`.
 */
import { join } from 'node:path';
import { analyze } from '../src/inference/analyze.js';
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
  ];
}
