/** Heart rate and RR irregularity of a beat sequence. */

/**
 * Heart rate from the median RR (robust to a missed or extra beat) and the RR coefficient of variation
 * (standard deviation / mean), the plainest irregularity measure (Tateno & Glass, Med Biol Eng Comput
 * 39:664-671, 2001, use RR variability for AF detection). Only intervals between two reliable beats count:
 * a noise spike between beats would halve an interval. Null with fewer than two intervals.
 */
export function rateAndIrregularity(
  peaks: ArrayLike<number>,
  fs: number,
  reliable: (beat: number) => boolean = () => true,
): { heartRateBpm: number | null; rrCv: number | null } {
  const intervals: number[] = [];
  for (let i = 1; i < peaks.length; i++) {
    if (reliable(i) && reliable(i - 1)) intervals.push((peaks[i]! - peaks[i - 1]!) / fs);
  }
  if (intervals.length < 2) return { heartRateBpm: null, rrCv: null };
  const sorted = Float64Array.from(intervals).sort();
  const m = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
  let mean = 0;
  for (const v of intervals) mean += v / intervals.length;
  let variance = 0;
  for (const v of intervals) variance += (v - mean) ** 2 / intervals.length;
  return { heartRateBpm: 60 / median, rrCv: Math.sqrt(variance) / mean };
}
