import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateRatio, resample, resampledLength, resampleIndex } from '../../../src/inference/dsp/resample.js';

/** A sine with an offset, sampled at fs for `seconds`. */
function sine(f: number, fs: number, seconds: number, amp = 1.3, offset = 0.4, phase = 0.3): Float32Array {
  const x = new Float32Array(Math.round(seconds * fs));
  for (let i = 0; i < x.length; i++) x[i] = offset + amp * Math.sin((2 * Math.PI * f * i) / fs + phase);
  return x;
}

/** Frequency from the interpolated zero crossings of y − offset over [from, to), in cycles per sample. */
function crossingFrequency(y: Float32Array, offset: number, from: number, to: number): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = from + 1; i < to; i++) {
    const a = y[i - 1]! - offset;
    const b = y[i]! - offset;
    if (a < 0 !== b < 0) {
      const t = i - 1 + a / (a - b);
      if (first < 0) first = t;
      last = t;
      count++;
    }
  }
  return (count - 1) / 2 / (last - first);
}

function rms(y: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += y[i]! * y[i]!;
  return Math.sqrt(s / (to - from));
}

const PAIRS: readonly (readonly [number, number])[] = [
  [360, 250],
  [250, 360],
  [300, 360],
  [500, 360],
  [128, 360],
  [360, 128],
  [257, 360],
  [128.5, 360],
  [360, 128.5],
  [1000.3, 257.1], // p/q needs more than MAX_FACTOR: approximated
];

describe('resample', () => {
  for (const [fsIn, fsOut] of PAIRS) {
    it(`keeps a 7 Hz sine's frequency, amplitude and phase, ${fsIn} → ${fsOut} Hz`, () => {
      const f = 7;
      const amp = 1.3;
      const x = sine(f, fsIn, 10, amp);
      const y = resample(x, fsIn, fsOut);
      const { up, down } = rateRatio(fsIn, fsOut);
      const fsEff = (fsIn * up) / down; // equals fsOut unless p/q had to be approximated
      assert.ok(Math.abs(fsEff / fsOut - 1) < 3e-4);
      const edge = Math.ceil(0.25 * fsOut);
      let worst = 0;
      for (let j = edge; j < y.length - edge; j++) {
        const expected = 0.4 + amp * Math.sin((2 * Math.PI * f * j) / fsEff + 0.3);
        worst = Math.max(worst, Math.abs(y[j]! - expected));
      }
      assert.ok(worst < 0.01 * amp, `max deviation ${worst} mV`);
      const fHz = crossingFrequency(y, 0.4, edge, y.length - edge) * fsOut;
      assert.ok(Math.abs(fHz / f - 1) < 1e-3, `measured ${fHz} Hz`);
    });
  }

  it('removes content above the new Nyquist: 150 Hz at 360 Hz → 128 Hz is down > 40 dB', () => {
    const x = sine(150, 360, 10, 1, 0, 0);
    const y = resample(x, 360, 128);
    const edge = 64;
    const ratio = rms(y, edge, y.length - edge) / rms(x, 0, x.length);
    assert.ok(ratio < 0.01, `attenuation only ${(20 * Math.log10(ratio)).toFixed(1)} dB`);
  });

  it('passes a component just inside the new band: 50 Hz at 360 → 128 Hz (Nyquist 64) within 1 %', () => {
    const x = sine(50, 360, 10, 1, 0, 0);
    const y = resample(x, 360, 128);
    const edge = 64;
    assert.ok(Math.abs(rms(y, edge, y.length - edge) / Math.SQRT1_2 - 1) < 0.01);
  });

  it('reproduces a sloping baseline exactly, edges included (line padding)', () => {
    const x = new Float32Array(1000);
    for (let k = 0; k < x.length; k++) x[k] = 0.5 + 0.002 * k;
    for (const [fsIn, fsOut] of PAIRS) {
      if (fsIn !== 360 && fsIn !== 128.5) continue;
      const y = resample(x, fsIn, fsOut);
      const { up, down } = rateRatio(fsIn, fsOut);
      for (let j = 0; j < y.length; j++) {
        assert.ok(Math.abs(y[j]! - (0.5 + (0.002 * j * down) / up)) < 1e-4, `${fsIn}→${fsOut} at ${j}`);
      }
    }
  });

  it('places a pulse where resampleIndex says (no delay)', () => {
    const fsIn = 360;
    const x = new Float32Array(3600);
    const centre = 1234;
    const sigma = 0.02 * fsIn; // 20 ms: well inside every band here
    for (let i = 0; i < x.length; i++) x[i] = Math.exp(-0.5 * ((i - centre) / sigma) ** 2);
    for (const fsOut of [250, 128, 500, 257]) {
      const y = resample(x, fsIn, fsOut);
      let k = 0;
      for (let j = 1; j < y.length; j++) if (y[j]! > y[k]!) k = j;
      // Parabolic interpolation of the peak.
      const [a, b, c] = [y[k - 1]!, y[k]!, y[k + 1]!];
      const peak = k + (0.5 * (a - c)) / (a - 2 * b + c);
      assert.ok(Math.abs(peak - resampleIndex(centre, fsIn, fsOut)) < 0.05, `${fsOut} Hz: ${peak}`);
      assert.ok(Math.abs(b - 1) < 0.01);
    }
  });

  it('returns ceil(n·p/q) samples, so the duration is kept', () => {
    assert.equal(resample(new Float32Array(3600), 360, 250).length, 2500);
    assert.equal(resample(new Float32Array(1000), 360, 250).length, 695); // 694.4…
    assert.equal(resample(new Float32Array(1001), 250, 360).length, 1442); // 1441.4…
    assert.equal(resample(new Float32Array(1), 128, 360).length, 3);
    assert.equal(resampledLength(1000, 360, 250), 695);
    for (const [fsIn, fsOut] of PAIRS) {
      const n = 7777;
      const m = resample(new Float32Array(n), fsIn, fsOut).length;
      assert.ok(m / fsOut >= n / fsIn - 1e-3 * (n / fsIn) && (m - 1) / fsOut < n / fsIn);
    }
  });

  it('copies at equal rates and handles empty input', () => {
    const x = Float32Array.of(1, 2, 3);
    const y = resample(x, 360, 360);
    assert.notEqual(y, x);
    assert.deepEqual(Array.from(y), [1, 2, 3]);
    assert.equal(resample(new Float32Array(0), 360, 250).length, 0);
  });

  it('rejects invalid rates', () => {
    for (const bad of [0, -360, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => resample(new Float32Array(4), bad, 250), /resample: input sampling rate/);
      assert.throws(() => resample(new Float32Array(4), 360, bad), /resample: output sampling rate/);
    }
    assert.throws(() => resampleIndex(3, 0, 250), RangeError);
  });
});

describe('rateRatio', () => {
  it('reduces rate pairs to coprime up/down factors', () => {
    assert.deepEqual(rateRatio(360, 250), { up: 25, down: 36 });
    assert.deepEqual(rateRatio(257, 360), { up: 360, down: 257 });
    assert.deepEqual(rateRatio(128.5, 360), { up: 720, down: 257 });
    assert.deepEqual(rateRatio(44100, 48000), { up: 160, down: 147 });
  });

  it('approximates ratios that need huge factors, with both factors bounded', () => {
    const { up, down } = rateRatio(1000.3, 257.1);
    assert.ok(up <= 2000 && down <= 2000);
    assert.ok(Math.abs(((up / down) * 1000.3) / 257.1 - 1) < 3e-4);
  });
});
