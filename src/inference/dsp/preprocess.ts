/**
 * ECG preprocessing: baseline-wander removal, mains notch, band-pass, and the default cleaning chain.
 *
 * Pure functions over Float32Array samples in mV with the sampling rate always explicit; each returns a
 * new array. Linear filters are zero-phase (forward-backward, see iir.ts), so fiducial points such as the
 * R peak stay where they were.
 */
import {
  type Biquad,
  butterBandpass,
  butterHighpass,
  butterLowpass,
  notch,
  type Sos,
  sosfiltfilt,
} from './iir.js';

/**
 * Baseline-wander removal methods.
 *  - `median`: subtract the baseline found by a 200 ms median filter (removes QRS and P waves) followed by
 *    a 600 ms median filter (removes T waves). de Chazal, O'Dwyer & Reilly, IEEE TBME 51(7):1196-1206,
 *    2004. Non-linear: leaves ST segments and wave amplitudes untouched on a level baseline; on steep wander
 *    (0.6 mV/s) a trend across the window biases the median, and T waves lose up to 0.1 mV.
 *  - `highpass`: zero-phase Butterworth high-pass at 0.5 Hz (order 2, effective 4 after forward-backward).
 *    Linear zero-phase filters may use a low-frequency cut-off up to 0.67 Hz without distorting the ST
 *    segment (Kligfield et al., AHA/ACCF/HRS recommendations, Circulation 115:1306-1324, 2007); 0.5 Hz
 *    is NeuroKit2's default (Makowski et al., Behav Res Methods 53:1689-1696, 2021).
 */
export type BaselineMethod = 'median' | 'highpass';

/** Median window lengths (s), de Chazal et al. 2004. */
const MEDIAN_QRS_S = 0.2;
const MEDIAN_T_S = 0.6;
/** High-pass cut-off (Hz) and order of the `highpass` baseline method. */
const BASELINE_HP_HZ = 0.5;
const BASELINE_HP_ORDER = 2;
/**
 * Notch quality factor: −3 dB width f0/Q = 2 Hz at 60 Hz, wide enough for the few tenths of a hertz that
 * grid frequency drifts, narrow enough to leave the QRS spectrum (mostly below 40 Hz) alone.
 */
const NOTCH_Q = 30;
/** Default low-pass of {@link cleanEcg} (Hz): monitoring-grade upper bandwidth (Kligfield et al. 2007). */
const CLEAN_LOWPASS_HZ = 40;
const CLEAN_LOWPASS_ORDER = 2;

function checkFs(fs: number, what: string): void {
  if (!(fs > 0) || !Number.isFinite(fs)) {
    throw new RangeError(`${what}: sampling rate must be a positive finite number, got ${fs}`);
  }
}

function checkCutoff(f: number, fs: number, what: string, name: string): void {
  if (!(f > 0) || !(f < fs / 2)) {
    throw new RangeError(
      `${what}: ${name} ${f} Hz must lie in (0, ${fs / 2}) Hz, below Nyquist at fs = ${fs} Hz`,
    );
  }
}

function checkOrder(order: number, what: string): void {
  if (!Number.isInteger(order) || order < 1) {
    throw new RangeError(`${what}: filter order must be a positive integer, got ${order}`);
  }
}

/** Remove baseline wander; `median` (default, de Chazal 2004) or `highpass` (0.5 Hz, zero phase). */
export function removeBaseline(x: Float32Array, fs: number, method: BaselineMethod = 'median'): Float32Array {
  checkFs(fs, 'removeBaseline');
  switch (method) {
    case 'median': {
      const baseline = medianFilter(medianFilter(x, oddWindow(MEDIAN_QRS_S, fs)), oddWindow(MEDIAN_T_S, fs));
      const y = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = x[i]! - baseline[i]!;
      return y;
    }
    case 'highpass':
      checkCutoff(BASELINE_HP_HZ, fs, 'removeBaseline', 'high-pass cut-off');
      return filtfilt(butterHighpass(BASELINE_HP_ORDER, BASELINE_HP_HZ, fs), x);
    default:
      throw new RangeError(`removeBaseline: unknown method ${String(method satisfies never)}`);
  }
}

/**
 * Zero-phase RBJ notches at the mains frequency and its multiples up to `harmonics` (1 = fundamental
 * only; default every multiple below Nyquist). Harmonics at or above Nyquist are skipped.
 */
