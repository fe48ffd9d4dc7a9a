import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  beatInputs,
  MODEL_FS,
  RR_FEATURE_COUNT,
  RR_FEATURES,
  rrFeatures,
  WINDOW_BEFORE,
  WINDOW_LENGTH,
} from '../../../src/inference/analysis/beat-input.js';
import { synth } from '../../support/synthetic-ecg.js';

/** Beat times on a 0.1 s grid, so they fall on exact samples at both 360 and 250 Hz. A premature beat at 4.4 s. */
const TIMES = [0.8, 1.6, 2.4, 3.2, 4.0, 4.4, 5.6, 6.4, 7.2, 8.0, 8.8, 9.6, 10.4, 11.2];
const peaksAt = (fs: number, times: readonly number[]) => Int32Array.from(times, (t) => Math.round(t * fs));

function row(a: Float32Array, i: number, width: number): Float32Array {
  return a.subarray(i * width, (i + 1) * width);
}

function argmaxAbs(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (Math.abs(x[i]!) > Math.abs(x[best]!)) best = i;
  return best;
}

describe('beatInputs', () => {
  it('centres each window on its R peak and scales R to about 1', () => {
    const x = synth(MODEL_FS, 12, TIMES);
    const { windows, rr } = beatInputs(x, MODEL_FS, peaksAt(MODEL_FS, TIMES));
    assert.equal(windows.length, TIMES.length * WINDOW_LENGTH);
    assert.equal(rr.length, TIMES.length * RR_FEATURE_COUNT);
    for (let i = 0; i < TIMES.length; i++) {
      const w = row(windows, i, WINDOW_LENGTH);
      // within ±100 ms of the centre (a premature neighbour may lie further out in the same window)
      const near = w.subarray(WINDOW_BEFORE - 36, WINDOW_BEFORE + 37);
      assert.equal(argmaxAbs(near), 36, `beat ${i}: largest deflection at the R index`);
      assert.ok(
        Math.abs(w[WINDOW_BEFORE]! - 1) < 0.05,
        `beat ${i}: R normalised to ≈ 1, got ${w[WINDOW_BEFORE]}`,
      );
    }
  });

  it('removes baseline wander: the window mean stays near zero', () => {
    const x = synth(MODEL_FS, 12, TIMES);
    const { windows } = beatInputs(x, MODEL_FS, peaksAt(MODEL_FS, TIMES));
    for (let i = 1; i < TIMES.length - 1; i++) {
      const w = row(windows, i, WINDOW_LENGTH);
      const mean = w.reduce((s, v) => s + v, 0) / w.length;
      // Raw windows carry up to 0.4 mV / 1.2 mV ≈ 0.33 of offset from the wander; the filter leaves < 0.1.
      assert.ok(Math.abs(mean) < 0.1, `beat ${i}: mean ${mean}`);
    }
  });

  it('keeps morphology scale relative within the record and is invariant to the lead gain', () => {
    const x = synth(MODEL_FS, 12, TIMES);
    const peaks = peaksAt(MODEL_FS, TIMES);
    const a = beatInputs(x, MODEL_FS, peaks);
    const b = beatInputs(
      x.map((v) => v * 3),
      MODEL_FS,
      peaks,
    );
    assert.ok(Math.abs(b.scaleMv / a.scaleMv - 3) < 1e-3);
    for (let k = 0; k < a.windows.length; k++) assert.ok(Math.abs(a.windows[k]! - b.windows[k]!) < 1e-4);
  });

  it('zero-pads windows that reach past the ends of the record', () => {
    const times = [0.1, 0.9, 1.7];
    const x = synth(MODEL_FS, 1.8, times);
    const { windows } = beatInputs(x, MODEL_FS, peaksAt(MODEL_FS, times));
    const first = row(windows, 0, WINDOW_LENGTH);
    const before = WINDOW_BEFORE - Math.round(0.1 * MODEL_FS); // samples before t = 0
    for (let k = 0; k < before; k++) assert.equal(first[k], 0);
    assert.notEqual(first[before + 1], 0);
    const last = row(windows, 2, WINDOW_LENGTH);
    const inside = x.length - (Math.round(1.7 * MODEL_FS) - WINDOW_BEFORE);
    for (let k = inside; k < WINDOW_LENGTH; k++) assert.equal(last[k], 0);
    assert.equal(argmaxAbs(first), WINDOW_BEFORE);
  });

  it('gives nearly the same windows and the same RR features at 250 Hz as at 360 Hz', () => {
    const a = beatInputs(synth(360, 12, TIMES), 360, peaksAt(360, TIMES));
    const b = beatInputs(synth(250, 12, TIMES), 250, peaksAt(250, TIMES));
    let worst = 0;
    for (let k = 0; k < a.windows.length; k++)
      worst = Math.max(worst, Math.abs(a.windows[k]! - b.windows[k]!));
    // The 250 Hz signal is band-limited at 125 Hz; our beats carry almost nothing above 40 Hz after the filter.
    assert.ok(worst < 0.03, `largest window difference ${worst} (R ≈ 1)`);
    for (let k = 0; k < a.rr.length; k++) assert.ok(Math.abs(a.rr[k]! - b.rr[k]!) < 1e-6);
  });

  it('rejects unsorted peaks and a bad sampling rate', () => {
    const x = new Float32Array(1000);
    assert.throws(() => beatInputs(x, 360, Int32Array.from([500, 100])), RangeError);
    assert.throws(() => beatInputs(x, 0, Int32Array.from([100])), RangeError);
  });

  it('handles no beats and a flat line without dividing by zero', () => {
    const none = beatInputs(new Float32Array(3600), 360, new Int32Array(0));
    assert.equal(none.windows.length, 0);
    const flat = beatInputs(new Float32Array(3600), 360, Int32Array.from([1000, 1300]));
    assert.ok(flat.windows.every((v) => v === 0));
    assert.ok(flat.rr.every((v) => Number.isFinite(v)));
  });
});

