/**
 * The beat model's input contract: what one beat looks like to the network.
 *
 * Training data are exported by this very function (`ecg-cds dataset beats`, src/cli/dataset.ts), so the
 * shipped pipeline and the trained model see the same numbers by construction. Changing anything here
 * (rate, window, filter, normalisation, feature order) changes the contract: retrain and re-export
 * models/beat-cnn.onnx, whose manifest records the contract version below.
 *
 * Per beat the model gets
 *  - `window`: 256 samples of one lead at 360 Hz, from R − 90 (250 ms) to R + 166 (461 ms), band-passed
 *    0.5–40 Hz with zero phase and divided by the record's median R amplitude;
 *  - `rr`: the seven RR-interval features of {@link RR_FEATURES}, in seconds or as ratios.
 */
import { butterBandpass, sosfiltfilt } from '../dsp/iir.js';
import { resample, resampleIndex } from '../dsp/resample.js';
import { selectKth } from '../dsp/select.js';

/** Version of this contract; bump on any change that alters the numbers a model sees. */
export const BEAT_INPUT_VERSION = 1;

/** Sampling rate the beat model works at (MIT-BIH's native rate, so its training data are not resampled). */
export const MODEL_FS = 360;
/** Samples before the R peak in a window (250 ms: covers the P wave at ordinary PR intervals). */
export const WINDOW_BEFORE = 90;
/** Samples from the R peak to the window end, exclusive (461 ms: covers the T wave at ordinary QT). */
export const WINDOW_AFTER = 166;
/** Window length in samples at {@link MODEL_FS}; the R peak sits at index {@link WINDOW_BEFORE}. */
export const WINDOW_LENGTH = WINDOW_BEFORE + WINDOW_AFTER;

/**
 * Band-pass of the model's input: 0.5 Hz removes baseline wander, 40 Hz mains hum and muscle noise while
 * keeping QRS energy (AHA recommendations for monitoring-grade ECG bandwidth, Kligfield et al.,
 * Circulation 115:1306-1324, 2007). Butterworth order 2 per edge, run forward and backward (zero phase,
 * effective order 4), so the R peak does not move.
 */
export const BAND_HZ: readonly [number, number] = [0.5, 40];
export const BAND_ORDER = 2;

/** Half-width of the search for a beat's R amplitude around its peak (50 ms covers the QRS apex). */
const R_SEARCH_S = 0.05;
/**
 * Floor of the amplitude scale in mV: a flat or near-flat lead is not blown up into noise. 0.1 mV is well
 * below any ordinary QRS amplitude (≥ 0.5 mV in limb leads; Surawicz & Knilans, Chou's Electrocardiography).
 */
const MIN_SCALE_MV = 0.1;

/** Beats on each side of a beat averaged for its local RR (de Chazal 2004: a ten-beat window). */
const LOCAL_RR_HALF_BEATS = 5;
/** Span of the "record" average RR centred on each beat (de Chazal 2004: the surrounding 5 minutes). */
const RECORD_RR_SPAN_S = 300;
/** RR assumed when a record holds a single beat (60 bpm), so features stay finite and ratios are 1. */
const DEFAULT_RR_S = 1;

/**
 * The RR features in model order.
 *  - prev_rr_s, next_rr_s: the intervals to the previous and next beat. Premature supraventricular and
 *    ventricular beats have a short previous and, often, a long (compensatory) next interval
 *    (de Chazal, O'Dwyer & Reilly, IEEE TBME 51(7):1196-1206, 2004, "pre-RR" and "post-RR").
 *  - local_rr_s: mean of the RR intervals in a ten-beat window centred on the beat (de Chazal 2004,
 *    "local avg RR"; Mondéjar-Guerra et al., Biomed Signal Process Control 47:41-48, 2019, "local_R").
 *  - record_rr_s: mean RR over the 5 minutes centred on the beat, the whole record when shorter
 *    (de Chazal 2004, "average RR"; Mondéjar-Guerra 2019, "global_R").
 *  - prev_over_local, next_over_local, prev_over_record: the same intervals relative to the patient's own
 *    rhythm, which is what transfers between patients: an SVEB is premature for *this* patient's rate
 *    (Mondéjar-Guerra 2019, normalised RR features; Llamedo & Martínez, IEEE TBME 58(3):616-625, 2011).
 */
