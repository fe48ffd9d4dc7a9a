/**
 * QRS detection for any sampling rate and any number of leads.
 *
 * Algorithm ('pan-tompkins-hamilton'): the Pan–Tompkins feature signal (band-pass, five-point derivative,
 * squaring, 150 ms moving-window integration; Pan & Tompkins, IEEE TBME 32(3):230-236, 1985) with the
 * decision rules of Hamilton's open-source detector (median-based peak levels, threshold coefficient,
 * search-back, T-wave rejection by slope; Hamilton, "Open Source ECG Analysis", Computers in Cardiology
 * 29:101-104, 2002). Several leads are fused as a weighted mean of their feature signals, each scaled by
 * its own typical QRS energy and weighted down where its local noise floor rises (qrs-feature.ts), so a
 * lead that is noisy for a while does not add false beats. The R peak is then placed at the largest
 * absolute deflection of the band-passed primary (first) lead near the feature peak.
 */
import { butterBandpass, sosfiltfilt } from './iir.js';
import { fuse, leadFeature } from './qrs-feature.js';

export interface QrsOptions {
  /** Band-pass edges of the QRS emphasis filter in Hz (default 5–15, Pan–Tompkins). */
  readonly band?: readonly [number, number];
}

/** Detection result: R-peak sample indices at the input rate, and the fused feature signal. */
export interface QrsDetection {
  readonly peaks: Int32Array;
  /** Per-peak detection strength relative to the running QRS level (≈ 1 for a typical beat). */
  readonly strength: Float32Array;
  /** Each lead's scaled QRS feature signal (reusable by the signal-quality index); absent for short input. */
  readonly leadFeatures?: readonly Float32Array[];
}

const REFRACTORY_S = 0.2;
const T_WAVE_WINDOW_S = 0.36;
const SEARCHBACK_RR_FACTOR = 1.66;
const THRESHOLD_COEFF = 0.3125;
const HISTORY = 8;

/** Detect R peaks (sample indices) in one or more simultaneously sampled leads; put the primary lead first. */
export function detectQrs(leads: readonly Float32Array[], fs: number, opts: QrsOptions = {}): Int32Array {
  return detectQrsDetailed(leads, fs, opts).peaks;
}

/** As {@link detectQrs}, with per-beat strength. */
export function detectQrsDetailed(
  leads: readonly Float32Array[],
  fs: number,
  opts: QrsOptions = {},
): QrsDetection {
  if (!(fs >= 50)) throw new RangeError(`detectQrs: sampling rate ${fs} Hz is below the 50 Hz minimum`);
  if (leads.length === 0) throw new RangeError('detectQrs: no leads');
  const n = leads[0]!.length;
  if (leads.some((l) => l.length !== n)) throw new RangeError('detectQrs: leads differ in length');
  if (n < fs) return { peaks: new Int32Array(0), strength: new Float32Array(0) };
  const [lo, hi] = opts.band ?? [5, 15];
  const sos = butterBandpass(2, lo, Math.min(hi, fs * 0.45), fs);
  const filtered = leads.map((l) => sosfiltfilt(sos, l));
  const leadFeatures = filtered.map((f) => leadFeature(f, fs));
  const feature = fuse(leadFeatures, fs);
  return { ...decide(feature, filtered, fs), leadFeatures };
}

interface Candidate {
  readonly at: number;
  readonly value: number;
}

