/**
 * `ecg-cds dataset rhythm --db <dir> [--records all|DS1|DS2|list] [--stride <s>] --out <dir>`
 *
 * Exports rhythm-model training data computed by the shipped input code (src/inference/analysis/rhythm-input.ts),
 * so training sees exactly what inference will: NumPy arrays for training/rhythm/ plus a JSON manifest.
 * Files in `<out>`:
 *   signal.npy float32 n×3000 · features.npy float32 n×F · labels.npy int8 (0..3 = N,A,O,~)
 *   record.npy int32 (index into manifest.records) · start.npy int32 (window start at 300 Hz)
 *   valid.npy int32 (real samples in the window; the rest is zero padding) · manifest.json
 *
 * Two kinds of database, told apart by their files:
 *  - CinC 2017 style (`REFERENCE-v3.csv`, else `REFERENCE.csv`, beside the records): one label per
 *    recording; every 10-s window with the given stride (default 5 s, last window aligned to the end) takes
 *    the recording's label. `all` means every record of the reference file.
 *  - WFDB with rhythm annotations (MIT-BIH `.atr`): lead MLII (else II, else the first); the `+` annotations
 *    split the record into rhythm episodes, aux `(N` → N, `(AFIB` and `(AFL` → A, every other rhythm → O.
 *    The `~` annotations split it further by the quality of that lead (subtype bit c = signal c noisy,
 *    bit 4 + c = unreadable, −1 = all unreadable; WFDB annot(5) and MIT-BIH directory). Non-overlapping
 *    10-s windows are tiled from the start of each piece: clean pieces give windows of their rhythm,
 *    unreadable pieces give `~` windows, noisy-but-readable pieces are dropped (their rhythm label is
 *    trustworthy but their noise level is neither clean nor "too noisy to classify", so either label
 *    would teach the model something wrong). Stretches before the first `+` have no rhythm and are skipped.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORD_SETS } from '../inference/analysis/aami.js';
import {
  BAND_HZ,
  BAND_ORDER,
  CLIP,
  MIN_RECORD_S,
  QUALITY_SEGMENT_S,
  RHYTHM_CLASSES,
  RHYTHM_FEATURE_COUNT,
  RHYTHM_FEATURES,
  RHYTHM_FS,
  RHYTHM_INPUT_VERSION,
  type RhythmClass,
  rhythmInputs,
  STRIDE_S,
  WINDOW_LENGTH,
  WINDOW_S,
  windowStarts,
} from '../inference/analysis/rhythm-input.js';
import { resampledLength, resampleIndex } from '../inference/dsp/resample.js';
import { primaryLead, primaryLeadIndex } from '../inference/ecg.js';
import { RecordReadError } from '../inference/io/errors.js';
import { encodeNpy, type NpyArray } from '../inference/io/npy.js';
import { readAnnotations, readWfdbRecord } from '../inference/io/record.js';
import type { Annotation } from '../inference/io/wfdb-annotation.js';
import { progressBar } from './progress.js';
import { resolveRecords } from './records.js';

export interface DatasetRhythmOptions {
  readonly db: string;
  /** `all` (default), DS1, DS2, or a comma-separated list of record names. */
  readonly records?: string;
  readonly out: string;
  /** Seconds between window starts for recording-labelled (CinC) databases; default {@link STRIDE_S}. */
  readonly strideS?: number;
}

/** Reference label files of CinC 2017, newest first. */
const REFERENCE_FILES = ['REFERENCE-v3.csv', 'REFERENCE.csv'];

/** Rhythm class of an MIT-BIH rhythm aux string such as "(AFIB" (NUL padding ignored). */
export function rhythmClassOfAux(aux: string): RhythmClass {
  const r = aux.replace(/\0/g, '').trim();
  if (r === '(N') return 'N';
  if (r === '(AFIB' || r === '(AFL') return 'A';
  return 'O';
}

