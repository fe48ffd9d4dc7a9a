/**
 * The rhythm model's input contract: what one 10-s window of a single lead looks like to the network.
 *
 * Training data are exported by this very function (`ecg-cds dataset rhythm`, src/cli/dataset-rhythm.ts), so
 * the shipped pipeline and the trained model see the same numbers by construction. Changing anything here
 * (rate, window, stride, filter, normalisation, feature definitions or order) changes the contract: retrain
 * and re-export models/rhythm-cnn.onnx, whose labels file records the contract version below.
 *
 * Per window the model gets
 *  - `signal`: 3,000 samples (10 s) of one lead at 300 Hz, band-passed 0.5–40 Hz with zero phase over the
 *    whole record, divided by the window's median R amplitude and clipped to ±{@link CLIP}; a window of a
 *    record shorter than 10 s is zero-padded at its end (`valid` says how many samples are real);
 *  - `features`: the {@link RHYTHM_FEATURES} of that window, from the R peaks {@link detectQrs} finds in it
 *    and the signal-quality index of the record, in physical units (seconds, bpm, mV, fractions).
 */
import { butterBandpass, sosfiltfilt } from '../dsp/iir.js';
import { detectQrs } from '../dsp/qrs.js';
import { signalQuality } from '../dsp/quality.js';
import { resample } from '../dsp/resample.js';

/** Version of this contract; bump on any change that alters the numbers a model sees. */
export const RHYTHM_INPUT_VERSION = 1;

/** Sampling rate of the rhythm model: CinC 2017's native rate, so its training records are not resampled. */
export const RHYTHM_FS = 300;
/** Window length in seconds: PTB-XL's and most resting ECGs' length, and the DS2 reporting unit of issue #3. */
export const WINDOW_S = 10;
export const WINDOW_LENGTH = WINDOW_S * RHYTHM_FS;
/** Default stride between window starts (50 % overlap); a record's last window is aligned to its end. */
export const STRIDE_S = 5;
/**
 * Records shorter than this are refused: below 5 s a window holds four beats or fewer at 50 bpm, too few
 * for any RR irregularity measure (CinC 2017's shortest recording is 9 s, so no training record is lost).
 * Records between 5 and 10 s give one zero-padded window.
 */
export const MIN_RECORD_S = 5;

/** Band-pass of the model's input, as the beat model's (Kligfield et al., Circulation 115:1306-1324, 2007). */
export const BAND_HZ: readonly [number, number] = [0.5, 40];
export const BAND_ORDER = 2;
/** Normalised samples are clipped to ± this many median R amplitudes: artefacts cannot swamp the network. */
export const CLIP = 10;
/** Signal-quality segment length in seconds for the unreadable fraction (finer than the 5-s default). */
export const QUALITY_SEGMENT_S = 1;

/** Half-width of the search for a beat's R amplitude around its peak (50 ms covers the QRS apex). */
const R_SEARCH_S = 0.05;
/**
 * Detections whose R amplitude is below this (mV) are not beats: the quality index's flat-line threshold
 * (quality.ts). The detector scales its feature to the window's own level, so on a flat stretch it would
 * otherwise pick microvolt ripples.
 */
const MIN_R_AMPLITUDE_MV = 0.05;
/** Floor of the amplitude scale in mV (see beat-input.ts): a flat lead is not blown up into noise. */
const MIN_SCALE_MV = 0.1;
/** With fewer detected beats the scale is the 99th percentile of |signal| (about the R apices at 60 bpm). */
const MIN_BEATS_FOR_R_SCALE = 3;
const FALLBACK_QUANTILE = 0.99;

/** COSEn (Lake & Moorman 2011): tolerance starts at 30 ms and grows by 10 ms until 5 matches, up to 250 ms. */
const COSEN_R0_S = 0.03;
const COSEN_R_STEP_S = 0.01;
const COSEN_R_MAX_S = 0.25;
const COSEN_MIN_MATCHES = 5;
/** Fewest RR intervals for COSEn and the Lorenz-plot features (4 points on the ΔRR plot). */
const MIN_RR_FOR_ENTROPY = 5;
/** Lorenz-plot bin width (Sarkar, Ritscher & Mehra 2008 use 40 ms bins of ΔRR). */
const LORENZ_BIN_S = 0.04;

