/**
 * The quality autoencoder's input contract: what one 2.048-s segment of a single lead looks like to the
 * network (models/ae-quality.onnx, issue #3 item 5).
 *
 * Training data are exported by this very function (`ecg-cds dataset ae`, src/cli/dataset-ae.ts), so the
 * shipped gate and the trained model see the same numbers by construction. Changing anything here (rate,
 * segment length, filter, normalisation, clip) changes the contract: retrain and re-export the model, whose
 * manifest records the contract version below, and re-derive its threshold.
 *
 * Per segment the model gets 256 samples of one lead at 125 Hz, band-passed 0.5–40 Hz with zero phase over
 * the whole record, divided by the smaller of the segment's 98th percentile of |amplitude| and the record's
 * median R amplitude ({@link AE_SCALE}), and clipped to ±{@link CLIP}.
 * Segments are consecutive from the record start; when the record is not a whole number of segments long,
 * one more segment is aligned to its end (overlapping the one before), so every sample is covered.
 */
import { butterBandpass, sosfiltfilt } from '../dsp/iir.js';
import { detectQrs } from '../dsp/qrs.js';
import { resample, resampleIndex } from '../dsp/resample.js';

/** Version of this contract; bump on any change that alters the numbers the model sees. */
export const AE_INPUT_VERSION = 1;

/**
 * Sampling rate of the autoencoder: 125 Hz keeps the 0.5–40 Hz band (Nyquist 62.5 Hz) while a 2-s segment
 * stays 256 samples, small enough for a tiny convolutional model.
 */
export const AE_FS = 125;
/** Segment length in samples at {@link AE_FS} (2.048 s: one to four beats at ordinary rates). */
export const SEGMENT_LENGTH = 256;
export const SEGMENT_S = SEGMENT_LENGTH / AE_FS;

/** Band-pass as the beat and rhythm models' (Kligfield et al., Circulation 115:1306-1324, 2007). */
export const BAND_HZ: readonly [number, number] = [0.5, 40];
export const BAND_ORDER = 2;
/** Normalised samples are clipped to ± this many R amplitudes: one artefact cannot dominate the error. */
export const CLIP = 10;

/**
 * How a segment's amplitude is normalised (a closed union; models are trained with {@link AE_SCALE}).
 *  - 'segment-p98': divide by the segment's own 98th percentile of |y| (the 6th largest of 256 samples: about
 *    its R apices, robust to one spike). Independent of the rest of the record and of QRS detection.
 *  - 'record-r': divide by the record's median R amplitude (largest |y| within ±50 ms of each peak that
 *    {@link detectQrs} finds on the whole record), as the beat model does. Noise keeps its size relative
 *    to this patient's QRS.
 *  - 'segment-p98-record-cap': the smaller of the two. A faint segment is rescaled to full size as with
 *    'segment-p98', but a large artefact cannot shrink itself below the patient's own QRS size.
 * Chosen: 'segment-p98-record-cap', by record-wise 5-fold cross-validation inside MIT-BIH DS1 with the
 * shipped architecture (training/README.md, "Quality autoencoder"): the mean share of held-out noisy
 * segments flagged at a 1 % clean false-alarm rate, over DS1's own `~`-annotated noise and nstdb muscle
 * artefact and baseline wander added at three levels, is 62.9 % vs 61.7 % ('record-r') and 59.5 %
 * ('segment-p98'), and it flags the most `~`-annotated segments (29 % vs 23 % and 27 %). Why it wins:
 * per-segment scaling alone judges only shape, so a segment that is mostly smooth artefact is rescaled to
 * an ECG-sized wave the decoder can draw; the cap keeps a large artefact large. The record scale alone is
 * inflated by a record noisy throughout and makes faint non-ECG signal look harmless; the per-segment part
 * rescales that to full size.
 */
export type AeScale = 'record-r' | 'segment-p98' | 'segment-p98-record-cap';
export const AE_SCALE: AeScale = 'segment-p98-record-cap';

/** Half-width of the search for a beat's R amplitude around its peak (50 ms covers the QRS apex). */
const R_SEARCH_S = 0.05;
/** Floor of the amplitude scale in mV (see beat-input.ts): a flat lead is not blown up into noise. */
const MIN_SCALE_MV = 0.1;
/** With fewer detected beats the record scale is the 99th percentile of |y| (≈ the R apices at 60 bpm). */
const MIN_BEATS_FOR_R_SCALE = 3;
const FALLBACK_QUANTILE = 0.99;
/** Quantile of |y| that is the 'segment-p98' scale. */
const SEGMENT_QUANTILE = 0.98;

export interface AeInputs {
  /** count × {@link SEGMENT_LENGTH} normalised segments, row-major. */
  readonly segments: Float32Array;
  /** First sample of each segment at {@link AE_FS}. */
  readonly starts: Int32Array;
  readonly count: number;
  /** Divisor (mV) of each segment. */
  readonly scales: Float32Array;
  /** Length of the record at {@link AE_FS}. */
  readonly length: number;
}

