/**
 * Where the analysis abstains: samples the statistical quality index marks unreadable, or the autoencoder
 * gate marks unreliable. Beats there are not used for findings; rhythm windows mostly there are dropped.
 */
import type { QualitySegment } from '../dsp/quality.js';
import type { AeSegment } from './ae-gate.js';

/** Fraction of a rhythm window that may be unreliable before the window is left out. */
export const MAX_UNRELIABLE_IN_WINDOW = 0.5;

export interface Reliability {
  /** 1 where the analysis abstains, at the record's sampling rate. */
  readonly mask: Uint8Array;
  /** Fraction of the record masked. */
  readonly fraction: number;
  isReliable(sample: number): boolean;
  /** Fraction of [start, end) (samples) that is masked. */
  fractionIn(start: number, end: number): number;
}

export function reliability(
  n: number,
  quality: readonly QualitySegment[],
  ae: readonly AeSegment[],
): Reliability {
  const mask = new Uint8Array(n);
  for (const s of quality) if (!s.readable) mask.fill(1, s.start, Math.min(n, s.end));
  for (const s of ae) if (s.unreliable) mask.fill(1, s.start, Math.min(n, s.end));
  // Prefix sums make window fractions O(1).
  const cum = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) cum[i + 1] = cum[i]! + mask[i]!;
  const fractionIn = (start: number, end: number) => {
    const a = Math.max(0, Math.min(n, Math.round(start)));
    const b = Math.max(a, Math.min(n, Math.round(end)));
    return b > a ? (cum[b]! - cum[a]!) / (b - a) : 0;
  };
  return {
    mask,
    fraction: n > 0 ? cum[n]! / n : 0,
    isReliable: (sample) => mask[sample] !== 1,
    fractionIn,
  };
}