/**
 * The hand-crafted features, in model order. RR statistics use the intervals between R peaks detected in
 * the window's real (unpadded) samples; a statistic that needs more intervals than the window has is 0
 * (`beat_count` tells the model when that happens).
 *  - beat_count: R peaks detected in the window.
 *  - heart_rate_bpm: 60 / mean RR.
 *  - rr_mean_s: mean RR interval.
 *  - rr_cv: SD / mean of the RR intervals; AF's irregularly irregular rhythm raises it (Tateno & Glass,
 *    Med Biol Eng Comput 39:664-671, 2001).
 *  - nrmssd: root mean square of successive RR differences / mean RR (Dash, Chon, Lu & Raeder, Ann Biomed
 *    Eng 37(9):1701-1709, 2009).
 *  - tpr: turning-point ratio of the RR series, ≈ 2/3 for a random series, lower for sinus rhythm's slow
 *    modulation (Dash et al. 2009).
 *  - cosen: coefficient of sample entropy of the RR series, SampEn(m = 1, r) + ln(2r / mean RR), r from 30 ms
 *    widened until 5 matches; built for AF detection in short series (Lake & Moorman, Am J Physiol Heart
 *    Circ Physiol 300:H319-H325, 2011; SampEn: Richman & Moorman, same journal 278:H2039-H2049, 2000).
 *  - lorenz_origin: fraction of points (ΔRR_i−1, ΔRR_i) in the 40-ms bin at the origin of the ΔRR Lorenz
 *    plot; regular rhythms pile up there, AF scatters (after Sarkar, Ritscher & Mehra, IEEE TBME 55(3):
 *    1219-1224, 2008, whose AF evidence counts points and bins of this plot).
 *  - lorenz_spread: distinct occupied 40-ms bins outside the origin / number of points (after Sarkar 2008:
 *    AF occupies many bins, ectopy patterns few repeated ones).
 *  - rr_min_ratio, rr_max_ratio: shortest and longest RR / median RR (premature beats and pauses; a ratio
 *    near 2 also flags a missed detection).
 *  - r_amp_cv: SD / mean of the R amplitudes (beat-to-beat morphology change: ectopy, noise).
 *  - scale_mv: the window's median R amplitude in mV, the divisor of `signal` (low amplitude, noise).
 *  - unreadable_fraction: fraction of the window's real samples in 1-s segments that {@link signalQuality}
 *    marks unreadable (Li, Clifford & Mark 2008 style index of this codebase).
 *  - valid_fraction: real samples / window length (< 1 only for a zero-padded short record).
 */
export const RHYTHM_FEATURES = [
  'beat_count',
  'heart_rate_bpm',
  'rr_mean_s',
  'rr_cv',
  'nrmssd',
  'tpr',
  'cosen',
  'lorenz_origin',
  'lorenz_spread',
  'rr_min_ratio',
  'rr_max_ratio',
  'r_amp_cv',
  'scale_mv',
  'unreadable_fraction',
  'valid_fraction',
] as const;
export type RhythmFeature = (typeof RHYTHM_FEATURES)[number];
export const RHYTHM_FEATURE_COUNT = RHYTHM_FEATURES.length;

/**
 * Output classes of the rhythm model, in logit order (CinC 2017's labels): normal sinus rhythm, atrial
 * fibrillation (or flutter), other rhythm, too noisy to classify.
 */
export const RHYTHM_CLASSES = ['N', 'A', 'O', '~'] as const;
export type RhythmClass = (typeof RHYTHM_CLASSES)[number];

export interface RhythmInputs {
  /** Number of windows. */
  readonly count: number;
  /** count × {@link WINDOW_LENGTH} normalised samples, row-major. */
  readonly signal: Float32Array;
  /** count × {@link RHYTHM_FEATURE_COUNT} features, row-major, in {@link RHYTHM_FEATURES} order. */
  readonly features: Float32Array;
  /** First sample of each window at {@link RHYTHM_FS}. */
  readonly starts: Int32Array;
  /** Real (unpadded) samples in each window. */
  readonly valid: Int32Array;
  /** The record resampled to {@link RHYTHM_FS} and band-passed, in mV (for saliency and evidence). */
  readonly filtered: Float32Array;
}

