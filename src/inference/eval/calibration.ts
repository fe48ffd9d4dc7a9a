/**
 * Calibration measures: expected calibration error (Guo et al., "On Calibration of Modern Neural
 * Networks", ICML 2017: top-label confidence in 15 equal-width bins) and undoing a temperature.
 */

/** ECE over (confidence, correct) pairs, 15 equal-width bins. */
export function expectedCalibrationError(
  confidence: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  bins = 15,
): number {
  const n = confidence.length;
  if (n === 0) return 0;
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const acc = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const c = confidence[i]!;
    const b = Math.min(bins - 1, Math.floor(c * bins));
    count[b]!++;
    conf[b]! += c;
    if (correct[i]) acc[b]!++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += Math.abs(acc[b]! - conf[b]!) / n;
  return ece;
}

/**
 * Probabilities at temperature 1 from probabilities computed at temperature T: softmax(z/T) = p ⇒
 * z = T·log p + const, so softmax(T·log p) recovers softmax(z). Used to report ECE before calibration.
 */
export function atTemperatureOne(p: readonly number[], temperature: number): number[] {
  const logits = p.map((v) => temperature * Math.log(Math.max(v, 1e-30)));
  const max = Math.max(...logits);
  const e = logits.map((z) => Math.exp(z - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
