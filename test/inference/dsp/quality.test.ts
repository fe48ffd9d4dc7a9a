import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectQrsDetailed } from '../../../src/inference/dsp/qrs.js';
import { signalQuality } from '../../../src/inference/dsp/quality.js';
import { readWfdbRecord } from '../../../src/inference/io/record.js';
import { FIXTURES, SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

const leadsOf = async (path: string) => {
  const { ecg } = await readWfdbRecord(path);
  return { leads: ecg.leads.map((l) => l.samples), fs: ecg.fs };
};

/**
 * A synthetic lead in mV: P (0.12 mV), a narrow QRS (1.5 mV, σ 12 ms) and a T wave (0.3 mV, σ 50 ms) at
 * 0.7 × a Bazett QT of 0.4 √RR, plus white noise of SD `noiseMv` from a fixed-seed generator.
 */
function syntheticEcg(bpm: number, fs: number, seconds: number, noiseMv = 0): Float32Array {
  const n = seconds * fs;
  const x = new Float32Array(n);
  const rr = 60 / bpm;
  const qt = 0.4 * Math.sqrt(rr);
  const bump = (dt: number, mv: number, sd: number) => mv * Math.exp(-0.5 * (dt / sd) ** 2);
  for (let t = 0.3; t < seconds; t += rr) {
    for (let i = Math.max(0, Math.floor((t - 1) * fs)); i < Math.min(n, (t + 1) * fs); i++) {
      const dt = i / fs - t;
      x[i]! += bump(dt + 0.15, 0.12, 0.025) + bump(dt, 1.5, 0.012) + bump(dt - 0.7 * qt, 0.3, 0.05);
    }
  }
  let seed = 1;
  const uniform = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return (seed + 1) / 2 ** 32;
  };
  for (let i = 0; i < n; i++)
    x[i]! += noiseMv * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return x;
}

describe('signal-quality index', () => {
  it('marks every 5-s segment of clean record 100 readable', async () => {
    const { leads, fs } = await leadsOf(join(FIXTURES, 'mitdb/mitdb-100-0m-5m'));
    const q = signalQuality(leads, fs);
    assert.equal(q.length, 60);
    assert.ok(
      q.every((s) => s.readable && s.sqi > 0.8),
      JSON.stringify(q.filter((s) => !s.readable)),
    );
  });

  it('still flags much of record 118 with electrode-motion noise at 0 dB', async () => {
    const { leads, fs } = await leadsOf(join(FIXTURES, 'nstdb/nstdb-118e00-5m-7m'));
    const q = signalQuality(leads, fs);
    const flagged = q.filter((s) => !s.readable);
    // 10 of 24 with the between-beats floor, 12 with the all-blocks floor it replaced (issue #9).
    assert.ok(flagged.length >= q.length / 3, `${flagged.length} of ${q.length} segments flagged`);
    assert.ok(flagged.every((s) => s.reason === 'noise'));
  });

  it('reads clean tachycardia as readable: svdb-dev 848 at ~145 bpm, PTB-XL 00351 at ~156 bpm', async () => {
    for (const path of ['svdb-dev/svdb-dev-848-4m-6m', 'ptbxl/00351_hr']) {
      const { leads, fs } = await leadsOf(join(FIXTURES, path));
      const q = signalQuality(leads, fs);
      const unreadable = q.filter((s) => !s.readable);
      assert.ok(
        unreadable.length <= 0.05 * q.length,
        `${path}: ${unreadable.length} of ${q.length} unreadable`,
      );
      // The all-blocks floor called all of both noise: at these rates QRS complexes fill most 100 ms blocks.
      assert.ok(
        signalQuality(leads, fs, { floor: 'all-blocks' }).every((s) => !s.readable),
        path,
      );
    }
  });

  it('clean synthetic ECG is readable up to 180 bpm; white noise rivalling the QRS is flagged at any rate', () => {
    const fs = 250;
    for (const bpm of [60, 150, 180]) {
      const clean = signalQuality([syntheticEcg(bpm, fs, 30)], fs);
      assert.ok(
        clean.every((s) => s.readable && s.sqi > 0.8),
        `${bpm} bpm clean: ${clean.map((s) => s.sqi.toFixed(2))}`,
      );
      const noisy = signalQuality([syntheticEcg(bpm, fs, 30, 1)], fs);
      assert.ok(
        noisy.every((s) => !s.readable && s.reason === 'noise'),
        `${bpm} bpm + 1 mV noise: ${noisy.map((s) => s.sqi.toFixed(2))}`,
      );
    }
  });

  it('given R peaks from the detector, gives the same as detecting them itself', async () => {
    const { leads, fs } = await leadsOf(join(FIXTURES, 'svdb-dev/svdb-dev-848-4m-6m'));
    const { peaks, leadFeatures } = detectQrsDetailed(leads, fs);
    assert.deepEqual(signalQuality(leads, fs, { leadFeatures, peaks }), signalQuality(leads, fs));
  });

  it('reports a flat lead as flat and a masked lead as invalid', () => {
    const fs = 250;
    const flat = new Float32Array(10 * fs);
    assert.deepEqual(
      signalQuality([flat], fs).map((s) => [s.readable, s.reason]),
      [
        [false, 'flat'],
        [false, 'flat'],
      ],
    );
    const sine = Float32Array.from({ length: 10 * fs }, (_, i) => Math.sin((2 * Math.PI * i) / fs));
    const mask = new Uint8Array(10 * fs).fill(1);
    assert.equal(signalQuality([sine], fs, { invalid: [mask] })[0]!.reason, 'invalid');
  });

  it('segments cover the record exactly, the last one short', () => {
    const fs = 100;
    const x = Float32Array.from({ length: 1234 }, (_, i) => Math.sin(i));
    const q = signalQuality([x], fs, { segmentSeconds: 5 });
    assert.deepEqual(
      q.map((s) => [s.start, s.end]),
      [
        [0, 500],
        [500, 1000],
        [1000, 1234],
      ],
    );
  });

  it('flags more of the record as the noise grows (nstdb 118e24 < 118e12 < 118e00)', {
    skip: skipUnlessSharedData,
  }, async () => {
    const fraction = async (rec: string) => {
      const { leads, fs } = await leadsOf(join(SHARED_DATA, 'nstdb', rec));
      const q = signalQuality(leads, fs, { segmentSeconds: 10 });
      return q.filter((s) => !s.readable).length / q.length;
    };
    const [e24, e12, e00, clean] = await Promise.all(
      ['118e24', '118e12', '118e00']
        .map(fraction)
        .concat(
          leadsOf(join(SHARED_DATA, 'mitdb', '118')).then(
            ({ leads, fs }) =>
              signalQuality(leads, fs, { segmentSeconds: 10 }).filter((s) => !s.readable).length,
          ),
        ),
    );
    assert.equal(clean, 0);
    assert.ok(e24! <= e12! && e12! < e00!, `${e24} ${e12} ${e00}`);
    assert.ok(e00! > 0.2, `0 dB: ${e00}`);
  });
});
