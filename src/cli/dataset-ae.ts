/**
 * `ecg-cds dataset ae --db <wfdb-dir> --records <DS1|DS2|all|list> --out <dir> [--stride <samples>]
 *  [--scale record-r|segment-p98] [--add-noise <noise-record> --snr <dB>]`
 *
 * Exports quality-autoencoder data computed by the shipped input code (src/inference/analysis/ae-input.ts),
 * so training sees exactly what the gate will: NumPy arrays for training/autoencoder/ plus a JSON manifest.
 * Files in `<out>`:
 *   segments.npy float32 n×256 · record.npy int32 (index into manifest.records) · start.npy int32 (first
 *   sample at 125 Hz) · noisy_annotated.npy float32 · noisy_added.npy float32 · manifest.json
 *
 * Every segment of lead MLII (else II, else the first) is written, with two labels in [0, 1]:
 *  - noisy_annotated: the fraction of the segment where the reference annotations call this lead noisy or
 *    unreadable (`~` annotations: subtype bit c = signal c noisy, bit 4 + c = unreadable, −1 = every signal
 *    unreadable; WFDB annot(5) and the MIT-BIH directory), or where samples are invalid;
 *  - noisy_added: the fraction inside stretches where noise was added by the MIT-BIH Noise Stress Test
 *    protocol (records whose header says "Created by `nst'", or `--add-noise`).
 * Training keeps segments with both labels 0 ("clean"), so the `~` stretches of DS1 never teach the
 * autoencoder that noise is normal.
 *
 * The noise stress test protocol (Moody, Muldrow & Mark, Computers in Cardiology 11:381-384, 1984; WFDB
 * `nst`): five noise-free minutes, then noise in alternating two-minute stretches to the end of the record:
 * noisy [5, 7), [9, 11), … minutes. Verified on the nstdb copy here: 118e00/e12/e24 minus mitdb/118 is zero
 * outside these stretches and nonzero inside each of them.
 *
 * `--add-noise <record> --snr <dB>` adds the first channel of a noise record (e.g. nstdb `ma`, muscle
 * artefact) to the lead, in mV, in the same stretches, before the input contract runs: a model-selection
 * aid inside DS1 that never touches the electrode-motion records used for the report. SNR here is
 * 10·log10(S / N) with S = (median QRS peak-to-peak amplitude)² / 8 (the power of a sine of that
 * peak-to-peak) and N the median over 1-s chunks of the noise variance. nst's own calibration differs:
 * on 118e00 (nominal 0 dB) this definition reads about −6 dB.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORD_SETS } from '../inference/analysis/aami.js';
import {
  AE_FS,
  AE_INPUT_VERSION,
  AE_SCALE,
  type AeScale,
  aeInputs,
  BAND_HZ,
  BAND_ORDER,
  CLIP,
  SEGMENT_LENGTH,
} from '../inference/analysis/ae-input.js';
import { primaryLead, primaryLeadIndex } from '../inference/ecg.js';
import { encodeNpy, type NpyArray } from '../inference/io/npy.js';
import { readAnnotations, readWfdbRecord } from '../inference/io/record.js';
import type { Annotation } from '../inference/io/wfdb-annotation.js';
import { BEAT_SYMBOLS } from '../inference/io/wfdb-annotation.js';
import { progressBar } from './progress.js';
import { resolveRecords } from './records.js';

/** A half-open sample interval [from, to). */
export interface Stretch {
  readonly from: number;
  readonly to: number;
}

/** Noise stress test protocol: noise-free learning period, then alternating noisy / clean stretches (s). */
export const NST_LEARNING_S = 300;
export const NST_STRETCH_S = 120;

/** Noisy stretches of the nst protocol for a record of `n` samples at `fs` Hz. */
export function nstNoisyStretches(n: number, fs: number): Stretch[] {
  const out: Stretch[] = [];
  for (let t = NST_LEARNING_S; t * fs < n; t += 2 * NST_STRETCH_S) {
    out.push({ from: Math.round(t * fs), to: Math.min(n, Math.round((t + NST_STRETCH_S) * fs)) });
  }
  return out;
}