describe('rrFeatures', () => {
  const feature = (rr: Float32Array, i: number, name: (typeof RR_FEATURES)[number]) =>
    rr[i * RR_FEATURE_COUNT + RR_FEATURES.indexOf(name)]!;

  it('gives previous, next, local and record RR in seconds for a premature beat', () => {
    const rr = rrFeatures(peaksAt(360, TIMES), 360);
    const i = TIMES.indexOf(4.4); // premature: 0.4 s after its predecessor, 1.2 s before its successor
    const close = (a: number, b: number) => Math.abs(a - b) < 1e-5;
    assert.ok(close(feature(rr, i, 'prev_rr_s'), 0.4));
    assert.ok(close(feature(rr, i, 'next_rr_s'), 1.2));
    // local: the ten intervals d[i-4..i+5] = 0.8, 0.8, 0.8, 0.8, 0.4, 1.2, 0.8, 0.8, 0.8, 0.8 → mean 0.8
    assert.ok(close(feature(rr, i, 'local_rr_s'), 0.8));
    // record (12 s ≪ 5 min): all 13 intervals sum to 11.2 − 0.8 = 10.4 s → mean 0.8
    assert.ok(close(feature(rr, i, 'record_rr_s'), 0.8));
    assert.ok(close(feature(rr, i, 'prev_over_local'), 0.5));
    assert.ok(close(feature(rr, i, 'next_over_local'), 1.5));
    assert.ok(close(feature(rr, i, 'prev_over_record'), 0.5));
  });

  it('fills the missing interval of the first and last beats from their neighbour', () => {
    const rr = rrFeatures(peaksAt(360, TIMES), 360);
    const last = TIMES.length - 1;
    assert.ok(Math.abs(feature(rr, 0, 'prev_rr_s') - 0.8) < 1e-5);
    assert.ok(Math.abs(feature(rr, last, 'next_rr_s') - 0.8) < 1e-5);
    const one = rrFeatures(Int32Array.from([100]), 360);
    assert.deepEqual(Array.from(one), [1, 1, 1, 1, 1, 1, 1]);
  });

  it('averages the record RR over 5 minutes centred on the beat', () => {
    // 10 minutes at 1.0 s, then 10 minutes at 0.5 s: far from the change each side sees only its own rate.
    const times: number[] = [];
    for (let t = 1; t <= 600; t += 1) times.push(t);
    for (let t = 600.5; t <= 1200; t += 0.5) times.push(t);
    const rr = rrFeatures(peaksAt(360, times), 360);
    const at = (t: number) => times.indexOf(t);
    assert.ok(Math.abs(feature(rr, at(200), 'record_rr_s') - 1) < 1e-5);
    assert.ok(Math.abs(feature(rr, at(1000), 'record_rr_s') - 0.5) < 1e-5);
    // at the change the 5-minute window holds 150 s of each: 150 intervals of 1 s, 300 of 0.5 s → 0.6667
    assert.ok(Math.abs(feature(rr, at(600), 'record_rr_s') - 300 / 450) < 0.01);
  });
});
