import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  butterBandpass,
  butterHighpass,
  butterLowpass,
  notch,
  sosfilt,
  sosfiltfilt,
  sosGain,
} from '../../../src/inference/dsp/iir.js';

const FS = 360;

function sine(f: number, seconds: number, fs: number, amp = 1): Float32Array {
  const x = new Float32Array(Math.round(seconds * fs));
  for (let i = 0; i < x.length; i++) x[i] = amp * Math.sin((2 * Math.PI * f * i) / fs);
  return x;
}

/** Amplitude of the f Hz component over [from, to): exact when the span holds whole cycles. */
function amplitudeAt(y: Float32Array, f: number, fs: number, from: number, to: number): number {
  let s = 0;
  let c = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * f * i) / fs;
    s += y[i]! * Math.sin(w);
    c += y[i]! * Math.cos(w);
  }
  return (2 / (to - from)) * Math.hypot(s, c);
}

describe('Butterworth designs (fili)', () => {
  it('are 3 dB down at the cut-off, as a Butterworth must be', () => {
    for (const order of [2, 4, 6]) {
      assert.ok(Math.abs(sosGain(butterLowpass(order, 40, FS), 40, FS) - Math.SQRT1_2) < 1e-9);
      assert.ok(Math.abs(sosGain(butterHighpass(order, 0.5, FS), 0.5, FS) - Math.SQRT1_2) < 1e-9);
    }
  });

  it('roll off at 20·order dB per decade: order-4 low-pass at 40 Hz, 2 octaves up (bilinear-warped)', () => {
    // |H| = 1 / sqrt(1 + (Ω/Ωc)^(2N)) with Ω = tan(π f / fs) under the bilinear transform.
    const ratio = Math.tan((Math.PI * 160) / FS) / Math.tan((Math.PI * 40) / FS);
    const expected = 1 / Math.sqrt(1 + ratio ** 8);
    assert.ok(Math.abs(sosGain(butterLowpass(4, 40, FS), 160, FS) / expected - 1) < 1e-6);
  });
});

describe('sosGain', () => {
  it('agrees with the gain measured on filtered sines (causal, after the transient)', () => {
    const sos = butterBandpass(4, 0.5, 40, FS);
    for (const f of [1, 5, 10, 25, 40, 60, 90]) {
      const y = sosfilt(sos, sine(f, 30, FS));
      // Skip 10 s of start-up, measure over 20 s (whole cycles for every f here).
      const measured = amplitudeAt(y, f, FS, 10 * FS, 30 * FS);
      const predicted = sosGain(sos, f, FS);
      assert.ok(
        Math.abs(measured - predicted) < 0.005 * Math.max(predicted, 0.01),
        `${f} Hz: ${measured} vs ${predicted}`,
      );
    }
  });

  it('zero-phase filtering squares it', () => {
    const sos = butterLowpass(2, 40, FS);
    for (const f of [10, 40, 60]) {
      const y = sosfiltfilt(sos, sine(f, 20, FS));
      const measured = amplitudeAt(y, f, FS, 5 * FS, 15 * FS);
      assert.ok(Math.abs(measured - sosGain(sos, f, FS) ** 2) < 2e-3, `${f} Hz: ${measured}`);
    }
  });

  it('is zero at the notch frequency and ~1 far from it', () => {
    const sos = notch(60, 30, FS);
    assert.ok(sosGain(sos, 60, FS) < 1e-9);
    assert.ok(Math.abs(sosGain(sos, 10, FS) - 1) < 1e-3);
  });
});

describe('sosfiltfilt', () => {
  it('has no start-up transient on a step, unlike causal filtering', () => {
    const sos = butterHighpass(2, 0.5, FS);
    const lp = butterLowpass(4, 40, FS);
    const dc = new Float32Array(10 * FS).fill(2.5);
    const zeroPhase = sosfiltfilt(lp, dc);
    for (const v of zeroPhase) assert.ok(Math.abs(v - 2.5) < 1e-5);
    // The causal run starts from rest, so its first outputs are far from the 2.5 mV level.
    assert.ok(Math.abs(sosfilt(lp, dc)[0]! - 2.5) > 1);
    // A high-pass of a constant is zero everywhere, including the first sample.
    for (const v of sosfiltfilt(sos, dc)) assert.ok(Math.abs(v) < 1e-4);
  });

  it('keeps a step centred: its response is odd-symmetric about the step (zero phase)', () => {
    const n = 4 * FS;
    const step = new Float32Array(n);
    step.fill(1, n / 2);
    const y = sosfiltfilt(butterLowpass(4, 40, FS), step);
    assert.ok(Math.abs(y[0]!) < 1e-5 && Math.abs(y[n - 1]! - 1) < 1e-5);
    // Anti-symmetry about the half-sample point between n/2 − 1 and n/2.
    for (let k = 0; k < 50; k++) {
      assert.ok(Math.abs(y[n / 2 + k]! - 0.5 + (y[n / 2 - 1 - k]! - 0.5)) < 1e-4, `k = ${k}`);
    }
  });

  it('handles records shorter than its padding', () => {
    const y = sosfiltfilt(butterLowpass(4, 40, FS), Float32Array.of(1, 1, 1));
    assert.deepEqual(
      Array.from(y, (v) => Math.round(v * 1e4) / 1e4),
      [1, 1, 1],
    );
    assert.equal(sosfiltfilt(butterLowpass(4, 40, FS), new Float32Array(0)).length, 0);
  });
});
