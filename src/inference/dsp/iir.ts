/**
 * IIR filtering over typed arrays: second-order sections designed with `fili`, run by our own loop.
 *
 * fili (https://github.com/markert/fili.js) designs the Butterworth / RBJ biquads; its own runner works on
 * plain arrays through closures and has no zero-phase initial conditions, so the per-sample loop here is
 * ours (transposed direct form II over Float32Array, no allocation per sample). `filtfilt` follows
 * scipy.signal.sosfiltfilt: odd reflection padding and steady-state initial conditions (Gustafsson-style
 * start-up transient suppression), giving zero phase and squared magnitude response.
 */
import Fili from 'fili';

/** One second-order section, normalised so a0 = 1: y = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2). */
export interface Biquad {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

export type Sos = readonly Biquad[];

interface FiliStage {
  a: number[];
  b: number[];
  k: number;
}

const cascades = new Fili.CalcCascades();

function fromFili(stages: FiliStage[]): Sos {
  // fili runs each stage as w = k·x − a1·w1 − a2·w2; y = b0·w + b1·w1 + b2·w2.
  return stages.map((s) => ({
    b0: s.b[0]! * s.k,
    b1: s.b[1]! * s.k,
    b2: s.b[2]! * s.k,
    a1: s.a[0]!,
    a2: s.a[1]!,
  }));
}

function checkCutoff(fc: number, fs: number, what: string): void {
  if (!(fs > 0)) throw new RangeError(`${what}: sampling rate must be positive, got ${fs}`);
  if (!(fc > 0 && fc < fs / 2))
    throw new RangeError(`${what}: cutoff ${fc} Hz must lie in (0, ${fs / 2}) Hz`);
}

/** Butterworth low-pass of the given order (even orders map to order/2 biquads). */
export function butterLowpass(order: number, fc: number, fs: number): Sos {
  checkCutoff(fc, fs, 'butterLowpass');
  return fromFili(
    cascades.lowpass({ order: Math.ceil(order / 2), characteristic: 'butterworth', Fs: fs, Fc: fc }),
  );
}

/** Butterworth high-pass of the given order. */
export function butterHighpass(order: number, fc: number, fs: number): Sos {
  checkCutoff(fc, fs, 'butterHighpass');
  return fromFili(
    cascades.highpass({ order: Math.ceil(order / 2), characteristic: 'butterworth', Fs: fs, Fc: fc }),
  );
}

/** Band-pass as a Butterworth high-pass at `lo` cascaded with a low-pass at `hi`. */
export function butterBandpass(order: number, lo: number, hi: number, fs: number): Sos {
  if (!(lo < hi)) throw new RangeError(`butterBandpass: low edge ${lo} Hz must be below high edge ${hi} Hz`);
  return [...butterHighpass(order, lo, fs), ...butterLowpass(order, hi, fs)];
}

/** RBJ notch (band-stop biquad) at `f0` with quality factor `q` (bandwidth ≈ f0 / q). */
export function notch(f0: number, q: number, fs: number): Sos {
  checkCutoff(f0, fs, 'notch');
  const w = (2 * Math.PI * f0) / fs;
  const alpha = Math.sin(w) / (2 * q);
  const a0 = 1 + alpha;
  // Audio EQ Cookbook (R. Bristow-Johnson), notch: b = [1, -2cos w, 1], a = [1 + α, -2cos w, 1 - α].
  return [
    {
      b0: 1 / a0,
      b1: (-2 * Math.cos(w)) / a0,
      b2: 1 / a0,
      a1: (-2 * Math.cos(w)) / a0,
      a2: (1 - alpha) / a0,
    },
  ];
}

/** Causal filtering (like scipy.signal.sosfilt with zero initial state). Returns a new array. */
export function sosfilt(sos: Sos, x: Float32Array): Float32Array {
  const y = Float32Array.from(x);
  for (const s of sos) runSection(s, y, 0, y.length, 1, 0, 0);
  return y;
}

/** Zero-phase forward-backward filtering (like scipy.signal.sosfiltfilt). Returns a new array. */
export function sosfiltfilt(sos: Sos, x: Float32Array): Float32Array {
  const n = x.length;
  if (n === 0) return new Float32Array(0);
  const pad = Math.min(n - 1, 3 * (2 * sos.length + 1));
  const ext = new Float32Array(n + 2 * pad);
  const x0 = x[0]!;
  const xn = x[n - 1]!;
  for (let i = 0; i < pad; i++) ext[i] = 2 * x0 - x[pad - i]!;
  ext.set(x, pad);
  for (let i = 0; i < pad; i++) ext[pad + n + i] = 2 * xn - x[n - 2 - i]!;
  const len = ext.length;
  for (const s of sos) {
    const [z1, z2] = steadyState(s);
    const first = ext[0]!;
    runSection(s, ext, 0, len, 1, z1 * first, z2 * first);
  }
  for (const s of sos) {
    const [z1, z2] = steadyState(s);
    const last = ext[len - 1]!;
    runSection(s, ext, len - 1, -1, -1, z1 * last, z2 * last);
  }
  return ext.slice(pad, pad + n);
}

/** Transposed DF-II state that makes a unit step input produce its steady-state output at once (scipy sosfilt_zi). */
function steadyState(s: Biquad): [number, number] {
  // At steady state with x = 1: y = dc, z2 = b2 − a2·dc, z1 = b1 − a1·dc + z2 (and y = b0 + z1 holds).
  const dc = (s.b0 + s.b1 + s.b2) / (1 + s.a1 + s.a2);
  const z2 = s.b2 - s.a2 * dc;
  return [s.b1 - s.a1 * dc + z2, z2];
}

/** In-place transposed direct form II over x[from..to) stepping by `step`. */
function runSection(
  s: Biquad,
  x: Float32Array,
  from: number,
  to: number,
  step: 1 | -1,
  zi1: number,
  zi2: number,
): void {
  const { b0, b1, b2, a1, a2 } = s;
  let z1 = zi1;
  let z2 = zi2;
  for (let i = from; i !== to; i += step) {
    const xi = x[i]!;
    const yi = b0 * xi + z1;
    z1 = b1 * xi - a1 * yi + z2;
    z2 = b2 * xi - a2 * yi;
    x[i] = yi;
  }
}

/** Complex gain |H(e^{jw})| of the cascade at frequency f (Hz). Used by tests and filter reports. */
export function sosGain(sos: Sos, f: number, fs: number): number {
  const w = (2 * Math.PI * f) / fs;
  const c1 = Math.cos(w);
  const s1 = -Math.sin(w);
  const c2 = Math.cos(2 * w);
  const s2 = -Math.sin(2 * w);
  let g = 1;
  for (const s of sos) {
    const nr = s.b0 + s.b1 * c1 + s.b2 * c2;
    const ni = s.b1 * s1 + s.b2 * s2;
    const dr = 1 + s.a1 * c1 + s.a2 * c2;
    const di = s.a1 * s1 + s.a2 * s2;
    g *= Math.hypot(nr, ni) / Math.hypot(dr, di);
  }
  return g;
}
