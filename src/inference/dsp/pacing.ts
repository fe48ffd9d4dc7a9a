/**
 * Pacemaker-spike detection: is this ECG paced, so that its paced beats must not be read as arrhythmias
 * (to a beat classifier they look like PVCs, and runs of them like ventricular tachycardia)?
 *
 * What a spike is. A pacing pulse lasts 0.1–2 ms and measures 2–700 mV at the skin (the test pulses of
 * IEC 60601-2-27:2011 201.12.1.101.13 and ANSI/AAMI EC13 4.1.4.1). No recorder passes it unchanged: its
 * low-pass (100 Hz on MIT-BIH's analogue playback, 150 Hz or more on a diagnostic 12-lead, 40 Hz on a
 * monitoring filter) spreads it to the width of the filter's impulse response (≈ 12–14 ms at 100 Hz,
 * 4–5 samples on MIT-BIH; 1–2 samples on PTB-XL at 500 Hz) and lowers it to roughly area × 2π·fc (a 2 mV,
 * 0.1 ms pulse after a first-order 100 Hz low-pass: ≈ 0.13 mV). What survives is narrower than cardiac
 * waves, rises out of a quiet segment (the pulse comes before the activation it starts), and falls back
 * toward where it started (the charge-balancing recharge after it lasts ≥ 5 ms, so the same low-pass
 * leaves it at ≤ 1/(2π·fc·5 ms) ≈ 0.3 of the smeared spike).
 *
 * Method. Per lead and per detected beat (R peak r), candidates in [r − 350 ms, r + 40 ms] (an atrial or
 * AV-sequential spike precedes the QRS by the AV delay; a ventricular one sits at the QRS onset, where the
 * QRS detector often puts r itself) must pass:
 *  1. Narrowness: the morphological top-hat (x − opening(x) for upward deflections, closing(x) − x for
 *     downward ones) with a flat element as wide as a smeared pulse keeps narrower deflections at full
 *     height and removes wider waves (Chu & Delp, "Impulsive noise suppression and background
 *     normalization of electrocardiogram signals using morphological operators", IEEE TBME
 *     36(2):262-273, 1989). The element is 5 samples (an anti-alias low-pass near fs/3.5 spreads a pulse
 *     over about that many: MIT-BIH's 100 Hz at 360 Hz, a diagnostic 150 Hz at 500 Hz) but at most 14 ms
 *     (a 100 Hz low-pass, the narrowest band supported); below 357 Hz, where 14 ms is under 5 samples,
 *     the leads are first interpolated to 500 Hz (`resample`), which adds no information but lets the
 *     element be 14 ms where whole samples would give 12 or 16 ms. Running extremes by direct scan (the
 *     element is 5–7 samples), computed only in the beat windows below, where the top-hat is read.
 *  2. Sharpness: at least half of the deflection's height under a QRS-wide (60 ms) element lies in the
 *     narrow part. Smeared spikes in MIT-BIH score 0.7–0.9; R waves 0.2–0.3.
 *  3. Size: at least 0.15 mV (the smallest test pulse after a 100 Hz low-pass, above) and at least 8 × the
 *     median narrow top-hat of the beat's window (its noise floor).
 *  4. Quiet before: in the 36 ms before the leading edge no slope exceeds 0.4 × the edge's steepest slope,
 *     and the signal spans no more than the spike's height. Pace-pulse detectors compare the slope with a
 *     threshold taken from the slope signal of the preceding interval (US patent 5,682,902, "ECG pace
 *     pulse detection and processing", 1997); here it is relative to the lead's own signal, so it holds
 *     at any gain. It rejects the notches of intrinsic QRS complexes (S troughs, R tips), which come right
 *     after the QRS's own large, often steep, deflections.
 *  5. No swing-through: within 30 ms after the peak the signal passes its starting level, on the other
 *     side, by at most half the spike's height (rejects the r of an rS and the q of a qR complex).
 *  6. Isolation: at most 2 other narrow deflections of half its height in the window (an AV-paced beat
 *     has two spikes; a burst of muscle noise has many).
 *  7. One polarity per lead: a pacing channel has a fixed electrode vector, so its spikes keep their sign
 *     in a lead; a lead's paced beats are those with a spike of the lead's dominant polarity.
 * The lead with the most paced beats is reported. The ECG is paced when at least half of its beats (and
 * at least 3) are: "paced rhythm" names the rhythm that drives the heart, that is most beats, and the two
 * errors are not equal. A false "paced" hides every arrhythmia of the ECG; a missed pacemaker yields false
 * findings on a patient whose pacemaker is known.
 *
 * Results. Development data (the constants were set on these): MIT-BIH paced records 102, 104, 107, 217
 * are paced as whole records (95, 79, 68, 71 % of beats) and in 89 % of their 10-s windows; of 51,317
 * beats of 22 non-paced DS1 records 47 carry a spike, and no 10-s window of them, of NST 118e00/e12/e24,
 * ma or bw reaches 0.3; none of 5,543 CinC 2017 recordings is paced. Held out: no 10-s window of the 22
 * DS2 records is paced. PTB-XL (evaluation, 100 ECGs, 6 paced): the first version (14 ms element at every
 * rate, test 4 on slopes only) found 5 of 6 paced ECGs and called 13 of 94 non-paced ones paced, all on
 * sharp S troughs after tall R waves in V2–V4, III or aVF; that evaluation informed the two changes to
 * tests 1 and 4 above, after which it finds 3 of 6 and calls none of the 94 paced.
 *
 * Limitations. Below 200 Hz no claim is made (`notAssessed: 'sampling-rate-too-low'`, see MIN_FS). A
 * recorder that low-passes at 40 Hz, or removes pacing artefacts and keeps a marker channel, leaves
 * nothing to find, and one sampling far faster than its band needs (1000 Hz with a 150 Hz low-pass)
 * spreads spikes over more than 5 samples: `paced: false` means "no pacing spikes seen", never "no
 * pacemaker". Spikes that merge into an abrupt QRS onset, or are followed within 30 ms by a steep QRS
 * deflection of the other sign (test 5), are missed: PTB-XL ECGs 190, 382 and 498. Smeared spikes of
 * 0.15–0.3 mV in a lead whose QRS complexes are small and very narrow (rS of < 0.5 mV, MIT-BIH 114) are
 * at the edge of what a 100 Hz-bandwidth record separates. Continuous muscle noise of 0.1–0.2 mV RMS hides
 * 1 mV spikes (test 3). A rhythm with fewer than half its beats paced is reported as not paced, with
 * `pacedBeatFraction` and `spikes` for the caller. NaN samples are never spikes.
 */

