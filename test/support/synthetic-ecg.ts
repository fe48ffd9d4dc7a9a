/** Synthetic ECG for tests that need known beats: shared by the input-contract and quality-gate tests. */

/** A beat as a sum of Gaussians (P, Q, R, S, T) around time 0, in mV; widths and delays are typical adult values. */
export function beatShape(t: number, rAmp: number): number {
  const g = (mu: number, sigma: number, a: number) => a * Math.exp(-0.5 * ((t - mu) / sigma) ** 2);
  return (
    g(-0.16, 0.025, 0.15) +
    g(-0.025, 0.008, -0.15) +
    g(0, 0.01, rAmp) +
    g(0.03, 0.01, -0.3) +
    g(0.28, 0.045, 0.35)
  );
}

/**
 * A synthetic ECG sampled at `fs`: beats at `beatTimes` (s), each R of amplitude `rAmp`, plus 0.2 Hz baseline
 * wander of 0.4 mV that the models' band-pass must remove.
 */
export function synth(fs: number, seconds: number, beatTimes: readonly number[], rAmp = 1.2): Float32Array {
  const x = new Float32Array(Math.round(seconds * fs));
  for (let i = 0; i < x.length; i++) {
    const t = i / fs;
    let v = 0.4 * Math.sin(2 * Math.PI * 0.2 * t);
    for (const b of beatTimes) if (Math.abs(t - b) < 0.6) v += beatShape(t - b, rAmp);
    x[i] = v;
  }
  return x;
}