export interface RhythmInputOptions {
  /** Window starts at {@link RHYTHM_FS}; default {@link windowStarts} with {@link STRIDE_S}. */
  readonly starts?: Int32Array;
  /** 1 where an input sample is invalid (at the input rate); counted as unreadable by the quality index. */
  readonly invalid?: Uint8Array;
}

/**
 * Window starts for a record of `n` samples at {@link RHYTHM_FS}: every `strideS` seconds while a full
 * window fits, plus one window ending at the record's end when the stride leaves a tail uncovered; a record
 * shorter than one window gets a single window at 0. Throws below {@link MIN_RECORD_S}.
 */
export function windowStarts(n: number, strideS: number = STRIDE_S): Int32Array {
  if (!(strideS > 0)) throw new RangeError(`windowStarts: stride must be positive, got ${strideS}`);
  checkLength(n);
  if (n <= WINDOW_LENGTH) return Int32Array.of(0);
  const stride = Math.round(strideS * RHYTHM_FS);
  const out: number[] = [];
  let s = 0;
  for (; s + WINDOW_LENGTH <= n; s += stride) out.push(s);
  const last = out[out.length - 1]!;
  if (last + WINDOW_LENGTH < n) out.push(n - WINDOW_LENGTH);
  return Int32Array.from(out);
}

function checkLength(n: number): void {
  if (n < MIN_RECORD_S * RHYTHM_FS) {
    throw new RangeError(
      `rhythm input: record of ${(n / RHYTHM_FS).toFixed(1)} s is shorter than the ${MIN_RECORD_S} s minimum`,
    );
  }
}

/**
 * Model inputs for the windows of one lead: `samples` in mV at `fs` Hz. The lead is resampled to
 * {@link RHYTHM_FS} and band-passed once, then cut into windows; QRS detection runs on each window alone,
 * so a window's features do not depend on where the record was cut.
 */
export function rhythmInputs(samples: Float32Array, fs: number, opts: RhythmInputOptions = {}): RhythmInputs {
  if (!(fs > 0) || !Number.isFinite(fs)) throw new RangeError(`rhythmInputs: invalid sampling rate ${fs}`);
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i]!)) throw new RangeError(`rhythmInputs: sample ${i} is not finite`);
  }
  const x = fs === RHYTHM_FS ? samples : resample(samples, fs, RHYTHM_FS);
  const n = x.length;
  checkLength(n);
  const starts = opts.starts ?? windowStarts(n);
  const y = sosfiltfilt(butterBandpass(BAND_ORDER, BAND_HZ[0], BAND_HZ[1], RHYTHM_FS), x);
  const unreadable = unreadableMask(y, samples.length, fs, opts.invalid);

  const count = starts.length;
  const F = RHYTHM_FEATURE_COUNT;
  const signal = new Float32Array(count * WINDOW_LENGTH);
  const features = new Float32Array(count * F);
  const valid = new Int32Array(count);
  for (let w = 0; w < count; w++) {
    const start = starts[w]!;
    if (!(start >= 0 && start < n))
      throw new RangeError(`rhythmInputs: window start ${start} outside the record`);
    const end = Math.min(n, start + WINDOW_LENGTH);
    const win = y.subarray(start, end);
    valid[w] = end - start;
    const { peaks, amps } = windowBeats(win);
    const scale = windowScale(win, amps);
    const row = signal.subarray(w * WINDOW_LENGTH, (w + 1) * WINDOW_LENGTH);
    const gain = 1 / scale;
    for (let i = 0; i < win.length; i++) {
      const v = win[i]! * gain;
      row[i] = Math.min(CLIP, Math.max(-CLIP, v));
    }
    let bad = 0;
    for (let i = start; i < end; i++) bad += unreadable[i]!;
    windowFeatures(peaks, amps, RHYTHM_FS, {
      scaleMv: scale,
      unreadableFraction: bad / (end - start),
      validFraction: (end - start) / WINDOW_LENGTH,
      out: features.subarray(w * F, (w + 1) * F),
    });
  }
  return { count, signal, features, starts: Int32Array.from(starts), valid, filtered: y };
}