import { resample, resampleIndex } from './resample.js';
import { selectKth } from './select.js';

/** Result of {@link detectPacing}. */
export interface PacingResult {
  /** True when at least {@link PACED_BEAT_FRACTION} of the beats, and at least {@link MIN_PACED_BEATS}, are paced. */
  readonly paced: boolean;
  /** Paced beats / beats, in the reported lead (0 when not assessed). */
  readonly pacedBeatFraction: number;
  /** Sample indices of the spikes of the paced beats, in the reported lead, ascending. */
  readonly spikes: number[];
  /** Index (in `leads`) of the lead with the clearest spikes: the most paced beats. */
  readonly lead?: string | number;
  /** Set when the detector makes no claim either way, with the reason. */
  readonly notAssessed?: 'sampling-rate-too-low' | 'too-few-beats';
}

/**
 * Lowest sampling rate assessed. Below it the recorder's anti-alias filter (under fs/2) widens a spike to
 * the width of a narrow QRS: on the 128 Hz svdb-dev records, none paced, 93 of 7,020 10-s windows would
 * be called paced (records 802 and 810).
 */
export const MIN_FS = 200;
/** Share of beats that must be paced for the ECG to be called paced. */
export const PACED_BEAT_FRACTION = 0.5;
/** Fewest paced beats for a paced ECG. */
export const MIN_PACED_BEATS = 3;

/** Width of the narrow element: NARROW_SAMPLES samples, at most NARROW_S (test 1 in the header). */
const NARROW_S = 0.014;
const NARROW_SAMPLES = 5;
/** Rate the detector works at when NARROW_S is under NARROW_SAMPLES samples. */
const WORK_FS = 500;
/** Width of the wide element (s): a QRS complex, against which narrowness is judged. */
const WIDE_S = 0.06;
/** Smallest share of a deflection's (wide-element) height that must be narrow. */
const MIN_SHARPNESS = 0.5;
/** Smallest spike height (mV): a 2 mV, 0.1 ms pulse after a first-order 100 Hz low-pass. */
const MIN_SPIKE_MV = 0.15;
/** Spike height over the beat window's median narrow top-hat. */
const MIN_SNR = 8;
/** Largest slope before the leading edge, relative to the leading edge's steepest slope. */
const MAX_PRE_SLOPE = 0.4;
/** Largest range of the signal in the quiet interval, relative to the spike height (top-hat). */
const MAX_PRE_RANGE = 1;
/** Quiet interval checked before the leading edge (s), ending one element width before the peak. */
const PRE_S = 0.05;
/** Interval after the peak (s) in which the signal may not swing through its starting level. */
const POST_S = 0.03;
/** Largest swing past the starting level, relative to the spike height. */
const MAX_OVERSHOOT = 0.5;
/** Most other narrow deflections of at least half the spike's height in the beat window. */
const MAX_RIVALS = 2;
/** Search window relative to the R peak (s). */
const BEFORE_R_S = 0.35;
const AFTER_R_S = 0.04;
/** The window starts at least this long after the previous R peak (s), past that beat's own spike. */
const AFTER_PREVIOUS_R_S = 0.1;