export const RR_FEATURES = [
  'prev_rr_s',
  'next_rr_s',
  'local_rr_s',
  'record_rr_s',
  'prev_over_local',
  'next_over_local',
  'prev_over_record',
] as const;
export const RR_FEATURE_COUNT = RR_FEATURES.length;

export interface BeatInputs {
  /** n × {@link WINDOW_LENGTH} windows, row-major. */
  readonly windows: Float32Array;
  /** n × {@link RR_FEATURE_COUNT} features, row-major, in {@link RR_FEATURES} order. */
  readonly rr: Float32Array;
  /** The amplitude (mV) every window was divided by: the record's median R amplitude, floored. */
  readonly scaleMv: number;
}

/**
 * Model inputs for every beat of one lead: `samples` in mV at `fs` Hz, `rPeaks` sorted sample indices at
 * `fs`, strictly increasing (e.g. from detectQrs). Windows reaching past either end of the record are zero-padded.
 */
export function beatInputs(samples: Float32Array, fs: number, rPeaks: Int32Array): BeatInputs {
  if (!(fs > 0) || !Number.isFinite(fs)) throw new RangeError(`beatInputs: invalid sampling rate ${fs}`);
  for (let i = 1; i < rPeaks.length; i++) {
    if (rPeaks[i]! <= rPeaks[i - 1]!) throw new RangeError('beatInputs: R peaks must be strictly increasing');
  }
  const x = fs === MODEL_FS ? samples : resample(samples, fs, MODEL_FS);
  const centres = new Int32Array(rPeaks.length);
  // resampleIndex uses resample's own p/q, so a centre lands exactly where resample put that sample.
  for (let i = 0; i < rPeaks.length; i++) centres[i] = Math.round(resampleIndex(rPeaks[i]!, fs, MODEL_FS));
  const y = x.length > 0 ? sosfiltfilt(butterBandpass(BAND_ORDER, BAND_HZ[0], BAND_HZ[1], MODEL_FS), x) : x;
  const scaleMv = Math.max(MIN_SCALE_MV, medianRAmplitude(y, centres));
  const windows = extractWindows(y, centres, 1 / scaleMv);
  return { windows, rr: rrFeatures(rPeaks, fs), scaleMv };
}

/** Median over beats of the largest |y| within ±50 ms of each peak. */
function medianRAmplitude(y: Float32Array, centres: Int32Array): number {
  const n = centres.length;
  if (n === 0 || y.length === 0) return 0;
  const half = Math.round(R_SEARCH_S * MODEL_FS);
  const amp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const from = Math.max(0, centres[i]! - half);
    const to = Math.min(y.length, centres[i]! + half + 1);
    let m = 0;
    for (let t = from; t < to; t++) {
      const a = Math.abs(y[t]!);
      if (a > m) m = a;
    }
    amp[i] = m;
  }
  amp.sort();
  return n % 2 === 1 ? amp[(n - 1) / 2]! : (amp[n / 2 - 1]! + amp[n / 2]!) / 2;
}

/** Copy y[c − WINDOW_BEFORE, c + WINDOW_AFTER) × gain for each centre c, zeros outside y. */
function extractWindows(y: Float32Array, centres: Int32Array, gain: number): Float32Array {
  const out = new Float32Array(centres.length * WINDOW_LENGTH);
  for (let i = 0; i < centres.length; i++) {
    const start = centres[i]! - WINDOW_BEFORE;
    const from = Math.max(0, -start);
    const to = Math.min(WINDOW_LENGTH, y.length - start);
    const row = i * WINDOW_LENGTH;
    for (let k = from; k < to; k++) out[row + k] = y[start + k]! * gain;
  }
  return out;
}

/**
 * The RR features of {@link RR_FEATURES} for sorted peaks at `fs` Hz, n × 7 row-major.
 * The first beat has no previous interval and takes its next one; the last beat takes its previous one.
 */
