/**
 * Rhythm episodes over time: from the rhythm model's per-window classes to episodes with onset, duration
 * and burden, so paroxysmal AF is found however short a part of a long recording it is (issue #9 item 1).
 *
 * Rules (clinical, not tuned on any data set):
 *  - a window belongs to the class the model gives it the highest probability;
 *  - an episode is a maximal stretch of consecutive windows of the class; a single window of another
 *    class between two of the class is bridged (one 10-s window of doubt inside a longer episode does
 *    not split it — Holter software merges episodes separated by less than one analysis epoch);
 *  - an AF episode counts as a finding when it lasts ≥ 30 s, the definition of clinical AF on a
 *    single-lead tracing (2020 ESC guidelines for AF, Hindricks et al., Eur Heart J 42:373, 2021); on
 *    a recording shorter than 30 s the whole analysed recording must be AF (the same guideline accepts a
 *    standard 12-lead ECG of AF, typically 10 s).
 */
import type { RhythmClass, RhythmWindow } from './types.js';

/** Shortest AF episode that is a finding, seconds. */
export const MIN_AF_EPISODE_S = 30;
/** Windows of another class bridged inside an episode. */
export const BRIDGE_WINDOWS = 1;

export interface Episode {
  readonly start: number;
  readonly end: number;
  /** Mean probability of the class over the episode's windows. */
  readonly meanProbability: number;
}

/** The class a window is read as: its most probable one. */
export function windowClass(p: Readonly<Record<RhythmClass, number>>): RhythmClass {
  let best: RhythmClass = 'N';
  for (const c of ['A', 'O', '~'] as const) if (p[c] > p[best]) best = c;
  return best;
}

/** Total seconds covered by the windows (overlapping windows counted once). */
export function coveredSeconds(windows: readonly RhythmWindow[]): number {
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  let total = 0;
  let reach = -Infinity;
  for (const w of sorted) {
    const from = Math.max(w.start, reach);
    if (w.end > from) total += w.end - from;
    reach = Math.max(reach, w.end);
  }
  return total;
}

/** Episodes of class `c` in time order (windows sorted by start; gaps of ≤ {@link BRIDGE_WINDOWS} bridged). */
export function episodesOf(windows: readonly RhythmWindow[], c: RhythmClass): Episode[] {
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  const out: Episode[] = [];
  let first = -1;
  let last = -1;
  const close = () => {
    if (first < 0) return;
    const members = sorted.slice(first, last + 1);
    const mean = members.reduce((a, w) => a + w.probabilities[c], 0) / members.length;
    out.push({ start: sorted[first]!.start, end: sorted[last]!.end, meanProbability: mean });
    first = -1;
  };
  for (let i = 0; i < sorted.length; i++) {
    if (windowClass(sorted[i]!.probabilities) !== c) continue;
    // Contiguous in time too: a dropped (unreliable) stretch longer than a window ends the episode.
    const gapWindows = first >= 0 ? i - last - 1 : 0;
    const gapSeconds = first >= 0 ? sorted[i]!.start - sorted[last]!.end : 0;
    const windowSeconds = sorted[i]!.end - sorted[i]!.start;
    if (first >= 0 && (gapWindows > BRIDGE_WINDOWS || gapSeconds > BRIDGE_WINDOWS * windowSeconds + 1e-6))
      close();
    if (first < 0) first = i;
    last = i;
  }
  close();
  return out;
}

export interface AfEpisodes {
  /** Episodes that qualify as findings (≥ the minimum duration). */
  readonly episodes: readonly Episode[];
  /** Fraction 0..1 of the analysed time inside qualifying episodes. */
  readonly burden: number;
  /** Longest qualifying episode, seconds. */
  readonly longestSeconds: number;
  /** Seconds of signal the rhythm model analysed. */
  readonly analysedSeconds: number;
}

/** Qualifying AF (or flutter: the model's A class) episodes of a recording. */
export function afEpisodes(windows: readonly RhythmWindow[]): AfEpisodes {
  const analysedSeconds = coveredSeconds(windows);
  const minimum = Math.min(MIN_AF_EPISODE_S, analysedSeconds - 1e-6);
  const episodes = episodesOf(windows, 'A').filter((e) => e.end - e.start >= minimum);
  const inside = episodes.reduce((a, e) => a + (e.end - e.start), 0);
  return {
    episodes,
    burden: analysedSeconds > 0 ? Math.min(1, inside / analysedSeconds) : 0,
    longestSeconds: episodes.reduce((a, e) => Math.max(a, e.end - e.start), 0),
    analysedSeconds,
  };
}

/**
 * Beats inside atrial fibrillation episodes that the beat model called S are conducted beats, relabelled N.
 * In AF there is no organised atrial activity, so no premature atrial beat: what looks premature is the
 * irregular ventricular response (AAMI EC57 and the MIT-BIH annotators label beats in AF as N). Without this
 * rule the irregular RR of AF produces "frequent PACs" and "SVT runs" beside the AF finding (seen on the
 * CinC AF demo record A00004 with the issue #10 beat model). Ventricular calls are kept: PVCs occur in AF.
 */
export function conductedInAf<B extends { readonly time: number; readonly label: string }>(
  beats: readonly B[],
  episodes: readonly { readonly start: number; readonly end: number }[],
): B[] {
  if (episodes.length === 0) return beats as B[];
  return beats.map((b) =>
    b.label === 'S' && episodes.some((e) => b.time >= e.start && b.time <= e.end) ? { ...b, label: 'N' } : b,
  );
}