const NONE: PacingResult = { paced: false, pacedBeatFraction: 0, spikes: [] };

/**
 * Detect pacemaker spikes before the QRS complexes `peaks` (R-peak sample indices, ascending, e.g. from
 * `detectQrs`) in simultaneously sampled `leads` (mV) at `fs` Hz, and decide whether the ECG is paced.
 * Method and sources in this file's header.
 */
export function detectPacing(
  leads: readonly Float32Array[],
  fs: number,
  peaks: ArrayLike<number>,
): PacingResult {
  if (!(fs > 0) || !Number.isFinite(fs))
    throw new RangeError(`detectPacing: sampling rate must be positive, got ${fs}`);
  if (leads.length === 0) throw new RangeError('detectPacing: no leads');
  const n = leads[0]!.length;
  if (leads.some((l) => l.length !== n)) throw new RangeError('detectPacing: leads differ in length');
  if (fs < MIN_FS) return { ...NONE, notAssessed: 'sampling-rate-too-low' };
  const beats = Array.from(peaks)
    .filter((r) => r >= 0 && r < n)
    .sort((a, b) => a - b);
  if (beats.length < MIN_PACED_BEATS) return { ...NONE, notAssessed: 'too-few-beats' };

  // Where NARROW_SAMPLES would exceed NARROW_S, the element is NARROW_S, and a whole number of samples
  // at this rate could be 2 ms off it (12 or 16 ms at 250 Hz): work at WORK_FS, where it is exact.
  const up = NARROW_SAMPLES / fs > NARROW_S;
  const rate = up ? WORK_FS : fs;
  const x = up ? leads.map((l) => resample(l, fs, WORK_FS)) : leads;
  const m = x[0]!.length;
  const at = Int32Array.from(beats, (r) =>
    Math.min(m - 1, Math.round(up ? resampleIndex(r, fs, WORK_FS) : r)),
  );

  const p = params(rate, up ? Math.round(NARROW_S * WORK_FS) : NARROW_SAMPLES);
  const work = new Workspace(m, p);
  let best: LeadSpikes = { count: -1, spikes: [] };
  let bestLead = 0;
  for (let li = 0; li < x.length; li++) {
    const found = leadSpikes(x[li]!, at, p, work);
    if (found.count > best.count) {
      best = found;
      bestLead = li;
    }
  }
  const fraction = best.count / beats.length;
  const spikes = up
    ? best.spikes.map((i) => Math.min(n - 1, Math.round(resampleIndex(i, WORK_FS, fs))))
    : best.spikes;
  return {
    paced: fraction >= PACED_BEAT_FRACTION && best.count >= MIN_PACED_BEATS,
    pacedBeatFraction: fraction,
    spikes,
    lead: bestLead,
  };
}

/** The method's durations in samples at one sampling rate. */
interface Params {
  /** Narrow element: `narrow` samples, from `narrowLeft` before to narrow − narrowLeft − 1 after. */
  readonly narrow: number;
  readonly narrowLeft: number;
  /** Half-width of the wide element (2h + 1 samples). */
  readonly hWide: number;
  /** Leading-edge span, quiet span before it, swing-through span after the peak. */
  readonly edge: number;
  readonly pre: number;
  readonly post: number;
  readonly before: number;
  readonly after: number;
  readonly afterPrevious: number;
}

function params(fs: number, narrow: number): Params {
  return {
    narrow,
    narrowLeft: (narrow - 1) >> 1,
    hWide: Math.round((WIDE_S * fs - 1) / 2),
    edge: narrow,
    pre: Math.round(PRE_S * fs),
    post: Math.round(POST_S * fs),
    before: Math.round(BEFORE_R_S * fs),
    after: Math.round(AFTER_R_S * fs),
    afterPrevious: Math.round(AFTER_PREVIOUS_R_S * fs),
  };
}

