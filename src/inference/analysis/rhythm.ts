/** Rhythm classification: 10-s windows of one lead → ONNX → calibrated N/A/O/~ per window and overall. */

import { resampledLength } from '../dsp/resample.js';
import type { ModelSession } from '../model/session.js';
import { softmaxRows } from '../model/session.js';
import { MAX_UNRELIABLE_IN_WINDOW } from './reliability.js';
import {
  RHYTHM_CLASSES,
  RHYTHM_FEATURE_COUNT,
  RHYTHM_FS,
  type RhythmInputOptions,
  rhythmInputs,
  WINDOW_LENGTH,
  WINDOW_S,
  windowStarts,
} from './rhythm-input.js';
import type { RhythmClass, RhythmWindow } from './types.js';

/** Recordings longer than this (s) are cut into non-overlapping windows. */
export const LONG_RECORD_S = 60;

export interface RhythmOptions extends RhythmInputOptions {
  /** Fraction (0..1) of a window, given in seconds, where the analysis abstains; windows above half are dropped. */
  readonly unreliableFraction?: (startS: number, endS: number) => number;
}

export interface RhythmResult {
  readonly label: RhythmClass;
  readonly probability: number;
  readonly windows: readonly RhythmWindow[];
}

/**
 * Classify the rhythm of one lead (`samples` in mV at `fs`). The record's probabilities are the mean of its
 * windows' (as in training, where a CinC recording's label is scored against its windows' mean).
 */
export async function classifyRhythm(
  model: ModelSession,
  samples: Float32Array,
  fs: number,
  opts: RhythmOptions = {},
): Promise<RhythmResult> {
  // Long recordings: non-overlapping windows halve the model work (CinC-length records keep the 5-s
  // stride the model was validated with).
  const long = samples.length / fs > LONG_RECORD_S;
  const starts =
    opts.starts ??
    (long ? windowStarts(resampledLength(samples.length, fs, RHYTHM_FS), WINDOW_S) : undefined);
  const inputs = rhythmInputs(samples, fs, { ...opts, ...(starts ? { starts } : {}) });
  const n = inputs.count;
  const out = await model.run({
    signal: { data: inputs.signal, dims: [n, 1, WINDOW_LENGTH] },
    features: { data: inputs.features, dims: [n, RHYTHM_FEATURE_COUNT] },
  });
  const k = RHYTHM_CLASSES.length;
  const probs = softmaxRows(out['logits']!.data, k, model.manifest.temperature);
  const mean = new Float64Array(k);
  const all: RhythmWindow[] = [];
  const windows: RhythmWindow[] = [];
  for (let w = 0; w < n; w++) {
    const row = probs.subarray(w * k, (w + 1) * k);
    const start = inputs.starts[w]! / RHYTHM_FS;
    const end = start + inputs.valid[w]! / RHYTHM_FS;
    const probabilities = Object.fromEntries(RHYTHM_CLASSES.map((c, i) => [c, row[i]!])) as Record<
      RhythmClass,
      number
    >;
    all.push({ start, end, probabilities });
    if ((opts.unreliableFraction?.(start, end) ?? 0) > MAX_UNRELIABLE_IN_WINDOW) continue;
    windows.push({ start, end, probabilities });
  }
  // When every window is mostly unreliable, fall back to all of them rather than inventing a result;
  // analyze() refuses records that are mostly unreliable before this point in any case.
  const kept = windows.length > 0 ? windows : all;
  for (const w of kept)
    RHYTHM_CLASSES.forEach((c, i) => {
      mean[i]! += w.probabilities[c] / kept.length;
    });
  let best = 0;
  for (let c = 1; c < k; c++) if (mean[c]! > mean[best]!) best = c;
  return { label: RHYTHM_CLASSES[best]!, probability: mean[best]!, windows: kept };
}