/** 1 per sample at {@link RHYTHM_FS} in an unreadable quality segment or invalid at the input rate. */
function unreadableMask(y: Float32Array, nIn: number, fs: number, invalid?: Uint8Array): Uint8Array {
  const n = y.length;
  const mask = new Uint8Array(n);
  let inv: Uint8Array | undefined;
  if (invalid) {
    if (invalid.length !== nIn)
      throw new RangeError('rhythmInputs: invalid mask length differs from samples');
    inv = new Uint8Array(n);
    const ratio = fs / RHYTHM_FS;
    for (let j = 0; j < n; j++) inv[j] = invalid[Math.min(nIn - 1, Math.round(j * ratio))]!;
  }
  // Contract v1 was trained on the 'all-blocks' noise floor; the index's default changed since (issue #9).
  const base = { segmentSeconds: QUALITY_SEGMENT_S, floor: 'all-blocks' } as const;
  const opts = inv ? { ...base, invalid: [inv] } : base;
  for (const seg of signalQuality([y], RHYTHM_FS, opts)) if (!seg.readable) mask.fill(1, seg.start, seg.end);
  if (inv) for (let j = 0; j < n; j++) mask[j]! |= inv[j]!;
  return mask;
}

/** R peaks detected in one window and their amplitudes (largest |y| within ±50 ms, mV), flat ripples dropped. */
function windowBeats(y: Float32Array): { peaks: Int32Array; amps: Float64Array } {
  const detected = y.length >= RHYTHM_FS ? detectQrs([y], RHYTHM_FS) : new Int32Array(0);
  const half = Math.round(R_SEARCH_S * RHYTHM_FS);
  const keep: number[] = [];
  const amps: number[] = [];
  for (const p of detected) {
    const from = Math.max(0, p - half);
    const to = Math.min(y.length, p + half + 1);
    let m = 0;
    for (let t = from; t < to; t++) {
      const a = Math.abs(y[t]!);
      if (a > m) m = a;
    }
    if (m < MIN_R_AMPLITUDE_MV) continue;
    keep.push(p);
    amps.push(m);
  }
  return { peaks: Int32Array.from(keep), amps: Float64Array.from(amps) };
}

/** Median R amplitude, or the 99th percentile of |y| with too few beats; floored at 0.1 mV. */
function windowScale(y: Float32Array, amps: Float64Array): number {
  if (amps.length >= MIN_BEATS_FOR_R_SCALE) return Math.max(MIN_SCALE_MV, median(amps));
  const a = Float64Array.from(y, Math.abs).sort();
  return Math.max(MIN_SCALE_MV, a[Math.min(a.length - 1, Math.floor(FALLBACK_QUANTILE * a.length))] ?? 0);
}

export interface WindowFeatureContext {
  readonly scaleMv: number;
  readonly unreadableFraction: number;
  readonly validFraction: number;
  /** Row to fill ({@link RHYTHM_FEATURE_COUNT} values); a new one when omitted. */
  readonly out?: Float32Array;
}

/**
 * The {@link RHYTHM_FEATURES} of one window from its sorted R peaks at `fs` Hz and their R amplitudes;
 * the quality and scale entries come from `ctx`. Rate-independent: everything is in seconds or ratios.
 */
