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
  /** Windows the recording was cut into, including those left out as mostly unreliable. */
  readonly totalWindows: number;
}

/**
 * Fraction of a recording's windows that are noise: left out because the quality index flags most of
 * them, or read by the rhythm model as noise (its '~' class, CinC 2017's "too noisy to classify").
 */
export function noisyWindowFraction(r: RhythmResult): number {
  if (r.totalWindows === 0) return 1;
  const noise = r.windows.filter((w) => {
    const p = w.probabilities;
    return p['~'] > p.N && p['~'] > p.A && p['~'] > p.O;
  }).length;
  return (r.totalWindows - r.windows.length + noise) / r.totalWindows;
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
  return { label: RHYTHM_CLASSES[best]!, probability: mean[best]!, windows: kept, totalWindows: n };
}

/**
 * The rhythm of several leads: each lead is classified and the window probabilities are averaged across
 * leads (windows share their starts, since the leads share length and rate). One lead reads as
 * {@link classifyRhythm}.
 */
export async function classifyRhythmLeads(
  model: ModelSession,
  leads: readonly { readonly samples: Float32Array; readonly invalid?: Uint8Array | undefined }[],
  fs: number,
  opts: Omit<RhythmOptions, 'invalid'> = {},
): Promise<RhythmResult> {
  // Together, so the leads' windows reach the model as one batch (the session coalesces the calls).
  const results = await Promise.all(
    leads.map((lead) =>
      classifyRhythm(model, lead.samples, fs, {
        ...opts,
        ...(lead.invalid ? { invalid: lead.invalid } : {}),
      }),
    ),
  );
  if (results.length === 1) return results[0]!;
  const byStart = new Map<number, { start: number; end: number; sum: number[]; n: number }>();
  for (const r of results)
    for (const w of r.windows) {
      const e = byStart.get(w.start) ?? {
        start: w.start,
        end: w.end,
        sum: RHYTHM_CLASSES.map(() => 0),
        n: 0,
      };
      RHYTHM_CLASSES.forEach((c, i) => {
        e.sum[i]! += w.probabilities[c];
      });
      e.n++;
      byStart.set(w.start, e);
    }
  const windows: RhythmWindow[] = [...byStart.values()]
    .sort((a, b) => a.start - b.start)
    .map((e) => ({
      start: e.start,
      end: e.end,
      probabilities: Object.fromEntries(RHYTHM_CLASSES.map((c, i) => [c, e.sum[i]! / e.n])) as Record<
        RhythmClass,
        number
      >,
    }));
  const mean = RHYTHM_CLASSES.map(
    (c) => windows.reduce((a, w) => a + w.probabilities[c], 0) / windows.length,
  );
  let best = 0;
  for (let c = 1; c < mean.length; c++) if (mean[c]! > mean[best]!) best = c;
  return {
    label: RHYTHM_CLASSES[best]!,
    probability: mean[best]!,
    windows,
    totalWindows: results[0]!.totalWindows,
  };
}
