/**
 * `ecg-cds eval beats --db <wfdb-dir> --records <DS1|DS2|all|list> [--json] [--out <dir>] [--metrics <file>]`
 *
 * Runs the shipped pipeline — our QRS detector on every lead (primary lead first, as analyze() does) and the
 * shipped beat model on lead MLII, else II, else the first channel — and scores it against the reference
 * annotations: a detected beat within 150 ms of a reference beat takes that beat's class; an unmatched
 * reference beat is a miss of its class; an unmatched detection is an extra beat of its predicted class.
 * Reference beats with no AAMI class (e.g. `?`) are matched, so they create no extra beats, but not scored.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AAMI_CLASSES, type AamiClass, aamiIndex, DS1, DS2 } from '../inference/analysis/aami.js';
import { classifyBeats } from '../inference/analysis/beats.js';
import { primaryLeadFirst } from '../inference/analysis/leads.js';
import { detectQrs } from '../inference/dsp/qrs.js';
import { atTemperatureOne, expectedCalibrationError } from '../inference/eval/calibration.js';
import { matchBeats, referenceBeats, score, vfIntervals } from '../inference/eval/qrs-match.js';
import { readAnnotations, readWfdbRecord } from '../inference/io/record.js';
import { encodeAnnotations } from '../inference/io/wfdb-annotation.js';
import type { ModelSession } from '../inference/model/session.js';
import { progressBar } from './progress.js';
import { resolveRecords } from './records.js';

type Cls = AamiClass;
const COLS = [...AAMI_CLASSES, 'missed'] as const;
const ROWS = [...AAMI_CLASSES, 'extra'] as const;
export type Confusion = Record<(typeof ROWS)[number], Record<(typeof COLS)[number], number>>;

export interface ClassScore {
  tp: number;
  fn: number;
  fp: number;
  se: number;
  ppv: number;
  f1: number;
}

export interface EvalBeatsReport {
  records: Array<{
    record: string;
    lead: string;
    beats: number;
    qrs: { se: number; ppv: number };
    confusion: Confusion;
  }>;
  classes: Record<Cls, ClassScore>;
  confusion: Confusion;
  qrs: { se: number; ppv: number };
  /** Expected calibration error of matched, scored beats with the model's temperature and without it. */
  calibration: { ece: number; eceUncalibrated: number; temperature: number };
}

export function emptyConfusion(): Confusion {
  const c = {} as Confusion;
  for (const r of ROWS) c[r] = Object.fromEntries(COLS.map((k) => [k, 0])) as Confusion[typeof r];
  return c;
}

/** Per-class Se/+P/F1 from a confusion matrix whose extra row and missed column hold detection errors. */
export function classScores(c: Confusion): Record<Cls, ClassScore> {
  const out = {} as Record<Cls, ClassScore>;
  for (const k of AAMI_CLASSES) {
    const tp = c[k][k];
    const fn = COLS.reduce((a, col) => a + (col === k ? 0 : c[k][col]), 0);
    const fp = ROWS.reduce((a, row) => a + (row === k ? 0 : c[row][k]), 0);
    const s = score({ tp, fn, fp });
    out[k] = { tp, fn, fp, se: s.se, ppv: s.ppv, f1: s.f1 };
  }
  return out;
}