export function windowFeatures(
  peaks: Int32Array,
  rAmps: Float64Array,
  fs: number,
  ctx: WindowFeatureContext,
): Float32Array {
  const out = ctx.out ?? new Float32Array(RHYTHM_FEATURE_COUNT);
  out.fill(0);
  const nb = peaks.length;
  const rr = new Float64Array(Math.max(0, nb - 1));
  for (let k = 1; k < nb; k++) rr[k - 1] = (peaks[k]! - peaks[k - 1]!) / fs;
  out[0] = nb;
  if (rr.length >= 1) {
    const m = mean(rr);
    out[1] = 60 / m;
    out[2] = m;
    out[3] = rr.length >= 2 ? sd(rr, m) / m : 0;
    if (rr.length >= 2) {
      let ss = 0;
      for (let k = 1; k < rr.length; k++) ss += (rr[k]! - rr[k - 1]!) ** 2;
      out[4] = Math.sqrt(ss / (rr.length - 1)) / m;
    }
    if (rr.length >= 3) out[5] = turningPointRatio(rr);
    if (rr.length >= MIN_RR_FOR_ENTROPY) {
      out[6] = cosen(rr, m);
      const [origin, spread] = lorenz(rr);
      out[7] = origin;
      out[8] = spread;
    }
    const med = median(rr);
    let lo = Infinity;
    let hi = 0;
    for (const v of rr) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    out[9] = lo / med;
    out[10] = hi / med;
  }
  if (rAmps.length >= 2) {
    const m = mean(rAmps);
    out[11] = m > 0 ? sd(rAmps, m) / m : 0;
  }
  out[12] = ctx.scaleMv;
  out[13] = ctx.unreadableFraction;
  out[14] = ctx.validFraction;
  return out;
}

/** Share of interior points that are a strict local maximum or minimum (Dash et al. 2009). */
function turningPointRatio(rr: Float64Array): number {
  let t = 0;
  for (let k = 1; k < rr.length - 1; k++) {
    const a = rr[k]! - rr[k - 1]!;
    const b = rr[k + 1]! - rr[k]!;
    if (a * b < 0) t++;
  }
  return t / (rr.length - 2);
}

/**
 * Coefficient of sample entropy (Lake & Moorman 2011): SampEn with m = 1 and tolerance r (seconds), widened
 * from 30 ms in 10-ms steps until at least 5 template pairs of length 2 match (their minimum numerator),
 * then COSEn = SampEn + ln(2r) − ln(mean RR). With no length-2 match even at 250 ms one match is assumed,
 * an upper bound that keeps the value finite.
 */
function cosen(rr: Float64Array, meanRr: number): number {
  const n = rr.length;
  let r = COSEN_R0_S;
  let a = 0;
  let b = 0;
  for (;;) {
    a = 0;
    b = 0;
    // Templates of length m = 1 and m + 1 = 2 over the same N − m start indices (Richman & Moorman 2000).
    for (let i = 0; i < n - 1; i++) {
      for (let j = i + 1; j < n - 1; j++) {
        if (Math.abs(rr[i]! - rr[j]!) <= r) {
          b++;
          if (Math.abs(rr[i + 1]! - rr[j + 1]!) <= r) a++;
        }
      }
    }
    if (a >= COSEN_MIN_MATCHES || r >= COSEN_R_MAX_S - 1e-9) break;
    r += COSEN_R_STEP_S;
  }
  const sampEn = -Math.log(Math.max(a, 1) / Math.max(b, 1));
  return sampEn + Math.log((2 * r) / meanRr);
}

/** [fraction of ΔRR Lorenz-plot points in the origin bin, occupied non-origin bins / points]. */
function lorenz(rr: Float64Array): [number, number] {
  const points = rr.length - 2;
  const bins = new Set<number>();
  let origin = 0;
  // Bins are centred on the origin: bin index round(ΔRR / 40 ms), so the origin bin is |ΔRR| < 20 ms.
  for (let k = 2; k < rr.length; k++) {
    const bx = Math.round((rr[k - 1]! - rr[k - 2]!) / LORENZ_BIN_S);
    const by = Math.round((rr[k]! - rr[k - 1]!) / LORENZ_BIN_S);
    if (bx === 0 && by === 0) origin++;
    else bins.add(bx * 100_003 + by);
  }
  return [origin / points, bins.size / points];
}

function mean(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

function sd(x: Float64Array, m: number): number {
  let s = 0;
  for (const v of x) s += (v - m) ** 2;
  return Math.sqrt(s / (x.length - 1));
}

function median(x: Float64Array): number {
  const a = Float64Array.from(x).sort();
  const n = a.length;
  return n % 2 === 1 ? a[(n - 1) / 2]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
}
