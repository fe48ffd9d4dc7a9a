import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { signalQuality } from '../../../src/inference/dsp/quality.js';
import { readWfdbRecord } from '../../../src/inference/io/record.js';
import { FIXTURES, SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

const leadsOf = async (path: string) => {
  const { ecg } = await readWfdbRecord(path);
  return { leads: ecg.leads.map((l) => l.samples), fs: ecg.fs };
};

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

  it('flags noisy stretches of record 118 with electrode-motion noise at 0 dB', async () => {
    const { leads, fs } = await leadsOf(join(FIXTURES, 'nstdb/nstdb-118e00-5m-7m'));
    const q = signalQuality(leads, fs);
    const flagged = q.filter((s) => !s.readable);
    assert.ok(flagged.length >= 4, `${flagged.length} of ${q.length} segments flagged`);
    assert.ok(flagged.every((s) => s.reason === 'noise'));
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
