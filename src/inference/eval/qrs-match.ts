/**
 * Beat-by-beat comparison of detected QRS complexes with reference annotations, after ANSI/AAMI EC57
 * (and PhysioNet's `bxb`): a detection within the match window of a reference beat is a true positive,
 * each reference beat matched at most once; detections inside ventricular flutter/fibrillation episodes
 * are not counted as false positives. No learning period is excluded.
 */
import { type Annotation, BEAT_SYMBOLS } from '../io/wfdb-annotation.js';

/** EC57 match window: 150 ms. */
export const MATCH_WINDOW_S = 0.15;

export interface DetectionCounts {
  tp: number;
  fn: number;
  fp: number;
}

export interface DetectionScore extends DetectionCounts {
  se: number;
  ppv: number;
  f1: number;
}

export interface BeatMatch {
  readonly counts: DetectionCounts;
  /** For each reference beat (in `referenceBeats` order), the matched detection index or -1. */
  readonly refToDet: Int32Array;
  /** For each detection, the matched reference index or -1. */
  readonly detToRef: Int32Array;
  /** For each detection, whether it lies in an excluded (VF/VFL) interval. */
  readonly detExcluded: Uint8Array;
}

/** Reference beats: annotations whose label is a beat label (EC57 / WFDB isqrs). */
export function referenceBeats(anns: readonly Annotation[]): Annotation[] {
  return anns.filter((a) => BEAT_SYMBOLS.has(a.symbol));
}

/**
 * Ventricular flutter/fibrillation intervals [start, end): from a `(VFL` or `(VF` rhythm annotation to the
 * next rhythm change, and from `[` (onset) to `]` (end) annotations.
 */
export function vfIntervals(anns: readonly Annotation[], nSamples: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let rhythmStart = -1;
  let bracketStart = -1;
  for (const a of anns) {
    if (a.symbol === '+') {
      const rhythm = a.aux.replace(/\0/g, '').trim();
      if (rhythmStart >= 0) {
        out.push([rhythmStart, a.sample]);
        rhythmStart = -1;
      }
      if (rhythm === '(VFL' || rhythm === '(VF') rhythmStart = a.sample;
    } else if (a.symbol === '[') {
      bracketStart = a.sample;
    } else if (a.symbol === ']' && bracketStart >= 0) {
      out.push([bracketStart, a.sample + 1]);
      bracketStart = -1;
    }
  }
  if (rhythmStart >= 0) out.push([rhythmStart, nSamples]);
  if (bracketStart >= 0) out.push([bracketStart, nSamples]);
  return out;
}

/** Match detections to reference beat samples (both sorted ascending). */
export function matchBeats(
  refSamples: ArrayLike<number>,
  detections: ArrayLike<number>,
  fs: number,
  excluded: ReadonlyArray<readonly [number, number]> = [],
): BeatMatch {
  const tol = Math.round(MATCH_WINDOW_S * fs);
  const nr = refSamples.length;
  const nd = detections.length;
  const refToDet = new Int32Array(nr).fill(-1);
  const detToRef = new Int32Array(nd).fill(-1);
  let j0 = 0;
  for (let i = 0; i < nr; i++) {
    const r = refSamples[i]!;
    while (j0 < nd && detections[j0]! < r - tol) j0++;
    let best = -1;
    let bestDist = Infinity;
    for (let j = j0; j < nd && detections[j]! <= r + tol; j++) {
      if (detToRef[j] !== -1) continue;
      const d = Math.abs(detections[j]! - r);
      // A detection closer to the next reference beat is left for that beat.
      const next = i + 1 < nr ? Math.abs(detections[j]! - refSamples[i + 1]!) : Infinity;
      if (next < d) continue;
      if (d < bestDist) {
        bestDist = d;
        best = j;
      }
    }
    if (best >= 0) {
      refToDet[i] = best;
      detToRef[best] = i;
    }
  }
  const detExcluded = new Uint8Array(nd);
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < nd; j++) {
    const s = detections[j]!;
    const inVf = excluded.some(([a, b]) => s >= a && s < b);
    if (inVf) detExcluded[j] = 1;
    if (detToRef[j]! >= 0) tp++;
    else if (!inVf) fp++;
  }
  return { counts: { tp, fn: nr - tp, fp }, refToDet, detToRef, detExcluded };
}

/** Sensitivity, positive predictivity and F1 as fractions (0 when undefined). */
export function score(c: DetectionCounts): DetectionScore {
  const se = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
  const ppv = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
  const f1 = 2 * c.tp + c.fn + c.fp > 0 ? (2 * c.tp) / (2 * c.tp + c.fn + c.fp) : 0;
  return { ...c, se, ppv, f1 };
}