export interface AeInputOptions {
  /** Samples at {@link AE_FS} between segment starts; default {@link SEGMENT_LENGTH} (consecutive). */
  readonly stride?: number;
  /** Normalisation; default {@link AE_SCALE}. Only model-selection experiments set another. */
  readonly scale?: AeScale;
}

/**
 * Start indices of segments tiling `n` samples with `stride` (≤ {@link SEGMENT_LENGTH}): from 0, plus one
 * aligned to the end when the tiling leaves samples uncovered. None when n < {@link SEGMENT_LENGTH}.
 */
export function segmentStarts(n: number, stride: number = SEGMENT_LENGTH): Int32Array {
  if (!(Number.isInteger(stride) && stride >= 1 && stride <= SEGMENT_LENGTH)) {
    throw new RangeError(`segmentStarts: stride must be an integer in [1, ${SEGMENT_LENGTH}], got ${stride}`);
  }
  if (n < SEGMENT_LENGTH) return new Int32Array(0);
  const out: number[] = [];
  for (let s = 0; s + SEGMENT_LENGTH <= n; s += stride) out.push(s);
  if (out[out.length - 1]! + SEGMENT_LENGTH < n) out.push(n - SEGMENT_LENGTH);
  return Int32Array.from(out);
}

/** Autoencoder inputs for one lead: `samples` in mV at `fs` Hz. Records under 2.048 s give no segment. */
export function aeInputs(samples: Float32Array, fs: number, opts: AeInputOptions = {}): AeInputs {
  if (!(fs > 0) || !Number.isFinite(fs)) throw new RangeError(`aeInputs: invalid sampling rate ${fs}`);
  const scale = opts.scale ?? AE_SCALE;
  const x = fs === AE_FS ? samples : resample(samples, fs, AE_FS);
  const y = x.length > 0 ? sosfiltfilt(butterBandpass(BAND_ORDER, BAND_HZ[0], BAND_HZ[1], AE_FS), x) : x;
  const starts = segmentStarts(y.length, opts.stride ?? SEGMENT_LENGTH);
  const count = starts.length;
  const scales = new Float32Array(count);
  const record = scale === 'segment-p98' ? Infinity : recordScale(samples, fs, y);
  for (let k = 0; k < count; k++) {
    scales[k] = scale === 'record-r' ? record : Math.min(record, segmentScale(y, starts[k]!));
  }
  const segments = new Float32Array(count * SEGMENT_LENGTH);
  for (let k = 0; k < count; k++) {
    const g = 1 / scales[k]!;
    const s = starts[k]!;
    const row = k * SEGMENT_LENGTH;
    for (let t = 0; t < SEGMENT_LENGTH; t++) {
      const v = y[s + t]! * g;
      segments[row + t] = v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
    }
  }
  return { segments, starts, count, scales, length: y.length };
}

/** Position at `fs` of sample `i` at {@link AE_FS} (rounded), for mapping segments back to the input. */
export function toInputIndex(i: number, fs: number): number {
  return fs === AE_FS ? i : Math.round(resampleIndex(i, AE_FS, fs));
}

/**
 * The record's median R amplitude on the band-passed 125-Hz signal `y`, R peaks from the input lead at its
 * own rate (as inference detects them); the 99th percentile of |y| with fewer than 3 beats; floored.
 */
function recordScale(samples: Float32Array, fs: number, y: Float32Array): number {
  if (y.length === 0) return MIN_SCALE_MV;
  const peaks = detectQrs([samples], fs);
  if (peaks.length < MIN_BEATS_FOR_R_SCALE)
    return Math.max(MIN_SCALE_MV, quantileAbs(y, 0, y.length, FALLBACK_QUANTILE));
  const half = Math.round(R_SEARCH_S * AE_FS);
  const amp = new Float64Array(peaks.length);
  for (let k = 0; k < peaks.length; k++) {
    const c = Math.round(resampleIndex(peaks[k]!, fs, AE_FS));
    const from = Math.max(0, c - half);
    const to = Math.min(y.length, c + half + 1);
    let m = 0;
    for (let t = from; t < to; t++) {
      const a = Math.abs(y[t]!);
      if (a > m) m = a;
    }
    amp[k] = m;
  }
  amp.sort();
  const n = amp.length;
  const med = n % 2 === 1 ? amp[(n - 1) / 2]! : (amp[n / 2 - 1]! + amp[n / 2]!) / 2;
  return Math.max(MIN_SCALE_MV, med);
}

function segmentScale(y: Float32Array, start: number): number {
  return Math.max(MIN_SCALE_MV, quantileAbs(y, start, start + SEGMENT_LENGTH, SEGMENT_QUANTILE));
}

/** The q-quantile (lower order statistic) of |y[from..to)|. */
function quantileAbs(y: Float32Array, from: number, to: number, q: number): number {
  const a = new Float32Array(to - from);
  for (let t = from; t < to; t++) a[t - from] = Math.abs(y[t]!);
  a.sort();
  return a[Math.min(a.length - 1, Math.floor(q * a.length))] ?? 0;
}
