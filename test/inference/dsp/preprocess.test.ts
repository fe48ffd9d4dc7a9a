import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { butterBandpass, notch, sosGain } from '../../../src/inference/dsp/iir.js';
import {
  bandpass,
  cleanEcg,
  medianFilter,
  removeBaseline,
  removePowerline,
} from '../../../src/inference/dsp/preprocess.js';

const FS = 360;
/** Measurement span for sines: 10 s to 50 s of a 60 s record, whole cycles of every test frequency. */
const SPAN: readonly [number, number] = [10 * FS, 50 * FS];

function sine(f: number, fs: number, seconds: number, amp = 1): Float32Array {
  const x = new Float32Array(Math.round(seconds * fs));
  for (let i = 0; i < x.length; i++) x[i] = amp * Math.sin((2 * Math.PI * f * i) / fs);
  return x;
}

/** Amplitude of the f Hz component over [from, to): exact when the span holds whole cycles. */
function amplitudeAt(y: Float32Array, f: number, fs: number, [from, to]: readonly [number, number]): number {
  let s = 0;
  let c = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * f * i) / fs;
    s += y[i]! * Math.sin(w);
    c += y[i]! * Math.cos(w);
  }
  return (2 / (to - from)) * Math.hypot(s, c);
}

/** Gain measured on a filtered sine of a 60 s record. */
function measuredGain(filter: (x: Float32Array) => Float32Array, f: number, fs = FS): number {
  const span: readonly [number, number] = [10 * fs, 50 * fs];
  return amplitudeAt(filter(sine(f, fs, 60)), f, fs, span);
}

/** Energy of y between (0, maxHz] by DFT over the whole record (DC excluded). */
function lowBandEnergy(y: Float32Array, fs: number, maxHz: number): number {
  const n = y.length;
  let e = 0;
  for (let k = 1; (k * fs) / n <= maxHz; k++) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < n; i++) {
      const w = (2 * Math.PI * k * i) / n;
      re += y[i]! * Math.cos(w);
      im -= y[i]! * Math.sin(w);
    }
    e += re * re + im * im;
  }
  return e;
}

/**
 * ECG-like test signal, 60 s at `fs`: 72 beats/min (whole beats in the record, so the clean signal has no
 * energy between DC and 1.2 Hz), each a 1 mV Gaussian R wave (σ 15 ms, a ~70 ms QRS) and a 0.3 mV T wave (σ 40 ms,
 * 250 ms after R). `clean` is the signal, `r` the R-peak indices.
 */
function syntheticEcg(fs: number): { clean: Float32Array; r: number[] } {
  const n = 60 * fs;
  const clean = new Float32Array(n);
  const rr = fs / 1.2;
  const r: number[] = [];
  for (let t = rr / 2; t < n; t += rr) r.push(Math.round(t));
  for (let i = 0; i < n; i++) {
    for (const c of r) {
      const d = (i - c) / fs;
      if (d < -0.1 || d > 0.5) continue;
      clean[i]! += Math.exp(-0.5 * (d / 0.015) ** 2) + 0.3 * Math.exp(-0.5 * ((d - 0.25) / 0.04) ** 2);
    }
  }
  return { clean, r };
}

/** Clean ECG plus 0.5 mV of 0.2 Hz wander on a 0.3 mV electrode offset. */
function withDrift(clean: Float32Array, fs: number): Float32Array {
  return clean.map((v, i) => v + 0.3 + 0.5 * Math.sin((2 * Math.PI * 0.2 * i) / fs + 1));
}

function argmax(y: Float32Array, from = 0, to = y.length): number {
  let k = from;
  for (let i = from; i < to; i++) if (y[i]! > y[k]!) k = i;
  return k;
}