/** Buffers reused across leads, so the per-sample loops never allocate. */
class Workspace {
  /** Signed narrow top-hat: positive where x − opening wins, negative where closing − x wins. */
  readonly narrow: Float32Array;
  readonly a: Float32Array;
  readonly b: Float32Array;
  /** Erosion or dilation, before the second pass (the direct scan cannot work in place). */
  readonly t: Float32Array;
  readonly window: Float32Array;
  constructor(n: number, p: Params) {
    this.narrow = new Float32Array(n);
    this.a = new Float32Array(n);
    this.b = new Float32Array(n);
    this.t = new Float32Array(n);
    this.window = new Float32Array(p.before + p.after + 1);
  }
}

interface LeadSpikes {
  /** Beats with a spike of the lead's dominant polarity. */
  readonly count: number;
  readonly spikes: number[];
}

/** Spikes of one lead: per beat the best candidate of each polarity, then the dominant polarity's. */
function leadSpikes(x: Float32Array, beats: Int32Array, p: Params, w: Workspace): LeadSpikes {
  const n = x.length;
  const first = p.pre + 1;
  const windowOf = (k: number): [number, number] => {
    const r = beats[k]!;
    let lo = Math.max(first, r - p.before);
    if (k > 0) lo = Math.max(lo, beats[k - 1]! + p.afterPrevious);
    return [lo, Math.min(n - 2, r + p.after)];
  };
  // The narrow top-hat is read only in the beat windows (and one sample either side): it is computed on
  // those stretches alone, widened by the element's width, within which opening and closing are exact
  // (each depends on x within narrow − 1 samples). At ordinary rates that is about half the record.
  const margin = p.narrow;
  let segStart = -1;
  let segEnd = -1;
  const flush = () => {
    if (segStart < 0) return;
    const a = Math.max(0, segStart - margin);
    const b = Math.min(n, segEnd + 1 + margin);
    narrowTopHat(x, a, b, p, w);
  };
  for (let k = 0; k < beats.length; k++) {
    const [lo, hi] = windowOf(k);
    if (hi - lo < 2) continue;
    if (segStart >= 0 && lo - 1 <= segEnd + 2 * margin) segEnd = Math.max(segEnd, hi + 1);
    else {
      flush();
      segStart = lo - 1;
      segEnd = hi + 1;
    }
  }
  flush();

  const pos: number[] = [];
  const neg: number[] = [];
  for (let k = 0; k < beats.length; k++) {
    const [lo, hi] = windowOf(k);
    if (hi - lo < 2) continue;
    let m = 0;
    for (let i = lo; i <= hi; i++) w.window[m++] = Math.abs(w.narrow[i]!);
    const floor = MIN_SNR * quickMedian(w.window, m);
    const up = bestSpike(x, w, p, lo, hi, 1, floor);
    if (up >= 0) pos.push(up);
    const down = bestSpike(x, w, p, lo, hi, -1, floor);
    if (down >= 0) neg.push(down);
  }
  return pos.length >= neg.length ? { count: pos.length, spikes: pos } : { count: neg.length, spikes: neg };
}

/** The signed narrow top-hat of x[a..b) into w.narrow[a..b). */
function narrowTopHat(x: Float32Array, a: number, b: number, p: Params, w: Workspace): void {
  const { a: pos, b: neg, narrow } = w;
  topHats(x, a, b, p.narrowLeft, p.narrow - 1 - p.narrowLeft, w, pos, neg);
  for (let i = a; i < b; i++) narrow[i] = neg[i]! > pos[i]! ? -neg[i]! : pos[i]!;
}

/** The tallest candidate of one polarity in [lo, hi] that passes tests 1–6, or −1. */
function bestSpike(
  x: Float32Array,
  w: Workspace,
  p: Params,
  lo: number,
  hi: number,
  sign: number,
  floor: number,
): number {
  const th = w.narrow;
  let best = -1;
  let bestHeight = 0;
  for (let i = lo; i <= hi; i++) {
    const v = sign * th[i]!;
    if (v <= bestHeight || v < MIN_SPIKE_MV || v < floor) continue;
    if (v < sign * th[i - 1]! || v < sign * th[i + 1]!) continue; // not a local extremum
    if (!quietBefore(x, i, p, v) || swingsThrough(x, i, p, sign)) continue;
    if (v < MIN_SHARPNESS * topHatAt(x, i, p.hWide, sign)) continue;
    if (rivals(th, lo, hi, i, v, p.narrowLeft) > MAX_RIVALS) continue;
    best = i;
    bestHeight = v;
  }
  return best;
}