export interface LabelledWindow {
  /** Window start at {@link RHYTHM_FS}. */
  readonly start: number;
  readonly label: RhythmClass;
  /** The rhythm aux string in force, e.g. "(AFIB". */
  readonly rhythm: string;
}

/**
 * Non-overlapping 10-s windows of an annotated WFDB record (see the file comment for the rules), with
 * positions at {@link RHYTHM_FS}. `n` and `fs` are the record's length and rate, `lead` the signal index
 * whose `~` quality bits apply.
 */
export function annotatedWindows(
  anns: readonly Annotation[],
  n: number,
  fs: number,
  lead: number,
): { windows: LabelledWindow[]; droppedNoisy: number } {
  // Change points of rhythm and of the lead's quality, in record order.
  type State = { rhythm: string | undefined; quality: 'clean' | 'noisy' | 'unreadable' };
  const changes: { at: number; state: State }[] = [];
  let state: State = { rhythm: undefined, quality: 'clean' };
  for (const a of anns) {
    if (a.symbol === '+' && a.aux.replace(/\0/g, '').startsWith('(')) {
      state = { ...state, rhythm: a.aux.replace(/\0/g, '').trim() };
    } else if (a.symbol === '~') {
      const bits = a.subtype & 0xff; // subtype −1 (all bits) = every signal unreadable
      const quality = bits & (0x10 << lead) ? 'unreadable' : bits & (1 << lead) ? 'noisy' : 'clean';
      state = { ...state, quality };
    } else continue;
    changes.push({ at: Math.max(0, Math.min(n, a.sample)), state });
  }
  const to300 = (i: number) => resampleIndex(i, fs, RHYTHM_FS);
  const windows: LabelledWindow[] = [];
  let droppedNoisy = 0;
  for (let k = 0; k < changes.length; k++) {
    const { at, state: s } = changes[k]!;
    const end = k + 1 < changes.length ? changes[k + 1]!.at : n;
    if (s.rhythm === undefined || end <= at) continue;
    const from = Math.ceil(to300(at) - 1e-9);
    const to = Math.floor(to300(end) + 1e-9);
    for (let w = from; w + WINDOW_LENGTH <= to; w += WINDOW_LENGTH) {
      if (s.quality === 'noisy') droppedNoisy++;
      else
        windows.push({
          start: w,
          label: s.quality === 'unreadable' ? '~' : rhythmClassOfAux(s.rhythm),
          rhythm: s.rhythm,
        });
    }
  }
  return { windows, droppedNoisy };
}

export interface RhythmRecordSummary {
  readonly record: string;
  readonly lead: string;
  readonly fs: number;
  readonly durationS: number;
  /** The recording's label (CinC), or null for annotated records. */
  readonly label: RhythmClass | null;
  readonly windows: number;
  readonly counts: Record<RhythmClass, number>;
  /** Annotated records: windows left out because the lead was noisy but readable. */
  readonly droppedNoisy?: number;
  /** Annotated records: windows per rhythm aux string. */
  readonly rhythms?: Record<string, number>;
  readonly sha256: Record<string, string>;
}

interface Part {
  signal: Float32Array;
  features: Float32Array;
  labels: Int8Array;
  starts: Int32Array;
  valid: Int32Array;
}

