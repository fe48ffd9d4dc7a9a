/** Small summaries analyze() reports: class counts, unreadable fraction, stage timings. */
import type { QualitySegment } from '../dsp/quality.js';
import { AAMI_CLASSES, type AamiClass } from './aami.js';

export function countBy(labels: readonly AamiClass[]): Record<AamiClass, number> {
  const c = Object.fromEntries(AAMI_CLASSES.map((k) => [k, 0])) as Record<AamiClass, number>;
  for (const l of labels) c[l]++;
  return c;
}

/** Fraction of samples in segments no lead can be read in. */
export function unreadableFraction(segments: readonly QualitySegment[]): number {
  let bad = 0;
  let all = 0;
  for (const s of segments) {
    all += s.end - s.start;
    if (!s.readable) bad += s.end - s.start;
  }
  return all > 0 ? bad / all : 0;
}

/** Lap timer in milliseconds. */
export function timer(): { lap(): number } {
  let last = performance.now();
  return {
    lap() {
      const now = performance.now();
      const d = now - last;
      last = now;
      return Math.round(d * 100) / 100;
    },
  };
}
