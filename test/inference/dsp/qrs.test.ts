import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectQrs } from '../../../src/inference/dsp/qrs.js';
import { resample } from '../../../src/inference/dsp/resample.js';
import { primaryLead } from '../../../src/inference/ecg.js';
import { matchBeats, referenceBeats, score, vfIntervals } from '../../../src/inference/eval/qrs-match.js';
import { readAnnotations, readWfdbRecord } from '../../../src/inference/io/record.js';
import { FIXTURES } from '../../support/shared-data.js';

async function fixture(name: string) {
  const path = join(FIXTURES, name);
  const [{ ecg }, anns] = await Promise.all([readWfdbRecord(path), readAnnotations(path)]);
  return { ecg, anns };
}

describe('QRS detector on committed MIT-BIH excerpts', () => {
  for (const [name, minSe, minPpv] of [
    ['mitdb/mitdb-100-0m-5m', 1, 1],
    ['mitdb/mitdb-201-1m-4m', 0.99, 0.99],
    ['mitdb/mitdb-119-21m-24m', 0.99, 0.99],
  ] as const) {
    it(`${name}: Se ≥ ${minSe * 100} %, +P ≥ ${minPpv * 100} % on both leads`, async () => {
      const { ecg, anns } = await fixture(name);
      const peaks = detectQrs(
        ecg.leads.map((l) => l.samples),
        ecg.fs,
      );
      const refs = referenceBeats(anns).map((a) => a.sample);
      const s = score(
        matchBeats(refs, peaks, ecg.fs, vfIntervals(anns, ecg.leads[0]!.samples.length)).counts,
      );
      assert.ok(s.se >= minSe, `Se ${s.se}`);
      assert.ok(s.ppv >= minPpv, `+P ${s.ppv}`);
    });
  }

  for (const fsOut of [128, 250, 300, 500]) {
    it(`finds the beats of record 100 resampled to ${fsOut} Hz (one and two leads)`, async () => {
      const { ecg, anns } = await fixture('mitdb/mitdb-100-0m-5m');
      const leads = ecg.leads.map((l) => resample(l.samples, ecg.fs, fsOut));
      const refs = referenceBeats(anns).map((a) => Math.round((a.sample * fsOut) / ecg.fs));
      for (const use of [leads.slice(0, 1), leads]) {
        const s = score(matchBeats(refs, detectQrs(use, fsOut), fsOut).counts);
        assert.ok(
          s.se >= 0.995 && s.ppv >= 0.995,
          `${use.length} lead(s) at ${fsOut} Hz: Se ${s.se}, +P ${s.ppv}`,
        );
      }
    });
  }

  it('places R peaks within 30 ms of the reference annotations', async () => {
    const { ecg, anns } = await fixture('mitdb/mitdb-100-0m-5m');
    const peaks = detectQrs(
      ecg.leads.map((l) => l.samples),
      ecg.fs,
    );
    const refs = referenceBeats(anns).map((a) => a.sample);
    const m = matchBeats(refs, peaks, ecg.fs);
    const errors = refs.map((r, i) => Math.abs(peaks[m.refToDet[i]!]! - r) / ecg.fs).sort((a, b) => a - b);
    assert.ok(
      errors[Math.floor(errors.length * 0.95)]! < 0.03,
      `95th percentile error ${errors[Math.floor(errors.length * 0.95)]} s`,
    );
  });
});

describe('QRS detector on other databases and lead counts', () => {
  it('12-lead PTB-XL at 500 Hz: fused detection agrees beat for beat with lead II alone', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'ptbxl/00003_hr'));
    assert.equal(ecg.leads.length, 12);
    const all = detectQrs(
      ecg.leads.map((l) => l.samples),
      ecg.fs,
    );
    const ii = detectQrs([primaryLead(ecg).samples], ecg.fs);
    const bpm = (60 * (all.length - 1)) / ((all[all.length - 1]! - all[0]!) / ecg.fs);
    assert.ok(bpm > 40 && bpm < 120, `rate ${bpm}`);
    assert.equal(all.length, ii.length);
    const s = score(matchBeats(Array.from(ii), all, ecg.fs).counts);
    assert.equal(s.f1, 1);
  });

  it('single-lead CinC 2017 at 300 Hz: regular RR in a sinus recording', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'cinc2017/A00007'));
    const peaks = detectQrs([ecg.leads[0]!.samples], ecg.fs);
    const rr = Array.from(peaks.subarray(1), (p, i) => (p - peaks[i]!) / ecg.fs);
    const mean = rr.reduce((a, b) => a + b, 0) / rr.length;
    const cv = Math.sqrt(rr.reduce((a, b) => a + (b - mean) ** 2, 0) / rr.length) / mean;
    assert.ok(rr.length > 15, `${rr.length} intervals in 30 s`);
    assert.ok(cv < 0.15, `RR coefficient of variation ${cv}`);
  });

  it('returns no beats, without throwing, for a flat line or a record shorter than a second', () => {
    assert.equal(detectQrs([new Float32Array(3600)], 360).length, 0);
    assert.equal(detectQrs([new Float32Array(100).fill(1)], 360).length, 0);
  });

  it('rejects absurd input with a RangeError', () => {
    assert.throws(() => detectQrs([new Float32Array(1000)], 10), RangeError);
    assert.throws(() => detectQrs([], 360), RangeError);
    assert.throws(() => detectQrs([new Float32Array(1000), new Float32Array(999)], 360), RangeError);
  });
});
