/**
 * Signal-quality index per segment: marks stretches where no lead can be read.
 *
 * Per lead and segment, three statistical checks (after Li, Clifford & Mark, "Robust heart rate estimation
 * from multiple asynchronous noisy sources using signal quality indices and a Kalman filter",
 * Physiol. Meas. 29:15-32, 2008, and Clifford et al., "Signal quality indices and data fusion for
 * determining clinical acceptability of electrocardiograms", Physiol. Meas. 33:1419-1433, 2012):
 *  - flat line: peak-to-peak amplitude below 0.05 mV (lead off, disconnected);
 *  - invalid samples: more than 10 % of the segment marked invalid (saturation, E/L/U tokens);
 *  - noise floor: the level of the QRS feature signal between beats, in units of the lead's typical QRS
 *    peak (see qrs-feature.ts). Clean ECG sits near 0; noise that rivals the QRS lifts it.
 * A lead's index is 1 / (1 + (floor / NOISE_REF)^2), 0 when flat or invalid; the segment's index is the
 * best lead's, and the segment is unreadable below {@link UNREADABLE_BELOW}.
 *
 * "Between beats" is taken literally (issue #9: clean tachycardias were called noise). The feature is
 * measured only outside each detected QRS, the way Hamilton & Tompkins estimate the noise level from the
 * feature's non-QRS peaks ("Quantitative investigation of QRS detection rules using the MIT/BIH
 * arrhythmia database", IEEE TBME 33(12):1157-1165, 1986), so the index does not depend on how much of
 * the record QRS complexes fill — an arrhythmia must not read as noise (Behar, Oster, Li & Clifford, "ECG
 * signal quality during arrhythmia and its application to false alarm reduction", IEEE TBME
 * 60(6):1660-1666, 2013). Before, the floor was the median of all 100 ms block maxima: QRS complexes
 * (spread to ~250 ms by the 150 ms integration window) touch half the blocks at ~120 bpm, so the median
 * rose to the QRS level in clean sinus tachycardia. The T wave needs no window of its own: its slopes are
 * small in the 5–15 Hz derivative feature (a few % of the QRS peak on MIT-BIH and svdb). Above ~200 bpm
 * the spread QRS fills nearly the whole cycle and the detector starts missing beats, so the floor rises
 * again (svdb-dev 848: 5 of 360 segments, in a 200-240 bpm run).
 */
import { butterBandpass, sosfiltfilt } from './iir.js';
import { detectQrs } from './qrs.js';
import { BLOCK_S, leadFeature, NOISE_REF, noiseFloor } from './qrs-feature.js';

/**
 * How the noise floor is measured: 'between-beats' (default), the feature between detected QRS complexes
 * (Hamilton & Tompkins 1986, above); 'all-blocks', the median of all 100 ms block maxima (the running
 * noise floor of qrs-feature.ts), which reads clean tachycardia as noise. 'all-blocks' is kept only for
 * inputs frozen under it: the rhythm model's `unreadable_fraction` feature (rhythm-input.ts, contract v1).
 */
export type NoiseFloorMethod = 'between-beats' | 'all-blocks';

export interface QualitySegment {
  /** First sample of the segment. */
  readonly start: number;
  /** One past the last sample. */
  readonly end: number;
  /** 0 (unreadable) … 1 (clean): the best lead's index. */
  readonly sqi: number;
  /** Per-lead index, in lead order. */
  readonly leadSqi: readonly number[];
  readonly readable: boolean;
  /** Why the best lead is poor, when it is: 'flat', 'invalid', 'noise'. */
  readonly reason?: 'flat' | 'invalid' | 'noise';
}

export interface QualityOptions {
  /** Segment length in seconds (default 5). */
  readonly segmentSeconds?: number;
  /** The leads' QRS feature signals from {@link detectQrsDetailed}, to avoid computing them twice. */
  readonly leadFeatures?: readonly Float32Array[] | undefined;
  /** R peaks detected in these leads ({@link detectQrsDetailed}); detected here when absent. */
  readonly peaks?: Int32Array | undefined;
  /** Per-lead invalid-sample masks, aligned with the leads. */
  readonly invalid?: readonly (Uint8Array | undefined)[];
  /** Noise-floor method (default 'between-beats'). */
  readonly floor?: NoiseFloorMethod;
}