export function removePowerline(
  x: Float32Array,
  fs: number,
  mainsHz: 50 | 60,
  harmonics = Infinity,
): Float32Array {
  checkFs(fs, 'removePowerline');
  if (mainsHz !== 50 && mainsHz !== 60) {
    throw new RangeError(`removePowerline: mains frequency must be 50 or 60 Hz, got ${mainsHz}`);
  }
  checkCutoff(mainsHz, fs, 'removePowerline', 'mains frequency');
  if (!(harmonics >= 1) || (harmonics !== Infinity && !Number.isInteger(harmonics))) {
    throw new RangeError(
      `removePowerline: harmonics must be a positive integer or Infinity, got ${harmonics}`,
    );
  }
  const sos: Biquad[] = [];
  for (let k = 1; k <= harmonics && k * mainsHz < fs / 2; k++) sos.push(...notch(k * mainsHz, NOTCH_Q, fs));
  return filtfilt(sos, x);
}

/** Zero-phase Butterworth band-pass (order per edge, rounded up to even; effective order doubles). */
export function bandpass(
  x: Float32Array,
  fs: number,
  lowHz: number,
  highHz: number,
  order = 2,
): Float32Array {
  checkFs(fs, 'bandpass');
  checkCutoff(lowHz, fs, 'bandpass', 'low cut-off');
  checkCutoff(highHz, fs, 'bandpass', 'high cut-off');
  checkOrder(order, 'bandpass');
  if (!(lowHz < highHz))
    throw new RangeError(`bandpass: low cut-off ${lowHz} Hz must be below high ${highHz} Hz`);
  return filtfilt(butterBandpass(order, lowHz, highHz, fs), x);
}

/** Options of {@link cleanEcg}. */
export interface CleanOptions {
  /** Baseline-wander removal (default `median`). */
  readonly baseline?: BaselineMethod;
  /** Notch the mains and its harmonics; omitted: no notch (the 40 Hz low-pass alone takes 60 Hz down ~17 dB). */
  readonly mainsHz?: 50 | 60;
  /** Upper band edge in Hz (default 40). */
  readonly lowpassHz?: number;
}

/**
 * The analysis engine's default cleaning chain: baseline removal, optional mains notch, then a zero-phase
 * order-2 Butterworth low-pass at 40 Hz (monitoring bandwidth, Kligfield et al. 2007). With the
 * `highpass` baseline the high- and low-pass run as one 0.5–40 Hz band-pass.
 */
export function cleanEcg(x: Float32Array, fs: number, opts: CleanOptions = {}): Float32Array {
  checkFs(fs, 'cleanEcg');
  const { baseline = 'median', mainsHz, lowpassHz = CLEAN_LOWPASS_HZ } = opts;
  checkCutoff(lowpassHz, fs, 'cleanEcg', 'low-pass cut-off');
  const notched = (y: Float32Array): Float32Array =>
    mainsHz === undefined ? y : removePowerline(y, fs, mainsHz);
  if (baseline === 'highpass')
    return notched(bandpass(x, fs, BASELINE_HP_HZ, lowpassHz, CLEAN_LOWPASS_ORDER));
  return filtfilt(
    butterLowpass(CLEAN_LOWPASS_ORDER, lowpassHz, fs),
    notched(removeBaseline(x, fs, baseline)),
  );
}

function filtfilt(sos: Sos, x: Float32Array): Float32Array {
  return sos.length === 0 ? Float32Array.from(x) : sosfiltfilt(sos, x);
}

/** Odd window length closest to `seconds` at `fs`, at least 1 sample. */
function oddWindow(seconds: number, fs: number): number {
  return 2 * Math.round((seconds * fs) / 2) + 1;
}

/**
 * Running median over an odd window `w`, centred, with the signal mirrored at both ends
 * (scipy.ndimage `mode='reflect'`, d c b a | a b c d | d c b a). Input must be free of NaN.
 *
 * Double heap (Härdle & Steiger, "Optimal median smoothing", Appl. Stat. 44(2):258-264, 1995): a max-heap
 * `lo` holds the lower (w+1)/2 window values, a min-heap `hi` the upper (w−1)/2, so the median is lo's top.
 * The window is a ring of w slots; each step overwrites the oldest slot's value in place and restores the
 * heaps in O(log w), with no allocation per sample. Values live in the heaps (no indirection), and each
 * heap ends in a sentinel (−∞ in lo, +∞ in hi) so the larger/smaller child is picked without a branch:
 * on noisy ECG that branch is a coin flip, and removing it made the filter 30 % faster.
 */
