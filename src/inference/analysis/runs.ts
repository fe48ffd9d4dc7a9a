/**
 * Patterns of ectopic beats: runs (≥ 3 consecutive), couplets, and bigeminal / trigeminal episodes.
 *
 * Definitions follow common clinical usage (e.g. the 2017 AHA/ACC/HRS guideline for ventricular
 * arrhythmias, Al-Khatib et al., Circulation 138:e272: non-sustained VT = ≥ 3 consecutive ventricular
 * beats at > 100 bpm): a run is ≥ 3 consecutive beats of one ectopic class; a couplet is exactly 2;
 * bigeminy is N,V alternation and trigeminy N,N,V repetition, each for at least
 * {@link MIN_PATTERN_CYCLES} consecutive cycles (the usual Holter-software criterion).
 */
import type { AamiClass } from './aami.js';
import type { BeatRun } from './types.js';

export const MIN_RUN_BEATS = 3;
export const MIN_PATTERN_CYCLES = 3;
/** Rate above which a run is a tachycardia (bpm). */
export const TACHY_BPM = 100;

export interface PatternEpisode {
  readonly kind: 'bigeminy' | 'trigeminy';
  /** Index of the first beat of the episode. */
  readonly first: number;
  /** Beats in the episode. */
  readonly length: number;
  readonly cycles: number;
}

/** Runs of ≥ 3 consecutive V or S beats, with their mean rate. `samples` are R peaks at rate `fs`. */
export function findRuns(labels: readonly AamiClass[], samples: ArrayLike<number>, fs: number): BeatRun[] {
  const runs: BeatRun[] = [];
  let i = 0;
  while (i < labels.length) {
    const l = labels[i]!;
    let j = i + 1;
    while (j < labels.length && labels[j] === l) j++;
    if ((l === 'V' || l === 'S') && j - i >= MIN_RUN_BEATS) {
      const span = (samples[j - 1]! - samples[i]!) / fs;
      runs.push({ label: l, first: i, length: j - i, rateBpm: (60 * (j - i - 1)) / span });
    }
    i = j;
  }
  return runs;
}

/** Number of ventricular couplets (exactly two consecutive V beats). */
export function countCouplets(labels: readonly AamiClass[], cls: AamiClass = 'V'): number {
  let n = 0;
  let i = 0;
  while (i < labels.length) {
    let j = i;
    while (j < labels.length && labels[j] === cls) j++;
    if (j - i === 2) n++;
    i = j > i ? j : i + 1;
  }
  return n;
}

/**
 * Ventricular bigeminy (…N V N V…) and trigeminy (…N N V N N V…) episodes of at least
 * {@link MIN_PATTERN_CYCLES} consecutive cycles.
 */
export function findPatterns(labels: readonly AamiClass[]): PatternEpisode[] {
  const out: PatternEpisode[] = [];
  for (const [kind, period] of [
    ['bigeminy', 2],
    ['trigeminy', 3],
  ] as const) {
    let i = 0;
    while (i + period <= labels.length) {
      let cycles = 0;
      while (isCycle(labels, i + cycles * period, period)) cycles++;
      if (cycles >= MIN_PATTERN_CYCLES) {
        out.push({ kind, first: i, length: cycles * period, cycles });
        i += cycles * period;
      } else {
        i++;
      }
    }
  }
  return out.sort((a, b) => a.first - b.first);
}

/** One cycle of `period` beats at `at`: period − 1 normal beats then one V. */
function isCycle(labels: readonly AamiClass[], at: number, period: number): boolean {
  if (at + period > labels.length) return false;
  for (let k = 0; k < period - 1; k++) if (labels[at + k] !== 'N') return false;
  return labels[at + period - 1] === 'V';
}