/** Index below which a segment is considered unreadable (noise floor ≈ 2 × NOISE_REF, weight 0.2). */
export const UNREADABLE_BELOW = 0.2;
const FLAT_MV = 0.05;
const MAX_INVALID_FRACTION = 0.1;
// The feature of a QRS spreads half a QRS (~50 ms) plus half the 150 ms integration window around the R
// peak: the median feature around beats of svdb-dev and MIT-BIH DS1 records falls to about 0.1 of its
// peak 120 ms before and 120-160 ms after the R peak.
const QRS_BEFORE_S = 0.12;
const QRS_AFTER_S = 0.16;
// …but never more than 40 % of an RR interval from either end, so its middle fifth is always measured
// (50 ms at 240 bpm). A third left svdb-dev 848's clean 216 bpm SVT unreadable; 0.4 and 0.45 did not.
const MAX_EXCLUDED_OF_RR = 0.4;
// The floor is this quantile of the between-beat block maxima: where QRS complexes fill about a third of
// the blocks (~75 bpm), the old median of all blocks is the 0.5 / (2/3) = 0.75-0.8 quantile of the rest, so
// NOISE_REF and UNREADABLE_BELOW keep their meaning. Checked on nstdb 118 (76 bpm): in its noisy 5-s
// segments the 0.8 quantile is 0.96 × (0 dB) and 0.88 × (12 dB) the old floor (median ratios), and 118e00
// keeps 56 of 181 10-s segments flagged (59 before; 0.75: 51, 0.85: 64, the median: 9).
const FLOOR_QUANTILE = 0.8;
// Blocks within this margin around a segment also count (the old floor was a 2.5-s running median).
const CONTEXT_S = 1.25;

/** Signal quality of each segment of simultaneously sampled leads (samples in mV). */
export function signalQuality(
  leads: readonly Float32Array[],
  fs: number,
  opts: QualityOptions = {},
): QualitySegment[] {
  if (!(fs > 0)) throw new RangeError(`signalQuality: sampling rate must be positive, got ${fs}`);
  if (leads.length === 0) return [];
  const n = leads[0]!.length;
  const segLen = Math.max(1, Math.round((opts.segmentSeconds ?? 5) * fs));
  const block = Math.max(1, Math.round(BLOCK_S * fs));
  const sos = () => butterBandpass(2, 5, Math.min(15, fs * 0.45), fs);
  const features =
    opts.leadFeatures?.length === leads.length
      ? opts.leadFeatures
      : ((band) => leads.map((l) => leadFeature(sosfiltfilt(band, l), fs)))(sos());
  const floors = features.map(
    opts.floor === 'all-blocks' ? allBlocksFloor(block, n) : betweenBeatsFloor(leads, fs, block, opts.peaks),
  );
  const out: QualitySegment[] = [];
  for (let start = 0; start < n; start += segLen) {
    const end = Math.min(n, start + segLen);
    const per = leads.map((lead, li) => leadIndex(lead, opts.invalid?.[li], floors[li]!, start, end));
    let best = 0;
    for (let i = 1; i < per.length; i++) if (per[i]!.sqi > per[best]!.sqi) best = i;
    const b = per[best]!;
    out.push({
      start,
      end,
      sqi: b.sqi,
      leadSqi: per.map((p) => p.sqi),
      readable: b.sqi >= UNREADABLE_BELOW,
      ...(b.reason ? { reason: b.reason } : {}),
    });
  }
  return out;
}

type Floor = (start: number, end: number) => number;

/**
 * Per lead: the {@link FLOOR_QUANTILE} of the between-beat block maxima in and around a segment (0 where
 * there is none, e.g. a record shorter than a beat).
 */