export function rrFeatures(rPeaks: Int32Array, fs: number): Float32Array {
  const n = rPeaks.length;
  const F = RR_FEATURE_COUNT;
  const out = new Float32Array(n * F);
  // interval k (1 ≤ k < n) ends at beat k: d[k] = (r[k] − r[k−1]) / fs; prefix sums for window means.
  const cum = new Float64Array(n + 1);
  for (let k = 1; k < n; k++) cum[k + 1] = cum[k]! + (rPeaks[k]! - rPeaks[k - 1]!) / fs;
  const meanOf = (from: number, to: number): number => {
    // mean of d[from..to] (inclusive), clipped to the valid interval range [1, n − 1]
    const a = Math.max(1, from);
    const b = Math.min(n - 1, to);
    return b >= a ? (cum[b + 1]! - cum[a]!) / (b - a + 1) : Number.NaN;
  };
  const halfSpan = (RECORD_RR_SPAN_S / 2) * fs;
  let lo = 1;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const r = rPeaks[i]!;
    let prev = i > 0 ? (r - rPeaks[i - 1]!) / fs : Number.NaN;
    let next = i < n - 1 ? (rPeaks[i + 1]! - r) / fs : Number.NaN;
    if (Number.isNaN(prev)) prev = Number.isNaN(next) ? DEFAULT_RR_S : next;
    if (Number.isNaN(next)) next = prev;
    // ten intervals centred on the beat: d[i−4..i+5] (d[i] is the previous, d[i+1] the next interval)
    const local = meanOr(meanOf(i - LOCAL_RR_HALF_BEATS + 1, i + LOCAL_RR_HALF_BEATS), prev);
    // intervals ending within ±150 s of the beat
    while (lo < n && rPeaks[lo]! < r - halfSpan) lo++;
    while (hi + 1 < n && rPeaks[hi + 1]! <= r + halfSpan) hi++;
    const record = meanOr(meanOf(lo, hi), prev);
    const o = i * F;
    out[o] = prev;
    out[o + 1] = next;
    out[o + 2] = local;
    out[o + 3] = record;
    out[o + 4] = prev / local;
    out[o + 5] = next / local;
    out[o + 6] = prev / record;
  }
  return out;
}

function meanOr(m: number, fallback: number): number {
  return Number.isNaN(m) || m <= 0 ? fallback : m;
}

/**
 * The record's dominant morphology: per sample, the median over all beats' windows (numpy.median
 * semantics: the mean of the two middle values for an even count). A second model channel holding it
 * lets the network judge each beat against this patient's usual beat, which is what transfers between
 * patients (training/beats/train.py `record_templates`; DS1 cross-validation V F1 0.64 → 0.82).
 */
export function recordTemplate(windows: Float32Array, n: number): Float32Array {
  const out = new Float32Array(WINDOW_LENGTH);
  if (n === 0) return out;
  const column = new Float32Array(n);
  const mid = n >> 1;
  for (let k = 0; k < WINDOW_LENGTH; k++) {
    for (let i = 0; i < n; i++) column[i] = windows[i * WINDOW_LENGTH + k]!;
    // Selection instead of a sort per column: O(n) rather than O(n log n), the same order statistics
    // (a 30-min record's 2,270 beats: the sort was 100 ms of analyze()). The windows are finite: analyze()
    // refuses non-finite samples, and the band-pass and resampling keep them finite.
    const upper = selectKth(column, 0, n - 1, mid);
    if (n % 2) out[k] = upper;
    else {
      // After selection every value left of `mid` is ≤ column[mid]: the lower middle is their maximum.
      let lower = column[0]!;
      for (let i = 1; i < mid; i++) if (column[i]! > lower) lower = column[i]!;
      out[k] = (lower + upper) / 2;
    }
  }
  return out;
}

/**
 * The `window` model input for `channels` = 1 (the beat) or 2 (the beat, then the record template), as
 * [n, channels, WINDOW_LENGTH] row-major.
 */
export function windowTensor(windows: Float32Array, n: number, channels: 1 | 2): Float32Array {
  if (channels === 1) return windows;
  const template = recordTemplate(windows, n);
  const out = new Float32Array(n * 2 * WINDOW_LENGTH);
  for (let i = 0; i < n; i++) {
    out.set(windows.subarray(i * WINDOW_LENGTH, (i + 1) * WINDOW_LENGTH), 2 * i * WINDOW_LENGTH);
    out.set(template, (2 * i + 1) * WINDOW_LENGTH);
  }
  return out;
}
