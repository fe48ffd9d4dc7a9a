import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atTemperatureOne, expectedCalibrationError } from '../../../src/inference/eval/calibration.js';

describe('calibration measures', () => {
  it('ECE is 0 for confidences that match accuracy and large for overconfidence', () => {
    // 10 predictions at confidence 0.7, 7 correct: perfectly calibrated.
    const conf = Array(10).fill(0.7);
    const ok = [...Array(7).fill(true), ...Array(3).fill(false)];
    assert.ok(expectedCalibrationError(conf, ok) < 1e-12);
    // Confidence 0.99 but half wrong: ECE ≈ 0.49.
    const over = Array(10).fill(0.99);
    const half = [...Array(5).fill(true), ...Array(5).fill(false)];
    assert.ok(Math.abs(expectedCalibrationError(over, half) - 0.49) < 1e-9);
  });

  it('recovers temperature-1 probabilities from tempered ones', () => {
    const z = [2, 0.5, -1];
    const softmax = (v: number[]) => {
      const e = v.map(Math.exp);
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / s);
    };
    const p2 = softmax(z.map((v) => v / 2));
    const back = atTemperatureOne(p2, 2);
    for (const [i, v] of softmax(z).entries()) assert.ok(Math.abs(v - back[i]!) < 1e-12);
  });
});