export function medianFilter(x: Float32Array, w: number): Float32Array {
  if (!Number.isInteger(w) || w < 1 || w % 2 === 0) {
    throw new RangeError(`medianFilter: window must be a positive odd integer, got ${w}`);
  }
  const n = x.length;
  const y = new Float32Array(n);
  if (n === 0) return y;
  const h = (w - 1) / 2;
  const heaps: Heaps = {
    loV: new Float64Array(h + 2).fill(-Infinity),
    loS: new Int32Array(h + 2),
    hiV: new Float64Array(h + 1).fill(Infinity),
    hiS: new Int32Array(h + 1),
    where: new Int32Array(w),
  };
  const { loV, loS, hiV, hiS, where } = heaps;
  // Slot s holds virtual index s − h at start; heaps built from the sorted values are valid heaps.
  const init = new Float64Array(w);
  for (let s = 0; s < w; s++) init[s] = reflected(x, s - h);
  const sorted = Array.from({ length: w }, (_, s) => s).sort((a, b) => init[a]! - init[b]!);
  for (let i = 0; i <= h; i++) setLo(heaps, h - i, init[sorted[i]!]!, sorted[i]!);
  for (let i = 0; i < h; i++) setHi(heaps, i, init[sorted[h + 1 + i]!]!, sorted[h + 1 + i]!);

  let slot = 0; // ring slot of virtual index i − h, the value leaving the window
  for (let i = 0; i < n; i++) {
    y[i] = loV[0]!;
    const k = i + h + 1;
    const v = k < n ? x[k]! : reflected(x, k);
    const pos = where[slot]!;
    if (pos >= 0) {
      if (v > hiV[0]!) {
        // v belongs to the upper half: hi's minimum moves down into the vacated place, v takes hi's root.
        setLo(heaps, pos, hiV[0]!, hiS[0]!);
        setHi(heaps, 0, v, slot);
        siftLo(heaps, pos);
        siftHi(heaps, 0);
      } else {
        loV[pos] = v;
        siftLo(heaps, pos);
      }
    } else {
      const q = -1 - pos;
      if (v < loV[0]!) {
        setHi(heaps, q, loV[0]!, loS[0]!);
        setLo(heaps, 0, v, slot);
        siftHi(heaps, q);
        siftLo(heaps, 0);
      } else {
        hiV[q] = v;
        siftHi(heaps, q);
      }
    }
    if (++slot === w) slot = 0;
  }
  return y;
}

/** Heap values and ring slots, and each slot's place: i in lo, or −1 − i in hi. */
interface Heaps {
  readonly loV: Float64Array;
  readonly loS: Int32Array;
  readonly hiV: Float64Array;
  readonly hiS: Int32Array;
  readonly where: Int32Array;
}

function setLo(hp: Heaps, i: number, v: number, slot: number): void {
  hp.loV[i] = v;
  hp.loS[i] = slot;
  hp.where[slot] = i;
}

function setHi(hp: Heaps, i: number, v: number, slot: number): void {
  hp.hiV[i] = v;
  hp.hiS[i] = slot;
  hp.where[slot] = -1 - i;
}

/** x at index k with half-sample mirroring at both ends (any k, even for windows longer than x). */
function reflected(x: Float32Array, k: number): number {
  const n = x.length;
  const period = 2 * n;
  const m = ((k % period) + period) % period;
  return x[m < n ? m : period - 1 - m]!;
}

/** Move lo[start] up or down the max-heap to its place. */
function siftLo({ loV, loS, where }: Heaps, start: number): void {
  const size = loV.length - 1; // last entry is the −∞ sentinel
  const v = loV[start]!;
  const slot = loS[start]!;
  let i = start;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pv = loV[p]!;
    if (pv >= v) break;
    const ps = loS[p]!;
    loV[i] = pv;
    loS[i] = ps;
    where[ps] = i;
    i = p;
  }
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    c += +(loV[c + 1]! > loV[c]!);
    const cv = loV[c]!;
    if (cv <= v) break;
    const cs = loS[c]!;
    loV[i] = cv;
    loS[i] = cs;
    where[cs] = i;
    i = c;
  }
  loV[i] = v;
  loS[i] = slot;
  where[slot] = i;
}

/** Move hi[start] up or down the min-heap to its place. */
function siftHi({ hiV, hiS, where }: Heaps, start: number): void {
  const size = hiV.length - 1; // last entry is the +∞ sentinel
  const v = hiV[start]!;
  const slot = hiS[start]!;
  let i = start;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pv = hiV[p]!;
    if (pv <= v) break;
    const ps = hiS[p]!;
    hiV[i] = pv;
    hiS[i] = ps;
    where[ps] = -1 - i;
    i = p;
  }
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    c += +(hiV[c + 1]! < hiV[c]!);
    const cv = hiV[c]!;
    if (cv >= v) break;
    const cs = hiS[c]!;
    hiV[i] = cv;
    hiS[i] = cs;
    where[cs] = -1 - i;
    i = c;
  }
  hiV[i] = v;
  hiS[i] = slot;
  where[slot] = -1 - i;
}