describe('bandpass', () => {
  const bp = (x: Float32Array) => bandpass(x, FS, 0.5, 40);
  const sos = butterBandpass(2, 0.5, 40, FS);

  it('passes 10 Hz within 1 % and takes 0.1 Hz down by more than 20 dB', () => {
    assert.ok(Math.abs(measuredGain(bp, 10) - 1) < 0.01);
    assert.ok(measuredGain(bp, 0.1) < 0.1);
  });

  it('matches the squared design response (zero phase runs the filter twice)', () => {
    for (const f of [0.25, 0.5, 2, 10, 40, 60, 100]) {
      const want = sosGain(sos, f, FS) ** 2;
      const got = measuredGain(bp, f);
      assert.ok(Math.abs(got - want) < 0.01 * want + 1e-4, `${f} Hz: measured ${got}, designed ${want}`);
    }
  });

  it('keeps a pulse peak on its sample (zero phase)', () => {
    const x = new Float32Array(10 * FS);
    for (let i = 0; i < x.length; i++) x[i] = Math.exp(-0.5 * ((i - 1801) / 5) ** 2);
    assert.equal(argmax(bp(x)), 1801);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = new Float32Array(100);
    assert.throws(() => bandpass(x, 0, 0.5, 40), /bandpass: sampling rate must be a positive/);
    assert.throws(() => bandpass(x, Number.NaN, 0.5, 40), RangeError);
    assert.throws(() => bandpass(x, 60, 0.5, 40), /high cut-off 40 Hz must lie in \(0, 30\) Hz/);
    assert.throws(() => bandpass(x, FS, 0, 40), /low cut-off/);
    assert.throws(() => bandpass(x, FS, 40, 10), /must be below/);
    assert.throws(() => bandpass(x, FS, 0.5, 40, 0), /order must be a positive integer/);
  });
});

describe('removePowerline', () => {
  it('takes 60 Hz down by more than 20 dB and passes 10 Hz within 1 %', () => {
    const f = (x: Float32Array) => removePowerline(x, FS, 60);
    assert.ok(measuredGain(f, 60) < 0.1);
    assert.ok(Math.abs(measuredGain(f, 10) - 1) < 0.01);
    // Mains drifts: ±0.2 Hz is still down by more than 20 dB (zero phase squares the notch).
    assert.ok(measuredGain(f, 60.25) < 0.1);
    assert.ok(Math.abs(measuredGain(f, 60.25) - sosGain(notch(60, 30, FS), 60.25, FS) ** 2) < 1e-3);
  });

  it('notches the harmonics below Nyquist by default, the fundamental alone with harmonics = 1', () => {
    assert.ok(measuredGain((x) => removePowerline(x, FS, 60), 120) < 0.1);
    assert.ok(measuredGain((x) => removePowerline(x, FS, 60, 1), 120) > 0.99);
    const fs = 500;
    for (const f of [50, 100, 150, 200])
      assert.ok(measuredGain((x) => removePowerline(x, fs, 50), f, fs) < 0.1);
    assert.ok(Math.abs(measuredGain((x) => removePowerline(x, fs, 50), 75, fs) - 1) < 0.01);
  });

  it('rejects bad arguments', () => {
    const x = new Float32Array(100);
    assert.throws(() => removePowerline(x, 100, 60), /mains frequency 60 Hz must lie in \(0, 50\) Hz/);
    assert.throws(() => removePowerline(x, FS, 55 as 50), /must be 50 or 60 Hz/);
    assert.throws(() => removePowerline(x, FS, 50, 0), /harmonics must be a positive integer/);
    assert.throws(() => removePowerline(x, -1, 50), /sampling rate/);
  });
});

describe('removeBaseline', () => {
  const { clean, r } = syntheticEcg(FS);
  const drifting = withDrift(clean, FS);

  for (const method of ['median', 'highpass'] as const) {
    it(`${method}: leaves < 5 % of the energy below 0.5 Hz and R waves within 10 %`, () => {
      const y = removeBaseline(drifting, FS, method);
      const ratio = lowBandEnergy(y, FS, 0.5) / lowBandEnergy(drifting, FS, 0.5);
      assert.ok(ratio < 0.05, `${(100 * ratio).toFixed(2)} % left`);
      // R amplitude above the PR-segment level (100 ms before R), as read off an ECG.
      for (const c of r.slice(1, -1)) {
        const amp = y[c]! - y[c - Math.round(0.1 * FS)]!;
        assert.ok(Math.abs(amp - 1) < 0.1, `R at ${c}: ${amp} mV`);
        assert.equal(argmax(y, c - 10, c + 11), c);
      }
    });

    it(`${method}: keeps T waves within 10 % under gentle wander`, () => {
      // 0.1 mV at 0.2 Hz. (Under the 0.5 mV wander above, the median baseline rides up to 0.1 mV into the
      // T wave: a trend across the 600 ms window biases its median. The high-pass does not.)
      const gentle = clean.map((v, i) => v + 0.3 + 0.1 * Math.sin((2 * Math.PI * 0.2 * i) / FS + 1));
      const y = removeBaseline(gentle, FS, method);
      // The 600 ms stage exists for this: a 200 ms median alone takes the T wave down to ~0.17 mV.
      for (const c of r.slice(1, -1)) {
        const t = y[c + Math.round(0.25 * FS)]! - y[c - Math.round(0.1 * FS)]!;
        assert.ok(Math.abs(t - 0.3) < 0.03, `T after ${c}: ${t} mV`);
      }
    });
  }

  it('median: puts the isoelectric line back at 0 mV despite the offset and wander', () => {
    const y = removeBaseline(drifting, FS);
    for (const c of r.slice(1, -1)) assert.ok(Math.abs(y[c - Math.round(0.1 * FS)]!) < 0.03);
  });

  it('rejects a bad sampling rate', () => {
    assert.throws(() => removeBaseline(new Float32Array(10), 0), /removeBaseline: sampling rate/);
    assert.throws(() => removeBaseline(new Float32Array(10), 0.8, 'highpass'), /cut-off 0.5 Hz/);
  });
});