/** True when a WFDB header's comments say the record was made by `nst` (nstdb 118e*, 119e*). */
export function isNstRecord(comments: readonly string[]): boolean {
  return comments.some((c) => c.includes('Created by `nst'));
}

/**
 * Stretches where the reference annotations call signal `lead` noisy or unreadable: each `~` annotation
 * sets the quality of every signal from its sample on (subtype bit c noisy, bit 4 + c unreadable).
 */
export function annotatedNoiseStretches(anns: readonly Annotation[], n: number, lead: number): Stretch[] {
  const out: Stretch[] = [];
  let openAt = -1;
  for (const a of anns) {
    if (a.symbol !== '~') continue;
    const bits = a.subtype & 0xff; // subtype −1 (all bits set) = every signal unreadable
    const bad = (bits & (1 << lead)) !== 0 || (bits & (0x10 << lead)) !== 0;
    const at = Math.max(0, Math.min(n, a.sample));
    if (bad && openAt < 0) openAt = at;
    else if (!bad && openAt >= 0) {
      if (at > openAt) out.push({ from: openAt, to: at });
      openAt = -1;
    }
  }
  if (openAt >= 0 && n > openAt) out.push({ from: openAt, to: n });
  return out;
}

/** Fraction of [from, to) covered by sorted, disjoint `stretches`. */
export function overlapFraction(stretches: readonly Stretch[], from: number, to: number): number {
  if (to <= from) return 0;
  let covered = 0;
  for (const s of stretches) {
    if (s.from >= to) break;
    covered += Math.max(0, Math.min(to, s.to) - Math.max(from, s.from));
  }
  return covered / (to - from);
}

/** Runs of invalid samples as stretches. */
function invalidStretches(invalid: Uint8Array | undefined): Stretch[] {
  const out: Stretch[] = [];
  if (!invalid) return out;
  let from = -1;
  for (let i = 0; i <= invalid.length; i++) {
    const bad = i < invalid.length && invalid[i] === 1;
    if (bad && from < 0) from = i;
    else if (!bad && from >= 0) {
      out.push({ from, to: i });
      from = -1;
    }
  }
  return out;
}

/** Sorted union of two sorted stretch lists. */
function union(a: readonly Stretch[], b: readonly Stretch[]): Stretch[] {
  const all = [...a, ...b].sort((x, y) => x.from - y.from);
  const out: Stretch[] = [];
  for (const s of all) {
    const last = out[out.length - 1];
    if (last && s.from <= last.to) out[out.length - 1] = { from: last.from, to: Math.max(last.to, s.to) };
    else out.push(s);
  }
  return out;
}

export interface AddedNoise {
  /** Path of a WFDB noise record (without extension), e.g. ../shared/data/nstdb/ma. */
  readonly record: string;
  readonly snrDb: number;
}

export interface DatasetAeOptions {
  readonly db: string;
  /** DS1, DS2, all, or a comma-separated list of record names. */
  readonly records: string;
  readonly out: string;
  /** Samples at 125 Hz between segment starts (default 256: consecutive, as the gate sees them). */
  readonly stride?: number;
  /** Normalisation (default the contract's); model-selection experiments only. */
  readonly scale?: AeScale;
  readonly addNoise?: AddedNoise;
}

export interface AeRecordSummary {
  readonly record: string;
  readonly lead: string;
  readonly fs: number;
  readonly segments: number;
  /** Segments with no annotated and no added noise. */
  readonly clean: number;
  readonly annotatedNoisy: number;
  readonly addedNoisy: number;
  /** The record scale (mV) for 'record-r', the median segment scale otherwise. */
  readonly scaleMv: number;
  /** Gain applied to the noise record, and the resulting SNR, with --add-noise. */
  readonly noiseGain?: number;
  readonly sha256: Record<string, string>;
}

interface Part {
  segments: Float32Array;
  starts: Int32Array;
  annotated: Float32Array;
  added: Float32Array;
}

