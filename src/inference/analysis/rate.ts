/** Heart rate and RR irregularity of a beat sequence. */

/**
 * Heart rate from the median RR (robust to a missed or extra beat) and the RR coefficient of variation
 * (standard deviation / mean), the plainest irregularity measure (Tateno & Glass, Med Biol Eng Comput
 * 39:664-671, 2001, use RR variability for AF detection). Null with fewer than two intervals.
 */
export function rateAndIrregularity(
  peaks: ArrayLike<number>,
  fs: number,
): { heartRateBpm: number | null; rrCv: number | null } {
  const n = peaks.length;
  if (n < 3) return { heartRateBpm: null, rrCv: null };
  const rr = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) rr[i - 1] = (peaks[i]! - peaks[i - 1]!) / fs;
  const sorted = Float64Array.from(rr).sort();
  const m = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
  let mean = 0;
  for (const v of rr) mean += v / rr.length;
  let variance = 0;
  for (const v of rr) variance += (v - mean) ** 2 / rr.length;
  return { heartRateBpm: 60 / median, rrCv: Math.sqrt(variance) / mean };
}