/** Export rhythm windows of the chosen records; returns the process exit code. */
export async function runDatasetRhythm(opts: DatasetRhythmOptions): Promise<number> {
  const strideS = opts.strideS ?? STRIDE_S;
  if (!(strideS > 0 && strideS <= WINDOW_S)) {
    throw new RangeError(`dataset rhythm: --stride must be in (0, ${WINDOW_S}] s, got ${strideS}`);
  }
  const spec = opts.records ?? 'all';
  const reference = await readReference(opts.db);
  const names =
    reference && spec === 'all'
      ? [...reference.labels.keys()]
      : await resolveRecords(opts.db, spec, RECORD_SETS);
  if (names.length === 0) throw new Error(`${opts.db}: no records selected by "${spec}"`);
  await mkdir(opts.out, { recursive: true });

  const parts: Part[] = [];
  const summaries: RhythmRecordSummary[] = [];
  const skipped: { record: string; reason: string }[] = [];
  const bar = progressBar(names.length, 'dataset rhythm');
  try {
    for (const name of names) {
      try {
        const { part, summary } = reference
          ? await exportLabelledRecord(opts.db, name, reference, strideS)
          : await exportAnnotatedRecord(opts.db, name);
        if (part.labels.length > 0) {
          parts.push(part);
          summaries.push(summary);
        } else skipped.push({ record: name, reason: 'no window' });
      } catch (err) {
        // A record below the minimum length is skipped and listed; read errors stop the export.
        if (!(err instanceof RangeError)) throw err;
        skipped.push({ record: name, reason: err.message });
      }
      bar.tick(name);
    }
  } finally {
    bar.stop();
  }

  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const recordIndex = new Int32Array(n);
  let o = 0;
  parts.forEach((p, i) => {
    recordIndex.fill(i, o, o + p.labels.length);
    o += p.labels.length;
  });
  const files: [string, NpyArray, number[]][] = [
    [
      'signal.npy',
      concat(
        Float32Array,
        parts.map((p) => p.signal),
      ),
      [n, WINDOW_LENGTH],
    ],
    [
      'features.npy',
      concat(
        Float32Array,
        parts.map((p) => p.features),
      ),
      [n, RHYTHM_FEATURE_COUNT],
    ],
    [
      'labels.npy',
      concat(
        Int8Array,
        parts.map((p) => p.labels),
      ),
      [n],
    ],
    ['record.npy', recordIndex, [n]],
    [
      'start.npy',
      concat(
        Int32Array,
        parts.map((p) => p.starts),
      ),
      [n],
    ],
    [
      'valid.npy',
      concat(
        Int32Array,
        parts.map((p) => p.valid),
      ),
      [n],
    ],
  ];
  for (const [file, data, shape] of files) await writeFile(join(opts.out, file), encodeNpy(data, shape));

  const totals = classCounts();
  for (const s of summaries) for (const c of RHYTHM_CLASSES) totals[c] += s.counts[c];
  const manifest = {
    kind: 'ecg-cds rhythm dataset',
    contract: {
      version: RHYTHM_INPUT_VERSION,
      fs: RHYTHM_FS,
      windowS: WINDOW_S,
      windowLength: WINDOW_LENGTH,
      minRecordS: MIN_RECORD_S,
      bandHz: BAND_HZ,
      bandOrder: BAND_ORDER,
      clip: CLIP,
      qualitySegmentS: QUALITY_SEGMENT_S,
      features: RHYTHM_FEATURES,
    },
    classes: RHYTHM_CLASSES,
    db: opts.db,
    recordSpec: spec,
    labelling: reference
      ? { kind: 'recording', file: reference.file, strideS }
      : {
          kind: 'rhythm-annotations',
          map: { '(N': 'N', '(AFIB': 'A', '(AFL': 'A', other: 'O' },
          noise: 'unreadable lead → ~, noisy lead → dropped',
          strideS: WINDOW_S,
        },
    windows: n,
    totals,
    records: summaries,
    skipped,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(opts.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(
    `dataset rhythm: ${n} windows from ${summaries.length} records → ${opts.out} (${RHYTHM_CLASSES.map((c) => `${c} ${totals[c]}`).join(', ')}; ${skipped.length} skipped)\n`,
  );
  return 0;
}

interface Reference {
  readonly file: string;
  readonly labels: Map<string, RhythmClass>;
}

/** The CinC reference file of `db`, or undefined when there is none (an annotated WFDB database). */
async function readReference(db: string): Promise<Reference | undefined> {
  for (const file of REFERENCE_FILES) {
    const path = join(db, file);
    try {
      await access(path);
    } catch {
      continue;
    }
    const labels = new Map<string, RhythmClass>();
    for (const line of (await readFile(path, 'latin1')).split(/\r?\n/)) {
      const [name, label] = line.split(',').map((s) => s.trim());
      if (!name) continue;
      if (!(RHYTHM_CLASSES as readonly string[]).includes(label ?? '')) {
        throw new RecordReadError(path, `unknown label "${label}" for record ${name}`);
      }
      labels.set(name, label as RhythmClass);
    }
    return { file, labels };
  }
  return undefined;
}

async function exportLabelledRecord(db: string, name: string, reference: Reference, strideS: number) {
  const label = reference.labels.get(name);
  if (!label) throw new RecordReadError(join(db, reference.file), `no label for record ${name}`);
  const path = join(db, name);
  const { ecg, header } = await readWfdbRecord(path);
  const lead = primaryLead(ecg);
  const n300 = resampledLength(lead.samples.length, ecg.fs, RHYTHM_FS);
  const starts = windowStarts(n300, strideS);
  const inputs = rhythmInputs(lead.samples, ecg.fs, {
    starts,
    ...(lead.invalid ? { invalid: lead.invalid } : {}),
  });
  const labels = new Int8Array(inputs.count).fill(RHYTHM_CLASSES.indexOf(label));
  const counts = classCounts();
  counts[label] = inputs.count;
  const files = [`${name}.hea`, ...new Set(header.signals.map((s) => s.fileName))];
  const summary: RhythmRecordSummary = {
    record: name,
    lead: lead.name,
    fs: ecg.fs,
    durationS: lead.samples.length / ecg.fs,
    label,
    windows: inputs.count,
    counts,
    sha256: await hashFiles(db, files),
  };
  return { part: partOf(inputs, labels), summary };
}

async function exportAnnotatedRecord(db: string, name: string) {
  const path = join(db, name);
  const [{ ecg, header }, anns] = await Promise.all([readWfdbRecord(path), readAnnotations(path, 'atr')]);
  const lead = primaryLead(ecg);
  const n = lead.samples.length;
  const { windows, droppedNoisy } = annotatedWindows(anns, n, ecg.fs, primaryLeadIndex(ecg));
  const starts = Int32Array.from(windows, (w) => w.start);
  const inputs =
    windows.length > 0
      ? rhythmInputs(lead.samples, ecg.fs, { starts, ...(lead.invalid ? { invalid: lead.invalid } : {}) })
      : undefined;
  const labels = Int8Array.from(windows, (w) => RHYTHM_CLASSES.indexOf(w.label));
  const counts = classCounts();
  const rhythms: Record<string, number> = {};
  for (const w of windows) {
    counts[w.label] += 1;
    rhythms[w.rhythm] = (rhythms[w.rhythm] ?? 0) + 1;
  }
  const files = [`${name}.hea`, ...new Set(header.signals.map((s) => s.fileName)), `${name}.atr`];
  const summary: RhythmRecordSummary = {
    record: name,
    lead: lead.name,
    fs: ecg.fs,
    durationS: n / ecg.fs,
    label: null,
    windows: windows.length,
    counts,
    droppedNoisy,
    rhythms,
    sha256: await hashFiles(db, files),
  };
  const part: Part = inputs
    ? partOf(inputs, labels)
    : {
        signal: new Float32Array(0),
        features: new Float32Array(0),
        labels,
        starts: new Int32Array(0),
        valid: new Int32Array(0),
      };
  return { part, summary };
}

function partOf(inputs: ReturnType<typeof rhythmInputs>, labels: Int8Array): Part {
  return {
    signal: inputs.signal,
    features: inputs.features,
    labels,
    starts: inputs.starts,
    valid: inputs.valid,
  };
}

async function hashFiles(db: string, files: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of files) {
    out[file] = createHash('sha256')
      .update(await readFile(join(db, file)))
      .digest('hex');
  }
  return out;
}

function classCounts(): Record<RhythmClass, number> {
  return { N: 0, A: 0, O: 0, '~': 0 };
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