/** Export autoencoder segments of the chosen records; returns the process exit code. */
export async function runDatasetAe(opts: DatasetAeOptions): Promise<number> {
  const stride = opts.stride ?? SEGMENT_LENGTH;
  const scale = opts.scale ?? AE_SCALE;
  const names = await resolveRecords(opts.db, opts.records, RECORD_SETS);
  if (names.length === 0) throw new Error(`${opts.db}: no records selected by "${opts.records}"`);
  const noise = opts.addNoise ? await readNoise(opts.addNoise.record) : undefined;
  await mkdir(opts.out, { recursive: true });

  const parts: Part[] = [];
  const summaries: AeRecordSummary[] = [];
  const bar = progressBar(names.length, 'dataset ae');
  try {
    for (const name of names) {
      const { part, summary } = await exportRecord(opts.db, name, stride, scale, noise, opts.addNoise?.snrDb);
      parts.push(part);
      summaries.push(summary);
      bar.tick(name);
    }
  } finally {
    bar.stop();
  }

  const n = parts.reduce((s, p) => s + p.starts.length, 0);
  const recordIndex = new Int32Array(n);
  let o = 0;
  parts.forEach((p, i) => {
    recordIndex.fill(i, o, o + p.starts.length);
    o += p.starts.length;
  });
  const files: [string, NpyArray, number[]][] = [
    [
      'segments.npy',
      concat(
        Float32Array,
        parts.map((p) => p.segments),
      ),
      [n, SEGMENT_LENGTH],
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
      'noisy_annotated.npy',
      concat(
        Float32Array,
        parts.map((p) => p.annotated),
      ),
      [n],
    ],
    [
      'noisy_added.npy',
      concat(
        Float32Array,
        parts.map((p) => p.added),
      ),
      [n],
    ],
  ];
  for (const [file, data, shape] of files) await writeFile(join(opts.out, file), encodeNpy(data, shape));

  const clean = summaries.reduce((s, r) => s + r.clean, 0);
  const manifest = {
    kind: 'ecg-cds autoencoder dataset',
    contract: {
      name: 'ae-input',
      version: AE_INPUT_VERSION,
      fs: AE_FS,
      segmentLength: SEGMENT_LENGTH,
      bandHz: BAND_HZ,
      bandOrder: BAND_ORDER,
      clip: CLIP,
      scale,
    },
    db: opts.db,
    recordSpec: opts.records,
    stride,
    nstProtocol: { learningS: NST_LEARNING_S, stretchS: NST_STRETCH_S },
    addedNoise: opts.addNoise ?? null,
    segments: n,
    clean,
    records: summaries,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(opts.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(
    `dataset ae: ${n} segments (${clean} clean) from ${names.length} records → ${opts.out}\n`,
  );
  return 0;
}

interface Noise {
  readonly samples: Float32Array;
  readonly fs: number;
}

async function readNoise(record: string): Promise<Noise> {
  const { ecg } = await readWfdbRecord(record);
  const lead = ecg.leads[0];
  if (!lead) throw new RangeError(`${record}: noise record has no signals`);
  return { samples: lead.samples, fs: ecg.fs };
}

async function exportRecord(
  db: string,
  name: string,
  stride: number,
  scale: AeScale,
  noise: Noise | undefined,
  snrDb: number | undefined,
) {
  const path = join(db, name);
  const hasAtr = await exists(`${path}.atr`);
  const [{ ecg, header }, anns] = await Promise.all([
    readWfdbRecord(path),
    hasAtr ? readAnnotations(path, 'atr') : Promise.resolve([] as Annotation[]),
  ]);
  const lead = primaryLead(ecg);
  const n = lead.samples.length;
  let samples = lead.samples;
  let noiseGain: number | undefined;
  const nst = isNstRecord(header.comments);
  const addedStretches = noise || nst ? nstNoisyStretches(n, ecg.fs) : [];
  if (noise && snrDb !== undefined) {
    noiseGain = noiseGainFor(lead.samples, ecg.fs, anns, noise, snrDb);
    samples = addNoise(lead.samples, ecg.fs, noise, noiseGain, addedStretches);
  }
  const inputs = aeInputs(samples, ecg.fs, { stride, scale });
  const annotatedStretches = union(
    annotatedNoiseStretches(anns, n, primaryLeadIndex(ecg)),
    invalidStretches(lead.invalid),
  );
  const count = inputs.count;
  const annotated = new Float32Array(count);
  const added = new Float32Array(count);
  // Stretches are in input samples; segment bounds are mapped from 125 Hz by the rate ratio.
  const ratio = ecg.fs / AE_FS;
  let clean = 0;
  let annotatedNoisy = 0;
  let addedNoisy = 0;
  for (let k = 0; k < count; k++) {
    const from = Math.round(inputs.starts[k]! * ratio);
    const to = Math.min(n, Math.round((inputs.starts[k]! + SEGMENT_LENGTH) * ratio));
    annotated[k] = overlapFraction(annotatedStretches, from, to);
    added[k] = overlapFraction(addedStretches, from, to);
    if (annotated[k]! > 0) annotatedNoisy++;
    if (added[k]! > 0) addedNoisy++;
    if (annotated[k] === 0 && added[k] === 0) clean++;
  }
  const files = [
    `${name}.hea`,
    ...new Set(header.signals.map((s) => s.fileName)),
    ...(hasAtr ? [`${name}.atr`] : []),
  ];
  const summary: AeRecordSummary = {
    record: name,
    lead: lead.name,
    fs: ecg.fs,
    segments: count,
    clean,
    annotatedNoisy,
    addedNoisy,
    scaleMv: median(inputs.scales),
    ...(noiseGain !== undefined ? { noiseGain } : {}),
    sha256: await hashFiles(db, files),
  };
  return { part: { segments: inputs.segments, starts: inputs.starts, annotated, added }, summary };
}

/** Gain for the noise so that 10·log10(S / N) = snrDb (definitions in the file comment). */
function noiseGainFor(
  x: Float32Array,
  fs: number,
  anns: readonly Annotation[],
  noise: Noise,
  snrDb: number,
): number {
  const half = Math.round(0.05 * fs);
  const pp: number[] = [];
  for (const a of anns) {
    if (!BEAT_SYMBOLS.has(a.symbol)) continue;
    const from = Math.max(0, a.sample - half);
    const to = Math.min(x.length, a.sample + half + 1);
    let lo = Infinity;
    let hi = -Infinity;
    for (let t = from; t < to; t++) {
      lo = Math.min(lo, x[t]!);
      hi = Math.max(hi, x[t]!);
    }
    if (hi > lo) pp.push(hi - lo);
  }
  if (pp.length === 0)
    throw new RangeError('--add-noise needs reference beats to measure the signal amplitude');
  const s = median(Float32Array.from(pp)) ** 2 / 8;
  const chunk = Math.round(noise.fs);
  const vars: number[] = [];
  for (let c = 0; c + chunk <= noise.samples.length; c += chunk) {
    let m = 0;
    for (let t = c; t < c + chunk; t++) m += noise.samples[t]!;
    m /= chunk;
    let v = 0;
    for (let t = c; t < c + chunk; t++) v += (noise.samples[t]! - m) ** 2;
    vars.push(v / chunk);
  }
  const nPow = median(Float32Array.from(vars));
  return Math.sqrt(s / (nPow * 10 ** (snrDb / 10)));
}

/**
 * x plus gain × noise inside `stretches`, the noise read from its start and rewound when it runs out (as
 * nst does); each stretch's noise has its own mean removed so no step appears at its edges.
 */
function addNoise(x: Float32Array, fs: number, noise: Noise, gain: number, stretches: readonly Stretch[]) {
  if (Math.abs(noise.fs - fs) > 1e-6)
    throw new RangeError(`noise record is at ${noise.fs} Hz, the ECG at ${fs} Hz`);
  const y = Float32Array.from(x);
  const len = noise.samples.length;
  let p = 0;
  for (const s of stretches) {
    let m = 0;
    for (let i = s.from, q = p; i < s.to; i++, q = (q + 1) % len) m += noise.samples[q]!;
    m /= Math.max(1, s.to - s.from);
    for (let i = s.from; i < s.to; i++, p = (p + 1) % len) y[i] = x[i]! + gain * (noise.samples[p]! - m);
  }
  return y;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
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

function median(x: Float32Array): number {
  if (x.length === 0) return 0;
  const a = Float32Array.from(x).sort();
  const n = a.length;
  return n % 2 === 1 ? a[(n - 1) / 2]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
}

function concat<T extends Float32Array | Int32Array>(ctor: { new (n: number): T }, parts: readonly T[]): T {
  const out = new ctor(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p as never, o);
    o += p.length;
  }
  return out;
}