function betweenBeatsFloor(
  leads: readonly Float32Array[],
  fs: number,
  block: number,
  given: Int32Array | undefined,
): (f: Float32Array) => Floor {
  const n = leads[0]!.length;
  // The QRS detector needs 50 Hz and a second of signal; without beats every block counts.
  const peaks = given ?? (fs >= 50 && n >= fs ? detectQrs(leads, fs) : new Int32Array(0));
  const context = Math.round(CONTEXT_S * fs);
  return (f) => {
    const { at, max } = betweenBeatBlocks(f, peaks, fs, block);
    return (start, end) => {
      const fl = Array.from(max.subarray(lowerBound(at, start - context), lowerBound(at, end + context)));
      fl.sort((a, b) => a - b);
      return fl[Math.min(fl.length - 1, Math.floor(FLOOR_QUANTILE * fl.length))] ?? 0;
    };
  };
}

/** Per lead: the median over a segment of the running noise floor of all blocks (qrs-feature.ts). */
function allBlocksFloor(block: number, n: number): (f: Float32Array) => Floor {
  const nb = Math.ceil(n / block);
  return (f) => {
    const floor = noiseFloor(f, block, nb);
    return (start, end) => {
      const b0 = Math.floor(start / block);
      const fl = Array.from(floor.subarray(b0, Math.max(b0 + 1, Math.ceil(end / block))));
      fl.sort((a, b) => a - b);
      return fl[fl.length >> 1] ?? 0;
    };
  };
}

/** Maxima of the feature over blocks between QRS complexes, in time order. */
interface Blocks {
  /** Centre sample of each block, ascending. */
  readonly at: Float64Array;
  readonly max: Float32Array;
}

/**
 * Split each stretch between QRS complexes (R − {@link QRS_BEFORE_S} … previous R + {@link QRS_AFTER_S},
 * each side at most {@link MAX_EXCLUDED_OF_RR} of the RR interval) into equal blocks of at most `block`
 * samples, so a short diastole still gives one, and take each block's feature maximum.
 */
function betweenBeatBlocks(f: Float32Array, rPeaks: Int32Array, fs: number, block: number): Blocks {
  const n = f.length;
  const peaks = Int32Array.from(rPeaks).sort();
  const before = QRS_BEFORE_S * fs;
  const after = QRS_AFTER_S * fs;
  const at: number[] = [];
  const max: number[] = [];
  const stretch = (from: number, to: number) => {
    const s = Math.max(0, Math.ceil(from));
    const len = Math.min(n, Math.floor(to)) - s;
    if (len < 1) return;
    const k = Math.ceil(len / block);
    for (let j = 0; j < k; j++) {
      const b0 = s + Math.floor((j * len) / k);
      const b1 = s + Math.floor(((j + 1) * len) / k);
      let m = 0;
      for (let i = b0; i < b1; i++) if (f[i]! > m) m = f[i]!;
      at.push((b0 + b1) / 2);
      max.push(m);
    }
  };
  if (peaks.length === 0) stretch(0, n);
  else {
    stretch(0, peaks[0]! - before);
    for (let i = 0; i + 1 < peaks.length; i++) {
      const rr = peaks[i + 1]! - peaks[i]!;
      const cap = MAX_EXCLUDED_OF_RR * rr;
      stretch(peaks[i]! + Math.min(after, cap), peaks[i + 1]! - Math.min(before, cap));
    }
    stretch(peaks[peaks.length - 1]! + after, n);
  }
  return { at: Float64Array.from(at), max: Float32Array.from(max) };
}

function leadIndex(
  x: Float32Array,
  invalid: Uint8Array | undefined,
  floor: Floor,
  start: number,
  end: number,
): { sqi: number; reason?: 'flat' | 'invalid' | 'noise' } {
  let lo = Infinity;
  let hi = -Infinity;
  let bad = 0;
  for (let i = start; i < end; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (invalid?.[i]) bad++;
  }
  if (bad > MAX_INVALID_FRACTION * (end - start)) return { sqi: 0, reason: 'invalid' };
  if (!(hi - lo >= FLAT_MV)) return { sqi: 0, reason: 'flat' };
  const r = floor(start, end) / NOISE_REF;
  const sqi = 1 / (1 + r * r);
  return sqi < UNREADABLE_BELOW ? { sqi, reason: 'noise' } : { sqi };
}

/** First index in ascending a whose value is ≥ v. */
function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