describe('medianFilter', () => {
  /** Sort-per-sample reference with the same mirrored ends. */
  function reference(x: Float32Array, w: number): Float32Array {
    const n = x.length;
    const h = (w - 1) / 2;
    return x.map((_, i) => {
      const win: number[] = [];
      for (let k = i - h; k <= i + h; k++) {
        const m = ((k % (2 * n)) + 2 * n) % (2 * n);
        win.push(x[m < n ? m : 2 * n - 1 - m]!);
      }
      return win.sort((a, b) => a - b)[h]!;
    });
  }

  it('equals the sorted-window median, ties and windows longer than the signal included', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(rand() * 200);
      const levels = trial % 2 === 0 ? 4 : 1e6; // many ties, or almost none
      // `+ 0` turns −0 into 0: the two tie, and deepEqual would tell them apart.
      const x = new Float32Array(n).map(() => Math.round((rand() - 0.5) * levels) / 8 + 0);
      const w = 2 * Math.floor(rand() * 40) + 1;
      assert.deepEqual(medianFilter(x, w), reference(x, w), `n = ${n}, w = ${w}`);
    }
  });

  it('rejects even or non-integer windows', () => {
    assert.throws(() => medianFilter(new Float32Array(5), 4), /positive odd integer/);
    assert.throws(() => medianFilter(new Float32Array(5), 2.5), /positive odd integer/);
  });
});

describe('cleanEcg', () => {
  const { clean, r } = syntheticEcg(FS);
  // Drift, 0.2 mV of 60 Hz hum and 0.1 mV of 100 Hz noise on top of the clean beats.
  const noisy = withDrift(clean, FS).map(
    (v, i) => v + 0.2 * Math.sin((2 * Math.PI * 60 * i) / FS) + 0.1 * Math.sin((2 * Math.PI * 100 * i) / FS),
  );

  for (const baseline of ['median', 'highpass'] as const) {
    it(`${baseline}: removes hum and wander and keeps R waves in place and within 10 %`, () => {
      const y = cleanEcg(noisy, FS, { baseline, mainsHz: 60 });
      assert.ok(amplitudeAt(y, 60, FS, SPAN) < 0.002); // 0.2 mV down by > 40 dB
      assert.ok(amplitudeAt(y, 100, FS, SPAN) < 0.01); // 40 Hz low-pass: > 20 dB
      assert.ok(lowBandEnergy(y, FS, 0.5) / lowBandEnergy(noisy, FS, 0.5) < 0.05);
      for (const c of r.slice(1, -1)) {
        assert.equal(argmax(y, c - 10, c + 11), c);
        const amp = y[c]! - y[c - Math.round(0.1 * FS)]!;
        assert.ok(Math.abs(amp - 1) < 0.1, `R at ${c}: ${amp} mV`);
      }
    });
  }

  it('without a notch the 40 Hz low-pass alone leaves more hum than with it', () => {
    const plain = amplitudeAt(cleanEcg(noisy, FS), 60, FS, SPAN);
    assert.ok(plain > 0.01 && plain < 0.2 * 0.2);
  });

  it('rejects a low-pass at or above Nyquist', () => {
    assert.throws(() => cleanEcg(new Float32Array(10), 80), /cleanEcg: low-pass cut-off 40 Hz/);
    assert.throws(() => cleanEcg(new Float32Array(10), Number.POSITIVE_INFINITY), /sampling rate/);
  });
});
