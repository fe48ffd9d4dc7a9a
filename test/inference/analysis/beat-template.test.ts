import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTemplate, WINDOW_LENGTH, windowTensor } from '../../../src/inference/analysis/beat-input.js';

const beats = (values: number[][]) => {
  const w = new Float32Array(values.length * WINDOW_LENGTH);
  for (const [i, row] of values.entries()) for (const [k, v] of row.entries()) w[i * WINDOW_LENGTH + k] = v;
  return w;
};

describe('record template (second beat-model channel)', () => {
  it('is the per-sample median like numpy.median: middle value for odd, mean of the two middle for even counts', () => {
    const odd = recordTemplate(
      beats([
        [1, 10],
        [3, 30],
        [2, 20],
      ]),
      3,
    );
    assert.deepEqual([odd[0], odd[1]], [2, 20]);
    const even = recordTemplate(
      beats([
        [1, 5],
        [4, 7],
        [2, 6],
        [100, 8],
      ]),
      4,
    );
    assert.deepEqual([even[0], even[1]], [3, 6.5]);
  });

  it('is robust to a minority of ectopic beats: the template keeps the dominant morphology', () => {
    const normal = Array.from({ length: WINDOW_LENGTH }, (_, k) => Math.exp(-(((k - 90) / 8) ** 2)));
    const ectopic = normal.map((v) => -2 * v);
    const t = recordTemplate(beats([normal, normal, ectopic, normal, normal]), 5);
    assert.ok(Math.abs(t[90]! - 1) < 1e-6);
  });

  it('lays out [beat, template] per row for two channels and leaves one channel alone', () => {
    const w = beats([[1], [3]]);
    const x = windowTensor(w, 2, 2);
    assert.equal(x.length, 4 * WINDOW_LENGTH);
    assert.deepEqual([x[0], x[WINDOW_LENGTH], x[2 * WINDOW_LENGTH], x[3 * WINDOW_LENGTH]], [1, 2, 3, 2]);
    assert.equal(windowTensor(w, 2, 1), w);
  });
});
