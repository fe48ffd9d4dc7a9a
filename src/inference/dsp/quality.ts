/**
 * Signal-quality index per segment: marks stretches where no lead can be read.
 *
 * Per lead and segment, three statistical checks (after Li, Clifford & Mark, "Robust heart rate estimation
 * from multiple asynchronous noisy sources using signal quality indices and a Kalman filter",
 * Physiol. Meas. 29:15-32, 2008, and Clifford et al., "Signal quality indices and data fusion for
 * determining clinical acceptability of electrocardiograms", Physiol. Meas. 33:1419-1433, 2012):
 *  - flat line: peak-to-peak amplitude below 0.05 mV (lead off, disconnected);
 *  - invalid samples: more than 10 % of the segment marked invalid (saturation, E/L/U tokens);
 *  - noise floor: the baseline level of the QRS feature signal between beats, in units of the lead's
 *    typical QRS peak (see qrs-feature.ts). Clean ECG sits near 0; noise that rivals the QRS lifts it.
 * A lead's index is 1 / (1 + (floor / NOISE_REF)^2), 0 when flat or invalid; the segment's index is the
 * best lead's, and the segment is unreadable below {@link UNREADABLE_BELOW}.
 */
import { butterBandpass, sosfiltfilt } from './iir.js';
import { BLOCK_S, leadFeature, NOISE_REF, noiseFloor } from './qrs-feature.js';

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
  /** Per-lead invalid-sample masks, aligned with the leads. */
  readonly invalid?: readonly (Uint8Array | undefined)[];
}

/** Index below which a segment is considered unreadable (noise floor ≈ 2 × NOISE_REF, weight 0.2). */
export const UNREADABLE_BELOW = 0.2;
const FLAT_MV = 0.05;
const MAX_INVALID_FRACTION = 0.1;

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
  const nb = Math.ceil(n / block);
  const sos = () => butterBandpass(2, 5, Math.min(15, fs * 0.45), fs);
  const features =
    opts.leadFeatures?.length === leads.length
      ? opts.leadFeatures
      : ((band) => leads.map((l) => leadFeature(sosfiltfilt(band, l), fs)))(sos());
  const floors = features.map((f) => noiseFloor(f, block, nb));
  const out: QualitySegment[] = [];
  for (let start = 0; start < n; start += segLen) {
    const end = Math.min(n, start + segLen);
    const per = leads.map((lead, li) => leadIndex(lead, opts.invalid?.[li], floors[li]!, start, end, block));
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

function leadIndex(
  x: Float32Array,
  invalid: Uint8Array | undefined,
  floor: Float32Array,
  start: number,
  end: number,
  block: number,
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
  // Median of the per-block noise floor across the segment.
  const b0 = Math.floor(start / block);
  const b1 = Math.max(b0 + 1, Math.ceil(end / block));
  const fl = Array.from(floor.subarray(b0, b1)).sort((a, b) => a - b);
  const r = (fl[fl.length >> 1] ?? 0) / NOISE_REF;
  const sqi = 1 / (1 + r * r);
  return sqi < UNREADABLE_BELOW ? { sqi, reason: 'noise' } : { sqi };
}
