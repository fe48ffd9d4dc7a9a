import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AamiClass } from '../../../src/inference/analysis/aami.js';
import { countCouplets, findPatterns, findRuns } from '../../../src/inference/analysis/runs.js';

const seq = (s: string) => [...s] as AamiClass[];
const evenly = (n: number, rr: number, fs = 100) =>
  Array.from({ length: n }, (_, i) => Math.round(i * rr * fs));

describe('ectopic patterns', () => {
  it('finds a VT run of 4 beats at 150 bpm and its rate', () => {
    const labels = seq('NNNVVVVNNN');
    const runs = findRuns(labels, evenly(labels.length, 0.4), 100);
    assert.equal(runs.length, 1);
    assert.deepEqual(
      { ...runs[0], rateBpm: Math.round(runs[0]!.rateBpm) },
      { label: 'V', first: 3, length: 4, rateBpm: 150 },
    );
  });

  it('does not call a couplet a run, and counts couplets', () => {
    const labels = seq('NVVNNVVNVN');
    assert.equal(findRuns(labels, evenly(labels.length, 0.8), 100).length, 0);
    assert.equal(countCouplets(labels), 2);
  });

  it('finds an SVT run', () => {
    const labels = seq('NNSSSSSNN');
    assert.equal(findRuns(labels, evenly(labels.length, 0.35), 100)[0]?.label, 'S');
  });

  it('finds bigeminy of 4 cycles and trigeminy of 3, and nothing in sinus rhythm', () => {
    assert.deepEqual(findPatterns(seq('NNVNVNVNVNN')), [
      { kind: 'bigeminy', first: 1, length: 8, cycles: 4 },
    ]);
    assert.deepEqual(findPatterns(seq('NNVNNVNNVN')), [
      { kind: 'trigeminy', first: 0, length: 9, cycles: 3 },
    ]);
    assert.deepEqual(findPatterns(seq('NNNNNNNNNN')), []);
    assert.deepEqual(findPatterns(seq('NVNVNN')), []); // two cycles are not enough
  });
});
