/**
 * `ecg-cds eval ae --db <wfdb-dir> --records <DS2|list|all> [--models <dir>] [--provider cpu|cuda] [--json]
 *  [--metrics <file>]`
 *
 * Runs the shipped autoencoder gate (src/inference/analysis/ae-gate.ts with models/ae-quality.onnx and its
 * threshold) on lead MLII (else II, else the first) of each record and reports the fraction of 2.048-s
 * segments flagged unreliable:
 *  - overall;
 *  - inside added-noise stretches (segments wholly inside them) and in the clean remainder, for noise stress
 *    test records (header "Created by `nst'": noise in alternating 2-min stretches from 5:00, see
 *    dataset-ae.ts);
 *  - on segments the reference annotations call noisy (`~` on that lead) and on the rest ("clean").
 * For comparison it reports the same fractions for the statistical quality index of dsp/quality.ts
 * (a segment counts as unreadable there when the 2.048-s quality segment containing its midpoint is).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORD_SETS } from '../inference/analysis/aami.js';
import { AE_MODEL_ID, aeGate, readAeThreshold } from '../inference/analysis/ae-gate.js';
import { AE_SCALE, type AeScale, SEGMENT_S } from '../inference/analysis/ae-input.js';
import { signalQuality } from '../inference/dsp/quality.js';
import { primaryLead, primaryLeadIndex } from '../inference/ecg.js';
import { readAnnotations, readWfdbRecord } from '../inference/io/record.js';
import type { Annotation } from '../inference/io/wfdb-annotation.js';
import { type ExecutionProvider, loadModel, type ModelSession } from '../inference/model/session.js';
import { annotatedNoiseStretches, isNstRecord, nstNoisyStretches, overlapFraction } from './dataset-ae.js';
import { progressBar } from './progress.js';
import { resolveRecords } from './records.js';

/** Flagged count and fraction over a group of segments. */
export interface FlagCount {
  segments: number;
  flagged: number;
  fraction: number;
  /** The same segments judged by the statistical index (dsp/quality.ts): unreadable count and fraction. */
  sqiUnreadable: number;
  sqiFraction: number;
  /** Segments flagged by the autoencoder or unreadable by the statistical index, count and fraction. */
  either: number;
  eitherFraction: number;
}

export interface AeRecordReport {
  record: string;
  lead: string;
  nst: boolean;
  all: FlagCount;
  /** nst records: segments wholly inside added-noise stretches, and those touching none. */
  insideAddedNoise?: FlagCount;
  outsideAddedNoise?: FlagCount;
  /** Segments overlapping a `~` noisy/unreadable stretch of the lead, and segments clear of any noise. */
  annotatedNoisy: FlagCount;
  clean: FlagCount;
}

export interface EvalAeReport {
  model: string;
  threshold: number;
  db: string;
  records: AeRecordReport[];
  totals: Omit<AeRecordReport, 'record' | 'lead' | 'nst'>;
}

export interface EvaluateAeOptions {
  readonly db: string;
  readonly records: string;
  readonly model: ModelSession;
  readonly threshold: number;
  /** Normalisation the model was trained with (default the contract's; candidates may differ). */
  readonly scale?: AeScale;
}

/** Gate every selected record and count flagged segments (see the file comment). */
export async function evaluateAe(opts: EvaluateAeOptions): Promise<EvalAeReport> {
  const names = await resolveRecords(opts.db, opts.records, RECORD_SETS);
  if (names.length === 0) throw new Error(`${opts.db}: no records selected by "${opts.records}"`);
  const records: AeRecordReport[] = [];
  const bar = progressBar(names.length, 'eval ae');
  try {
    for (const name of names) {
      records.push(await evaluateRecord(opts.db, name, opts.model, opts.threshold, opts.scale ?? AE_SCALE));
      bar.tick(name);
    }
  } finally {
    bar.stop();
  }
  const sum = (pick: (r: AeRecordReport) => FlagCount | undefined) => merge(records.map(pick));
  const totals: EvalAeReport['totals'] = {
    all: sum((r) => r.all),
    annotatedNoisy: sum((r) => r.annotatedNoisy),
    clean: sum((r) => r.clean),
  };
  if (records.some((r) => r.nst)) {
    totals.insideAddedNoise = sum((r) => r.insideAddedNoise);
    totals.outsideAddedNoise = sum((r) => r.outsideAddedNoise);
  }
  return { model: opts.model.manifest.id, threshold: opts.threshold, db: opts.db, records, totals };
}

