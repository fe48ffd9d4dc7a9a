/**
 * `ecg-cds eval qrs --db <wfdb-dir> [--records all|100,101,...] [--json] [--out <dir>]`
 * Scores the QRS detector on every lead of each record (primary lead first, as the analysis pipeline
 * passes them) against its reference `.atr` beats.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { primaryLeadFirst } from '../inference/analysis/leads.js';
import { detectQrs } from '../inference/dsp/qrs.js';
import {
  type DetectionCounts,
  type DetectionScore,
  matchBeats,
  referenceBeats,
  score,
  vfIntervals,
} from '../inference/eval/qrs-match.js';
import { RecordReadError } from '../inference/io/errors.js';
import { readAnnotations, readWfdbRecord } from '../inference/io/record.js';
import { encodeAnnotations } from '../inference/io/wfdb-annotation.js';
import { progressBar } from './progress.js';
import { resolveRecords } from './records.js';

export interface EvalQrsOptions {
  readonly db: string;
  readonly records: string;
  readonly json: boolean;
  readonly out?: string | undefined;
}

export interface EvalQrsReport {
  records: Array<{ record: string } & Omit<DetectionScore, 'f1'>>;
  total: DetectionScore;
}

/** Evaluate the detector over the chosen records. */
export async function evaluateQrs(opts: Omit<EvalQrsOptions, 'json'>): Promise<EvalQrsReport> {
  const names = await resolveRecords(opts.db, opts.records);
  if (names.length === 0) throw new RecordReadError(opts.db, 'no records with .hea and .atr files');
  if (opts.out) await mkdir(opts.out, { recursive: true });
  const total: DetectionCounts = { tp: 0, fn: 0, fp: 0 };
  const records: EvalQrsReport['records'] = [];
  const bar = progressBar(names.length, 'eval qrs');
  try {
    for (const name of names) {
      const path = join(opts.db, name);
      // Header and signals first, then annotations: a missing record is reported by its .hea, deterministically.
      const { ecg } = await readWfdbRecord(path);
      const anns = await readAnnotations(path, 'atr');
      const peaks = detectQrs(primaryLeadFirst(ecg).leads, ecg.fs);
      const refs = referenceBeats(anns).map((a) => a.sample);
      const n = ecg.leads[0]?.samples.length ?? 0;
      const { counts } = matchBeats(refs, peaks, ecg.fs, vfIntervals(anns, n));
      const { f1: _f1, ...s } = score(counts);
      records.push({ record: name, ...s });
      total.tp += counts.tp;
      total.fn += counts.fn;
      total.fp += counts.fp;
      if (opts.out) {
        const qrs = encodeAnnotations(Array.from(peaks, (sample) => ({ sample, symbol: 'N' })));
        await writeFile(join(opts.out, `${name}.qrs`), qrs);
      }
      bar.tick(name);
    }
  } finally {
    bar.stop();
  }
  return { records, total: score(total) };
}

export async function runEvalQrs(opts: EvalQrsOptions): Promise<number> {
  const report = await evaluateQrs(opts);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  }
  const pct = (v: number) => (100 * v).toFixed(2).padStart(7);
  const lines = ['record      TP     FN     FP     Se%    +P%'];
  for (const r of report.records) {
    lines.push(
      `${r.record.padEnd(8)} ${String(r.tp).padStart(6)} ${String(r.fn).padStart(6)} ${String(r.fp).padStart(6)} ${pct(r.se)} ${pct(r.ppv)}`,
    );
  }
  const t = report.total;
  lines.push(
    `${'total'.padEnd(8)} ${String(t.tp).padStart(6)} ${String(t.fn).padStart(6)} ${String(t.fp).padStart(6)} ${pct(t.se)} ${pct(t.ppv)}  F1 ${pct(t.f1)}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
