/**
 * Issue #2 speed goal: one 30-min 2-lead MIT-BIH record read → filter → detect ≤ 0.1 s median.
 * "Filter" is the detector's own QRS band-pass (it filters every lead before detecting); a second row adds
 * the analysis cleaning chain (baseline removal + 0.5–40 Hz) to show its cost, and a baseline row times
 * the read alone so the stages can be compared in the same run.
 */
import { join } from 'node:path';
import { cleanEcg } from '../src/inference/dsp/preprocess.js';
import { detectQrs } from '../src/inference/dsp/qrs.js';
import { readWfdbRecord } from '../src/inference/io/record.js';
import { fmtMs, median, timeRuns } from './stats.js';

export async function benchQrs(dataDir: string, runs = 15): Promise<string[]> {
  const path = join(dataDir, 'mitdb', '100');
  const { ecg } = await readWfdbRecord(path); // warm-up (JIT, page cache)
  detectQrs(
    ecg.leads.map((l) => l.samples),
    ecg.fs,
  );
  const seconds = ecg.leads[0]!.samples.length / ecg.fs;

  const readOnly = median(await timeRuns(runs, () => readWfdbRecord(path)));
  const pipeline = median(
    await timeRuns(runs, async () => {
      const r = await readWfdbRecord(path);
      detectQrs(
        r.ecg.leads.map((l) => l.samples),
        r.ecg.fs,
      );
    }),
  );
  const withClean = median(
    await timeRuns(runs, async () => {
      const r = await readWfdbRecord(path);
      const cleaned = r.ecg.leads.map((l) => cleanEcg(l.samples, r.ecg.fs));
      detectQrs(cleaned, r.ecg.fs);
    }),
  );
  const rt = (ms: number) => `${Math.round((seconds * 1000) / ms).toLocaleString('en-US')}× real time`;
  return [
    `qrs: mitdb/100 (${(seconds / 60).toFixed(1)} min, ${ecg.leads.length} leads, ${ecg.fs} Hz), median of ${runs} runs`,
    `  read only                         ${fmtMs(readOnly).padStart(10)}  ${rt(readOnly)}`,
    `  read → filter → detect            ${fmtMs(pipeline).padStart(10)}  ${rt(pipeline)}  (goal ≤ 100 ms: ${pipeline <= 100 ? 'met' : 'NOT met'})`,
    `  read → clean → filter → detect    ${fmtMs(withClean).padStart(10)}  ${rt(withClean)}  (${(withClean / pipeline).toFixed(2)}× the row above)`,
  ];
}