export async function evaluateBeats(opts: {
  db: string;
  records: string;
  out?: string | undefined;
  model: ModelSession;
}): Promise<EvalBeatsReport> {
  const names = await resolveRecords(opts.db, opts.records, { DS1, DS2 });
  if (opts.out) await mkdir(opts.out, { recursive: true });
  const total = emptyConfusion();
  const qrsTotal = { tp: 0, fn: 0, fp: 0 };
  const records: EvalBeatsReport['records'] = [];
  const temperature = opts.model.manifest.temperature;
  const conf: number[] = [];
  const confRaw: number[] = [];
  const correct: boolean[] = [];
  const bar = progressBar(names.length, 'eval beats');
  try {
    for (const name of names) {
      const path = join(opts.db, name);
      // Header and signals first, then annotations: a missing record is reported by its .hea, deterministically.
      const { ecg } = await readWfdbRecord(path);
      const anns = await readAnnotations(path, 'atr');
      const { lead, leads } = primaryLeadFirst(ecg);
      const peaks = detectQrs(leads, ecg.fs);
      // every lead, primary first: a model with a per-lead vote (manifest leadVote) averages over them,
      // as analyze() does (there the other leads are ordered by quality; MIT-BIH and SVDB have two)
      const beats = await classifyBeats(opts.model, leads, ecg.fs, peaks);
      const refs = referenceBeats(anns);
      const n = lead.samples.length;
      const m = matchBeats(
        refs.map((a) => a.sample),
        peaks,
        ecg.fs,
        vfIntervals(anns, n),
      );
      const table = emptyConfusion();
      refs.forEach((ref, i) => {
        const k = aamiIndex(ref.symbol);
        if (k < 0) return;
        const d = m.refToDet[i]!;
        table[AAMI_CLASSES[k]!][d < 0 ? 'missed' : beats[d]!.label]++;
        if (d >= 0) {
          const b = beats[d]!;
          conf.push(Math.max(...b.probabilities));
          confRaw.push(Math.max(...atTemperatureOne(b.probabilities, temperature)));
          correct.push(b.label === AAMI_CLASSES[k]);
        }
      });
      beats.forEach((b, j) => {
        if (m.detToRef[j]! < 0 && !m.detExcluded[j]) table.extra[b.label]++;
      });
      const scored = refs.filter((r) => aamiIndex(r.symbol) >= 0).length;
      const missed = AAMI_CLASSES.reduce((a, k) => a + table[k].missed, 0);
      const extra = AAMI_CLASSES.reduce((a, k) => a + table.extra[k], 0);
      const q = score({ tp: scored - missed, fn: missed, fp: extra });
      qrsTotal.tp += scored - missed;
      qrsTotal.fn += missed;
      qrsTotal.fp += extra;
      for (const r of ROWS) for (const col of COLS) total[r][col] += table[r][col];
      records.push({
        record: name,
        lead: lead.name,
        beats: beats.length,
        qrs: { se: q.se, ppv: q.ppv },
        confusion: table,
      });
      if (opts.out) {
        const cls = encodeAnnotations(beats.map((b) => ({ sample: b.sample, symbol: b.label })));
        await writeFile(join(opts.out, `${name}.cls`), cls);
      }
      bar.tick(name);
    }
  } finally {
    bar.stop();
  }
  const q = score(qrsTotal);
  return {
    records,
    classes: classScores(total),
    confusion: total,
    qrs: { se: q.se, ppv: q.ppv },
    calibration: {
      ece: expectedCalibrationError(conf, correct),
      eceUncalibrated: expectedCalibrationError(confRaw, correct),
      temperature,
    },
  };
}

/** A readable table of per-class results and the confusion matrix. */
export function formatBeatsReport(r: EvalBeatsReport): string {
  const pct = (v: number) => (100 * v).toFixed(2).padStart(7);
  const lines = ['class     TP     FN     FP     Se%    +P%    F1%'];
  for (const k of AAMI_CLASSES) {
    const c = r.classes[k];
    lines.push(
      `${k.padEnd(5)} ${String(c.tp).padStart(6)} ${String(c.fn).padStart(6)} ${String(c.fp).padStart(6)} ${pct(c.se)} ${pct(c.ppv)} ${pct(c.f1)}`,
    );
  }
  lines.push(
    '',
    `confusion (rows reference, columns predicted)`,
    `       ${COLS.map((c) => c.padStart(7)).join('')}`,
  );
  for (const row of ROWS)
    lines.push(`${row.padEnd(7)}${COLS.map((c) => String(r.confusion[row][c]).padStart(7)).join('')}`);
  lines.push('', `QRS detection: Se ${pct(r.qrs.se)} %, +P ${pct(r.qrs.ppv)} %`);
  const c = r.calibration;
  lines.push(
    `calibration: ECE ${c.ece.toFixed(4)} at temperature ${c.temperature} (${c.eceUncalibrated.toFixed(4)} at 1)`,
  );
  return `${lines.join('\n')}\n`;
}
