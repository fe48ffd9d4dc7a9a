import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchBeats, referenceBeats, score, vfIntervals } from '../../../src/inference/eval/qrs-match.js';
import type { Annotation } from '../../../src/inference/io/wfdb-annotation.js';

const ann = (sample: number, symbol: string, aux = ''): Annotation => ({
  sample,
  symbol,
  aux,
  code: 0,
  subtype: 0,
  chan: 0,
  num: 0,
});

describe('EC57 beat matching', () => {
  const fs = 360; // 150 ms = 54 samples

  it('counts a detection within 150 ms as a true positive and one outside as FN + FP', () => {
    const m = matchBeats([1000, 2000], [1054, 2055], fs);
    assert.deepEqual(m.counts, { tp: 1, fn: 1, fp: 1 });
  });

  it('matches each reference beat at most once', () => {
    const m = matchBeats([1000], [990, 1010], fs);
    assert.deepEqual(m.counts, { tp: 1, fn: 0, fp: 1 });
    assert.equal(m.refToDet[0], 0);
  });

  it('leaves a detection that is nearer the next beat for that beat', () => {
    // Beats 80 samples apart (a couplet); the only detection lies at 1070, nearer the second beat.
    const m = matchBeats([1000, 1080], [1070], fs);
    assert.deepEqual(m.counts, { tp: 1, fn: 1, fp: 0 });
    assert.equal(m.refToDet[1], 0);
  });

  it('does not count detections inside ventricular flutter as false positives', () => {
    const anns = [
      ann(0, '+', '(N'),
      ann(500, 'N'),
      ann(1000, '+', '(VFL'),
      ann(3000, '+', '(N'),
      ann(3500, 'N'),
    ];
    const vf = vfIntervals(anns, 5000);
    assert.deepEqual(vf, [[1000, 3000]]);
    const refs = referenceBeats(anns).map((a) => a.sample);
    assert.deepEqual(refs, [500, 3500]);
    const m = matchBeats(refs, [500, 1500, 2000, 3200, 3500], fs, vf);
    assert.deepEqual(m.counts, { tp: 2, fn: 0, fp: 1 }); // only 3200 (after the episode) is a false positive
  });

  it('reads [ and ] episode brackets and an episode running to the end', () => {
    const anns = [ann(100, '['), ann(400, ']'), ann(900, '+', '(VF')];
    assert.deepEqual(vfIntervals(anns, 1000), [
      [100, 401],
      [900, 1000],
    ]);
  });

  it('scores Se, +P and F1 as fractions', () => {
    const s = score({ tp: 90, fn: 10, fp: 30 });
    assert.equal(s.se, 0.9);
    assert.equal(s.ppv, 0.75);
    assert.ok(Math.abs(s.f1 - 180 / 220) < 1e-12);
    assert.deepEqual(score({ tp: 0, fn: 0, fp: 0 }), { tp: 0, fn: 0, fp: 0, se: 0, ppv: 0, f1: 0 });
  });
});