async function evaluateRecord(
  db: string,
  name: string,
  model: ModelSession,
  threshold: number,
  scale: AeScale,
) {
  const path = join(db, name);
  const { ecg, header } = await readWfdbRecord(path);
  let anns: Annotation[] = [];
  try {
    anns = await readAnnotations(path, 'atr');
  } catch {
    // No reference annotations: every segment counts as unannotated.
  }
  const lead = primaryLead(ecg);
  const n = lead.samples.length;
  const gate = await aeGate(model, lead.samples, ecg.fs, threshold, scale);
  const sqi = signalQuality([lead.samples], ecg.fs, {
    segmentSeconds: SEGMENT_S,
    ...(lead.invalid ? { invalid: [lead.invalid] } : {}),
  });
  const sqiLen = sqi[0] ? sqi[0].end - sqi[0].start : n;
  const nst = isNstRecord(header.comments);
  const added = nst ? nstNoisyStretches(n, ecg.fs) : [];
  const annotated = annotatedNoiseStretches(anns, n, primaryLeadIndex(ecg));
  const groups = { all: tally(), inside: tally(), outside: tally(), annotatedNoisy: tally(), clean: tally() };
  for (const s of gate.segments) {
    const mid = (s.start + s.end) >> 1;
    const unreadable = sqi[Math.min(sqi.length - 1, Math.floor(mid / sqiLen))]?.readable === false;
    const add = (g: FlagCount) => {
      g.segments++;
      if (s.unreliable) g.flagged++;
      if (unreadable) g.sqiUnreadable++;
      if (s.unreliable || unreadable) g.either++;
    };
    const a = overlapFraction(added, s.start, s.end);
    const q = overlapFraction(annotated, s.start, s.end);
    add(groups.all);
    if (nst && a === 1) add(groups.inside);
    if (nst && a === 0) add(groups.outside);
    if (q > 0) add(groups.annotatedNoisy);
    if (q === 0 && a === 0) add(groups.clean);
  }
  const report: AeRecordReport = {
    record: name,
    lead: lead.name,
    nst,
    all: finish(groups.all),
    annotatedNoisy: finish(groups.annotatedNoisy),
    clean: finish(groups.clean),
  };
  if (nst) {
    report.insideAddedNoise = finish(groups.inside);
    report.outsideAddedNoise = finish(groups.outside);
  }
  return report;
}

function tally(): FlagCount {
  return {
    segments: 0,
    flagged: 0,
    fraction: 0,
    sqiUnreadable: 0,
    sqiFraction: 0,
    either: 0,
    eitherFraction: 0,
  };
}

function finish(c: FlagCount): FlagCount {
  c.fraction = c.segments ? c.flagged / c.segments : 0;
  c.sqiFraction = c.segments ? c.sqiUnreadable / c.segments : 0;
  c.eitherFraction = c.segments ? c.either / c.segments : 0;
  return c;
}

function merge(counts: readonly (FlagCount | undefined)[]): FlagCount {
  const t = tally();
  for (const c of counts) {
    if (!c) continue;
    t.segments += c.segments;
    t.flagged += c.flagged;
    t.sqiUnreadable += c.sqiUnreadable;
    t.either += c.either;
  }
  return finish(t);
}

/** Human-readable table of a report. */
export function formatAeReport(r: EvalAeReport): string {
  const pct = (c: FlagCount | undefined) =>
    c && c.segments
      ? `${(100 * c.fraction).toFixed(1).padStart(5)}% of ${String(c.segments).padStart(4)}`
      : '          -';
  const lines = [
    `${r.model} on ${r.db}, threshold ${r.threshold.toPrecision(4)}: % of 2.048-s segments flagged unreliable`,
    `${'record'.padEnd(10)} ${'all'.padStart(13)} ${'in noise'.padStart(13)} ${'outside'.padStart(13)} ${'~ noisy'.padStart(13)} ${'clean'.padStart(13)}`,
  ];
  const row = (name: string, x: Omit<AeRecordReport, 'record' | 'lead' | 'nst'>) =>
    `${name.padEnd(10)} ${pct(x.all)}  ${pct(x.insideAddedNoise)}  ${pct(x.outsideAddedNoise)}  ${pct(x.annotatedNoisy)}  ${pct(x.clean)}`;
  for (const rec of r.records) lines.push(row(rec.record, rec));
  lines.push(row('total', r.totals));
  const t = r.totals;
  const f = (x: number) => `${(100 * x).toFixed(1)}%`;
  lines.push(
    `statistical index (dsp/quality.ts) unreadable: all ${f(t.all.sqiFraction)}` +
      (t.insideAddedNoise ? `, in noise ${f(t.insideAddedNoise.sqiFraction)}` : '') +
      `, clean ${f(t.clean.sqiFraction)}; either flag: all ${f(t.all.eitherFraction)}` +
      (t.insideAddedNoise ? `, in noise ${f(t.insideAddedNoise.eitherFraction)}` : '') +
      `, clean ${f(t.clean.eitherFraction)}`,
  );
  return `${lines.join('\n')}\n`;
}

export interface EvalAeOptions {
  readonly db: string;
  /** DS2, all, or a comma-separated list (default all). */
  readonly records?: string;
  /** Models folder holding ae-quality.{onnx,manifest.json,threshold.json}. */
  readonly models: string;
  readonly provider?: ExecutionProvider;
  readonly json?: boolean;
  /** Also write the JSON report to this file. */
  readonly metrics?: string;
}

/** `eval ae`: load the shipped gate, evaluate, print; returns the process exit code. */
export async function runEvalAe(opts: EvalAeOptions): Promise<number> {
  const { threshold } = await readAeThreshold(opts.models);
  const model = await loadModel(opts.models, AE_MODEL_ID, {
    provider: opts.provider ?? 'cpu',
    warn: (m) => process.stderr.write(`ecg-cds: warning: ${m}\n`),
  });
  try {
    const report = await evaluateAe({ db: opts.db, records: opts.records ?? 'all', model, threshold });
    const json = `${JSON.stringify(report, null, 2)}\n`;
    if (opts.metrics) await writeFile(opts.metrics, json);
    process.stdout.write(opts.json ? json : formatAeReport(report));
  } finally {
    await model.dispose();
  }
  return 0;
}