/** Hamilton's decision rules over the local maxima of the fused feature signal. */
function decide(feature: Float32Array, filtered: readonly Float32Array[], fs: number): QrsDetection {
  // Lead features are scaled so a typical QRS peak is 1, and fused as a weighted mean.
  const decayFloor = 1;
  const refractory = Math.round(REFRACTORY_S * fs);
  const candidates = localMaxima(feature, refractory >> 1);
  const qrsLevels: number[] = [];
  const noiseLevels: number[] = [];
  const rrs: number[] = [];
  // Initial levels from the first 8 s: the record is analysed offline, so a look-ahead start is allowed.
  const init = candidates
    .filter((c) => c.at < 8 * fs)
    .map((c) => c.value)
    .sort((a, b) => b - a);
  const initQrs = init.length ? init[Math.min(init.length - 1, 3)]! : 1;
  for (let k = 0; k < HISTORY; k++) {
    qrsLevels.push(initQrs);
    noiseLevels.push(0);
  }
  const beats: number[] = [];
  const strengths: number[] = [];
  let lastBeat = -Infinity;
  let lastSlope = 0;
  let lastDecay = -Infinity;
  let sinceBeat: Candidate[] = []; // sub-threshold candidates since the last beat, for search-back
  const threshold = () => {
    const q = median(qrsLevels);
    const nz = median(noiseLevels);
    return nz + THRESHOLD_COEFF * (q - nz);
  };
  const accept = (c: Candidate, slope: number) => {
    if (beats.length > 0) {
      const rr = c.at - lastBeat;
      // Only plausible intervals update the RR average (Hamilton's rule).
      if (rr < 3 * fs) pushHistory(rrs, rr);
    }
    strengths.push(c.value / median(qrsLevels));
    beats.push(c.at);
    // A burst of noise accepted as beats must not lift the QRS level for long: clip each update.
    pushHistory(qrsLevels, Math.min(c.value, 2 * median(qrsLevels)));
    lastBeat = c.at;
    lastSlope = slope;
    sinceBeat = [];
  };
  for (const c of candidates) {
    // Search-back: no beat for 1.66 × mean RR → the largest candidate above half the threshold is a beat.
    if (beats.length > 1 && rrs.length > 0 && c.at - lastBeat > SEARCHBACK_RR_FACTOR * mean(rrs)) {
      const th2 = 0.5 * threshold();
      let best: Candidate | undefined;
      for (const s of sinceBeat)
        if (s.value > th2 && s.at - lastBeat > refractory && (!best || s.value > best.value)) best = s;
      if (best) {
        accept(best, maxSlope(filtered, best.at, fs));
        sinceBeat = sinceBeatAfter(best.at, candidates, c.at);
      } else if (c.at - lastDecay > fs && median(qrsLevels) > decayFloor) {
        // Nothing even at half threshold although the QRS level sits above the record's typical QRS energy:
        // noise lifted it. Decay it (at most once a second) so detection resumes instead of staying blind;
        // never below the typical level, so true pauses (sinus arrest) do not pull in P or T waves.
        for (let k = 0; k < qrsLevels.length; k++) qrsLevels[k]! *= 0.5;
        lastDecay = c.at;
      }
    }
    if (c.at - lastBeat < refractory) continue;
    const th = threshold();
    if (c.value > th) {
      const slope = maxSlope(filtered, c.at, fs);
      // T-wave rule (Hamilton): a weak-sloped candidate soon after a beat is a T wave, unless its energy is
      // as large as a typical QRS (premature wide ventricular beats have low slopes but high energy).
      if (c.at - lastBeat < T_WAVE_WINDOW_S * fs && slope < 0.5 * lastSlope && c.value < median(qrsLevels)) {
        pushHistory(noiseLevels, c.value);
        sinceBeat.push(c);
        continue;
      }
      accept(c, slope);
    } else {
      pushHistory(noiseLevels, c.value);
      sinceBeat.push(c);
    }
  }
  // The fiducial search looks back up to 150 ms, so in noise two detections closer than that can land on
  // the same or crossing samples: keep R peaks strictly increasing (the later duplicate is dropped).
  const kept: number[] = [];
  const keptStrength: number[] = [];
  for (let i = 0; i < beats.length; i++) {
    const r = locateR(filtered, beats[i]!, fs);
    if (kept.length > 0 && r <= kept[kept.length - 1]!) continue;
    kept.push(r);
    keptStrength.push(strengths[i]!);
  }
  return { peaks: Int32Array.from(kept), strength: Float32Array.from(keptStrength) };
}

function sinceBeatAfter(at: number, candidates: readonly Candidate[], upTo: number): Candidate[] {
  return candidates.filter((c) => c.at > at && c.at < upTo);
}

/** Local maxima of x that are the largest value within ±halfWidth samples. */
function localMaxima(x: Float32Array, halfWidth: number): Candidate[] {
  const out: Candidate[] = [];
  const n = x.length;
  let i = 1;
  while (i < n - 1) {
    const v = x[i]!;
    if (v > x[i - 1]! && v >= x[i + 1]!) {
      let isMax = true;
      const lo = Math.max(0, i - halfWidth);
      const hi = Math.min(n - 1, i + halfWidth);
      for (let j = lo; j <= hi; j++) {
        if (x[j]! > v) {
          isMax = false;
          break;
        }
      }
      if (isMax) {
        out.push({ at: i, value: v });
        i += halfWidth;
        continue;
      }
    }
    i++;
  }
  return out;
}

/** Largest absolute first difference of the band-passed leads within ±75 ms of a feature peak. */
function maxSlope(filtered: readonly Float32Array[], at: number, fs: number): number {
  const half = Math.round(0.075 * fs);
  let m = 0;
  for (const f of filtered) {
    const lo = Math.max(1, at - half);
    const hi = Math.min(f.length - 1, at + half);
    for (let i = lo; i <= hi; i++) {
      const d = Math.abs(f[i]! - f[i - 1]!);
      if (d > m) m = d;
    }
  }
  return m;
}

/**
 * R-peak fiducial: the moving-window integral spreads the QRS, so look in [−150, +75] ms around the
 * feature peak for the largest absolute band-passed deflection of the first lead (pass the primary lead
 * first: summing all leads was tried and placed peaks worse on MIT-BIH DS1, where V1's large P and T
 * waves pull the fiducial).
 */
function locateR(filtered: readonly Float32Array[], at: number, fs: number): number {
  const lo = Math.max(0, at - Math.round(0.15 * fs));
  const hi = Math.min(filtered[0]!.length - 1, at + Math.round(0.075 * fs));
  let best = at;
  let bestV = -1;
  const f0 = filtered[0]!;
  for (let i = lo; i <= hi; i++) {
    const v = Math.abs(f0[i]!);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

function pushHistory(h: number[], v: number): void {
  h.push(v);
  if (h.length > HISTORY) h.shift();
}

function median(h: readonly number[]): number {
  const s = [...h].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function mean(h: readonly number[]): number {
  let s = 0;
  for (const v of h) s += v;
  return s / h.length;
}