/** Test 4: before the leading edge no slope is steep beside the edge's, and no wave as tall as the spike. */
function quietBefore(x: Float32Array, i: number, p: Params, height: number): boolean {
  let edge = 0;
  for (let j = i - p.edge + 1; j <= i; j++) edge = Math.max(edge, Math.abs(x[j]! - x[j - 1]!));
  let before = 0;
  let lo = x[i - p.pre]!;
  let hi = lo;
  for (let j = i - p.pre + 1; j <= i - p.edge; j++) {
    before = Math.max(before, Math.abs(x[j]! - x[j - 1]!));
    lo = Math.min(lo, x[j]!);
    hi = Math.max(hi, x[j]!);
  }
  return before <= MAX_PRE_SLOPE * edge && hi - lo <= MAX_PRE_RANGE * height;
}

/** Test 5: within POST_S after the peak the signal passes its starting level by > MAX_OVERSHOOT × height. */
function swingsThrough(x: Float32Array, i: number, p: Params, sign: number): boolean {
  const start = x[i - p.edge]!;
  const height = sign * (x[i]! - start);
  const end = Math.min(x.length - 1, i + p.post);
  for (let j = i + 1; j <= end; j++) if (-sign * (x[j]! - start) > MAX_OVERSHOOT * height) return true;
  return false;
}

/** Test 6: local extrema of |top-hat| in [lo, hi], away from `at`, of at least half its height. */
function rivals(th: Float32Array, lo: number, hi: number, at: number, height: number, h: number): number {
  let count = 0;
  for (let i = lo; i <= hi; i++) {
    if (Math.abs(i - at) <= h) continue;
    const v = Math.abs(th[i]!);
    if (v >= 0.5 * height && v >= Math.abs(th[i - 1]!) && v > Math.abs(th[i + 1]!)) count++;
  }
  return count;
}

/**
 * Test 2's wide top-hat at one sample, sign·(x[i] − opening(x)[i]) for sign 1 (closing for −1), from the
 * 4h + 1 samples around i: only the few candidates that pass the cheaper tests need it.
 */
function topHatAt(x: Float32Array, i: number, h: number, sign: number): number {
  const n = x.length;
  let open = -Infinity; // of sign·x: max over j in [i − h, i + h] of min over [j − h, j + h]
  for (let j = Math.max(0, i - h); j <= Math.min(n - 1, i + h); j++) {
    let erosion = Infinity;
    for (let k = Math.max(0, j - h); k <= Math.min(n - 1, j + h); k++) {
      const v = sign * x[k]!;
      if (v < erosion) erosion = v;
    }
    if (erosion > open) open = erosion;
  }
  return sign * x[i]! - open;
}

/**
 * x − opening(x) into `pos` and closing(x) − x into `neg` on [a, b) (the signal clipped there), flat
 * element B = [−left, right] samples: erosion is the min over [i − left, i + right], dilation the max over
 * the reflected [i − right, i + left].
 */
function topHats(
  x: Float32Array,
  a: number,
  b: number,
  left: number,
  right: number,
  w: Workspace,
  pos: Float32Array,
  neg: Float32Array,
): void {
  runningExtreme(x, a, b, left, right, false, w.t); // erosion
  runningExtreme(w.t, a, b, right, left, true, pos); // opening
  for (let i = a; i < b; i++) pos[i] = x[i]! - pos[i]!;
  runningExtreme(x, a, b, right, left, true, w.t); // dilation
  runningExtreme(w.t, a, b, left, right, false, neg); // closing
  for (let i = a; i < b; i++) neg[i] = neg[i]! - x[i]!;
}

/**
 * Running min (or max) of x over the window [i − left, i + right] clipped to [a, b), for i in [a, b), into
 * out[i], by direct scan: the element is 5–7 samples, where w − 1 comparisons per sample cost less than
 * the block bookkeeping of van Herk's O(n) algorithm (Pattern Recognition Letters 13(7):517-521, 1992),
 * which pays off only for wide elements. Computed as a running min of `sign`·x, so one loop serves both.
 * Not in place: out must not be x.
 */
function runningExtreme(
  x: Float32Array,
  a: number,
  b: number,
  left: number,
  right: number,
  max: boolean,
  out: Float32Array,
): void {
  const sign = max ? -1 : 1;
  for (let i = a; i < b; i++) {
    const lo = i - left > a ? i - left : a;
    const hi = i + right < b - 1 ? i + right : b - 1;
    let m = sign * x[lo]!;
    for (let j = lo + 1; j <= hi; j++) {
      const v = sign * x[j]!;
      if (v < m) m = v;
    }
    out[i] = sign * m;
  }
}

/** Median of buf[0..m) by quickselect; reorders buf. */
function quickMedian(buf: Float32Array, m: number): number {
  return selectKth(buf, 0, m - 1, m >> 1);
}
