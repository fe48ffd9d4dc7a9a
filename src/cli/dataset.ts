/**
 * `ecg-cds dataset beats --db <dir> --records DS1|DS2|all|list --peaks detected|reference --out <dir>`
 *
 * Exports beat-model training data computed by the shipped input code (src/inference/analysis/beat-input.ts),
 * so training sees exactly what inference will: NumPy arrays for the Python scripts under training/ plus a
 * JSON manifest. Files in `<out>`:
 *   windows.npy float32 n×256 · rr.npy float32 n×7 · labels.npy int8 (0..4 = N,S,V,F,Q)
 *   record.npy int32 (index into manifest.records) · sample.npy int32 (peak sample at the record's rate)
 *   lead.npy int8 (0 = the classified lead, 1.. = the record's other leads, with `--beat-leads all`)
 *   manifest.json (contract, per-record counts and detector agreement, SHA-256 of the source files)
 *
 * `--peaks detected` places beats where our QRS detector puts them (as inference will); each detection
 * matched to a reference beat within 150 ms (EC57) takes that beat's AAMI class; unmatched detections and
 * beats without an AAMI class are left out. `--peaks reference` uses the annotated beat positions.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AAMI_CLASSES, type AamiClass, aamiIndex, RECORD_SETS } from '../inference/analysis/aami.js';
import {
  BAND_HZ,
  BAND_ORDER,
  BEAT_INPUT_VERSION,
  beatInputs,
  MODEL_FS,
  RR_FEATURE_COUNT,
  RR_FEATURES,
  WINDOW_AFTER,
  WINDOW_BEFORE,
  WINDOW_LENGTH,
} from '../inference/analysis/beat-input.js';
import { primaryLeadFirst } from '../inference/analysis/leads.js';
import { detectQrs } from '../inference/dsp/qrs.js';
import { primaryLead } from '../inference/ecg.js';
import { MATCH_WINDOW_S, matchBeats, referenceBeats } from '../inference/eval/qrs-match.js';
import { encodeNpy, type NpyArray } from '../inference/io/npy.js';
import { readAnnotations, readWfdbRecord } from '../inference/io/record.js';
import { progressBar } from './progress.js';
import { resolveRecords } from './records.js';

export type PeakSource = 'detected' | 'reference';
/** Leads given to the QRS detector: the classified lead only, or every lead of the record (fused). */
export type QrsLeads = 'all' | 'primary';

export interface DatasetBeatsOptions {
  readonly db: string;
  /** DS1, DS2, all, or a comma-separated list of record names. */
  readonly records: string;
  readonly peaks: PeakSource;
  readonly out: string;
  /** Default 'all': the detector fuses every lead (primary first), as analyze() and `eval beats` run it. */
  readonly qrsLeads?: QrsLeads;
  /**
   * Leads whose windows are exported for each beat: 'primary' (default; the lead analyze() classifies) or
   * 'all' (every lead of the record, primary first, same beats and labels: second-lead training data and
   * per-lead voting experiments, issue #10).
   */
  readonly beatLeads?: QrsLeads;
  /**
   * 'reference' (default): labels from the record's `.atr`. 'none': no annotations are read; every
   * detection is exported with label −1 (unlabelled signal for self-supervised pretraining, issue #10).
   */
  readonly labels?: 'reference' | 'none';
}

export interface RecordSummary {
  readonly record: string;
  readonly lead: string;
  /** Leads exported, in lead.npy order (the classified lead first). */
  readonly leads: readonly string[];
  readonly fs: number;
  /** Reference beats (any beat label) and peaks used (detections or reference beats). */
  readonly referenceBeats: number;
  readonly peaks: number;
  /** Detections matched to a reference beat, unmatched detections, reference beats never matched. */
  readonly matched: number;
  readonly unmatchedPeaks: number;
  readonly missedReference: number;
  /** Exported beats per AAMI class. */
  readonly counts: Record<AamiClass, number>;
  /** Exported beats per MIT-BIH label (e.g. L and R, which fold assignment balances). */
  readonly symbols: Record<string, number>;
  readonly scaleMv: number;
  readonly sha256: Record<string, string>;
}

/** Export beats of the chosen records; returns the process exit code. */
export async function runDatasetBeats(opts: DatasetBeatsOptions): Promise<number> {
  if (opts.peaks !== 'detected' && opts.peaks !== 'reference') {
    throw new RangeError(`dataset beats: --peaks must be detected or reference, got ${String(opts.peaks)}`);
  }
  const qrsLeads = opts.qrsLeads ?? 'all';
  const beatLeads = opts.beatLeads ?? 'primary';
  const labelSource = opts.labels ?? 'reference';
  if (labelSource === 'none' && opts.peaks !== 'detected') {
    throw new RangeError('dataset beats: --labels none needs --peaks detected');
  }
  if (beatLeads !== 'primary' && beatLeads !== 'all') {
    throw new RangeError(`dataset beats: --beat-leads must be primary or all, got ${String(beatLeads)}`);
  }
  const names = await resolveRecords(opts.db, opts.records, RECORD_SETS);
  if (names.length === 0) throw new Error(`${opts.db}: no records selected by "${opts.records}"`);
  await mkdir(opts.out, { recursive: true });

  const parts: {
    windows: Float32Array;
    rr: Float32Array;
    labels: Int8Array;
    samples: Int32Array;
    leads: Int8Array;
  }[] = [];
  const summaries: RecordSummary[] = [];
  const bar = progressBar(names.length, 'dataset beats');
  try {
    for (const name of names) {
      const { part, summary } = await exportRecord(
        opts.db,
        name,
        opts.peaks,
        qrsLeads,
        beatLeads,
        labelSource,
      );
      parts.push(part);
      summaries.push(summary);
      bar.tick(name);
    }
  } finally {
    bar.stop();
  }

  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const windows = concat(
    Float32Array,
    parts.map((p) => p.windows),
  );
  const rr = concat(
    Float32Array,
    parts.map((p) => p.rr),
  );
  const labels = concat(
    Int8Array,
    parts.map((p) => p.labels),
  );
  const samples = concat(
    Int32Array,
    parts.map((p) => p.samples),
  );
  const leadIndex = concat(
    Int8Array,
    parts.map((p) => p.leads),
  );
  const recordIndex = new Int32Array(n);
  let o = 0;
  parts.forEach((p, i) => {
    recordIndex.fill(i, o, o + p.labels.length);
    o += p.labels.length;
  });
  const files: [string, NpyArray, number[]][] = [
    ['windows.npy', windows, [n, WINDOW_LENGTH]],
    ['rr.npy', rr, [n, RR_FEATURE_COUNT]],
    ['labels.npy', labels, [n]],
    ['record.npy', recordIndex, [n]],
    ['sample.npy', samples, [n]],
    ['lead.npy', leadIndex, [n]],
  ];
  for (const [file, data, shape] of files) await writeFile(join(opts.out, file), encodeNpy(data, shape));

  const totals = classCounts();
  for (const s of summaries) for (const c of AAMI_CLASSES) totals[c] += s.counts[c];
  const manifest = {
    kind: 'ecg-cds beat dataset',
    contract: {
      version: BEAT_INPUT_VERSION,
      modelFs: MODEL_FS,
      windowBefore: WINDOW_BEFORE,
      windowAfter: WINDOW_AFTER,
      windowLength: WINDOW_LENGTH,
      bandHz: BAND_HZ,
      bandOrder: BAND_ORDER,
      rrFeatures: RR_FEATURES,
    },
    classes: AAMI_CLASSES,
    db: opts.db,
    recordSpec: opts.records,
    peaks: opts.peaks,
    qrsLeads: opts.peaks === 'detected' ? qrsLeads : null,
    beatLeads,
    labels: labelSource,
    matchWindowS: MATCH_WINDOW_S,
    beats: n,
    totals,
    records: summaries,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(opts.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(
    `dataset beats: ${n} beats from ${names.length} records → ${opts.out} (${AAMI_CLASSES.map((c) => `${c} ${totals[c]}`).join(', ')})\n`,
  );
  return 0;
}

async function exportRecord(
  db: string,
  name: string,
  peaks: PeakSource,
  qrsLeads: QrsLeads,
  beatLeads: QrsLeads,
  labelSource: 'reference' | 'none',
) {
  const path = join(db, name);
  const [{ ecg, header }, anns] = await Promise.all([
    readWfdbRecord(path),
    labelSource === 'none' ? Promise.resolve([]) : readAnnotations(path, 'atr'),
  ]);
  const lead = primaryLead(ecg);
  const refs = referenceBeats(anns);
  const refSamples = Int32Array.from(refs, (a) => a.sample);

  let beatPeaks: Int32Array;
  let refOf: Int32Array; // for each peak: index into refs, or -1
  if (peaks === 'reference') {
    beatPeaks = strictlyIncreasing(refSamples);
    refOf = new Int32Array(beatPeaks.length);
    let r = 0;
    beatPeaks.forEach((s, i) => {
      while (refSamples[r]! !== s) r++;
      refOf[i] = r;
    });
  } else {
    // as analyze() and eval beats do: every lead, primary first (detectQrs places R on its first lead)
    const leads = qrsLeads === 'all' ? primaryLeadFirst(ecg).leads : [lead.samples];
    beatPeaks = detectQrs(leads, ecg.fs);
    refOf =
      labelSource === 'none'
        ? new Int32Array(beatPeaks.length).fill(-2)
        : matchBeats(refSamples, beatPeaks, ecg.fs).detToRef;
  }
  const exportLeads = beatLeads === 'all' ? primaryLeadFirst(ecg).ordered : [lead];
  const perLead = exportLeads.map((l) => beatInputs(l.samples, ecg.fs, beatPeaks));
  const inputs = perLead[0]!;

  const keep: number[] = [];
  const labelOf: number[] = [];
  const symbols: Record<string, number> = {};
  let matched = 0;
  for (let i = 0; i < beatPeaks.length; i++) {
    const r = refOf[i]!;
    if (r === -2) {
      keep.push(i);
      labelOf.push(-1);
      continue;
    }
    if (r < 0) continue;
    matched++;
    const label = aamiIndex(refs[r]!.symbol);
    if (label < 0) continue;
    keep.push(i);
    labelOf.push(label);
    symbols[refs[r]!.symbol] = (symbols[refs[r]!.symbol] ?? 0) + 1;
  }
  const F = RR_FEATURE_COUNT;
  const L = perLead.length;
  const m = keep.length;
  const windows = new Float32Array(L * m * WINDOW_LENGTH);
  const rr = new Float32Array(L * m * F);
  const samples = new Int32Array(L * m);
  const leads = new Int8Array(L * m);
  perLead.forEach((li, j) => {
    keep.forEach((i, k) => {
      const o = j * m + k;
      windows.set(li.windows.subarray(i * WINDOW_LENGTH, (i + 1) * WINDOW_LENGTH), o * WINDOW_LENGTH);
      rr.set(li.rr.subarray(i * F, (i + 1) * F), o * F);
      samples[o] = beatPeaks[i]!;
      leads[o] = j;
    });
  });
  const labels = Int8Array.from({ length: L * m }, (_, o) => labelOf[o % m]!);
  const counts = classCounts();
  for (const l of labelOf) if (l >= 0) counts[AAMI_CLASSES[l]!] += 1;

  const sha256: Record<string, string> = {};
  const dataFiles = [...new Set(header.signals.map((s) => s.fileName))];
  for (const file of [`${name}.hea`, ...dataFiles, ...(labelSource === 'none' ? [] : [`${name}.atr`])]) {
    sha256[file] = createHash('sha256')
      .update(await readFile(join(db, file)))
      .digest('hex');
  }
  const summary: RecordSummary = {
    record: name,
    lead: lead.name,
    leads: exportLeads.map((l) => l.name),
    fs: ecg.fs,
    referenceBeats: refs.length,
    peaks: beatPeaks.length,
    matched,
    unmatchedPeaks: beatPeaks.length - matched,
    missedReference: refs.length - matched,
    counts,
    symbols,
    scaleMv: inputs.scaleMv,
    sha256,
  };
  return { part: { windows, rr, labels, samples, leads }, summary };
}

function classCounts(): Record<AamiClass, number> {
  return { N: 0, S: 0, V: 0, F: 0, Q: 0 };
}

/** Drop repeated sample positions (two annotations at one sample), keeping the first. */
function strictlyIncreasing(x: Int32Array): Int32Array {
  const out: number[] = [];
  for (const v of x) if (out.length === 0 || v > out[out.length - 1]!) out.push(v);
  return Int32Array.from(out);
}

function concat<T extends Float32Array | Int8Array | Int32Array>(
  ctor: { new (n: number): T },
  parts: readonly T[],
): T {
  const out = new ctor(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p as never, o);
    o += p.length;
  }
  return out;
}
