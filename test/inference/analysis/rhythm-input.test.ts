import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { annotatedWindows, rhythmClassOfAux } from '../../../src/cli/dataset-rhythm.js';
import {
  RHYTHM_FEATURE_COUNT,
  RHYTHM_FEATURES,
  RHYTHM_FS,
  type RhythmFeature,
  type RhythmInputs,
  rhythmInputs,
  WINDOW_LENGTH,
  windowStarts,
} from '../../../src/inference/analysis/rhythm-input.js';
import { primaryLead, primaryLeadIndex } from '../../../src/inference/ecg.js';
import { readAnnotations, readWfdbRecord } from '../../../src/inference/io/record.js';
import { FIXTURES } from '../../support/shared-data.js';
import { synth } from '../../support/synthetic-ecg.js';

/** Beat times from `first` with RR intervals drawn uniformly in [lo, hi] s by a seeded LCG (an AF-like rhythm). */
function irregularTimes(seconds: number, lo: number, hi: number, seed = 7): number[] {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const out: number[] = [];
  for (let t = 0.5; t < seconds - 0.5; t += lo + (hi - lo) * rand()) out.push(t);
  return out;
}

/** Beats every `rr` s from 0.5 s to at most 0.5 s before the end. */
const regular = (seconds: number, rr: number) =>
  Array.from({ length: Math.floor((seconds - 1) / rr + 1e-9) + 1 }, (_, k) => 0.5 + k * rr);

function feature(inp: RhythmInputs, w: number, name: RhythmFeature): number {
  return inp.features[w * RHYTHM_FEATURE_COUNT + RHYTHM_FEATURES.indexOf(name)]!;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function windowsOf(record: string): Promise<RhythmInputs> {
  const { ecg } = await readWfdbRecord(join(FIXTURES, record));
  return rhythmInputs(primaryLead(ecg).samples, ecg.fs);
}

const perWindow = (inp: RhythmInputs, name: RhythmFeature) =>
  Array.from({ length: inp.count }, (_, w) => feature(inp, w, name));

describe('rhythm windows', () => {
  it('cuts 10-s windows every 5 s, the last aligned to the record end', () => {
    assert.deepEqual([...windowStarts(30 * RHYTHM_FS)], [0, 1500, 3000, 4500, 6000]);
    // 32.5 s: the stride reaches 20–30 s; one more window covers 22.5–32.5 s
    assert.deepEqual([...windowStarts(9750)], [0, 1500, 3000, 4500, 6000, 6750]);
    assert.deepEqual([...windowStarts(WINDOW_LENGTH)], [0]);
    assert.deepEqual([...windowStarts(7 * RHYTHM_FS)], [0]);
    assert.throws(() => windowStarts(4.9 * RHYTHM_FS), /shorter than the 5 s minimum/);
  });

  it('gives a 30-s CinC record five windows of 3,000 samples', async () => {
    const inp = await windowsOf('cinc2017/A00007');
    assert.equal(inp.count, 5);
    assert.equal(inp.signal.length, 5 * WINDOW_LENGTH);
    assert.equal(inp.features.length, 5 * RHYTHM_FEATURE_COUNT);
    assert.deepEqual([...inp.valid], [3000, 3000, 3000, 3000, 3000]);
    assert.ok(inp.features.every(Number.isFinite));
  });

  it('zero-pads a short record after its real samples and says how much is real', () => {
    const x = synth(RHYTHM_FS, 7, regular(7, 0.8));
    const inp = rhythmInputs(x, RHYTHM_FS);
    assert.equal(inp.count, 1);
    assert.equal(inp.valid[0], 7 * RHYTHM_FS);
    assert.ok(inp.signal.subarray(7 * RHYTHM_FS).every((v) => v === 0));
    assert.ok(Math.abs(feature(inp, 0, 'valid_fraction') - 0.7) < 1e-6);
    assert.throws(() => rhythmInputs(new Float32Array(4 * RHYTHM_FS), RHYTHM_FS), RangeError);
  });

  it('normalises to the median R amplitude, removes baseline wander and ignores the lead gain', () => {
    const times = regular(20, 0.8);
    const x = synth(RHYTHM_FS, 20, times);
    const a = rhythmInputs(x, RHYTHM_FS);
    const b = rhythmInputs(
      x.map((v) => v * 3),
      RHYTHM_FS,
    );
    for (let w = 0; w < a.count; w++) {
      const row = a.signal.subarray(w * WINDOW_LENGTH, (w + 1) * WINDOW_LENGTH);
      const peaks = times
        .map((t) => Math.round(t * RHYTHM_FS) - a.starts[w]!)
        .filter((i) => i >= 0 && i < WINDOW_LENGTH);
      // R apices sit at ≈ 1 after normalisation (the band-pass trims the 1.2 mV apex a little)
      assert.ok(Math.abs(median(peaks.map((i) => row[i]!)) - 1) < 0.05, `window ${w}: R at ≈ 1`);
      // the 0.4 mV wander would offset the raw window by up to a third of R; the filter leaves little
      assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) / row.length) < 0.05, `window ${w}: mean near 0`);
      for (let i = 0; i < WINDOW_LENGTH; i += 7)
        assert.ok(Math.abs(row[i]! - b.signal[w * WINDOW_LENGTH + i]!) < 1e-4);
      assert.ok(Math.abs(feature(b, w, 'scale_mv') / feature(a, w, 'scale_mv') - 3) < 1e-3);
    }
  });
});

describe('rhythm features', () => {
  it('a 60 bpm pulse train has heart rate 60, CV ≈ 0 and every ΔRR point at the Lorenz origin', () => {
    const inp = rhythmInputs(synth(RHYTHM_FS, 20, regular(20, 1)), RHYTHM_FS);
    for (let w = 0; w < inp.count; w++) {
      assert.equal(feature(inp, w, 'beat_count'), 10, `window ${w}: ten beats in 10 s`);
      assert.ok(
        Math.abs(feature(inp, w, 'heart_rate_bpm') - 60) < 0.2,
        `window ${w}: ${feature(inp, w, 'heart_rate_bpm')} bpm`,
      );
      assert.ok(feature(inp, w, 'rr_cv') < 0.005);
      assert.ok(feature(inp, w, 'nrmssd') < 0.005);
      assert.equal(feature(inp, w, 'lorenz_origin'), 1);
      assert.equal(feature(inp, w, 'lorenz_spread'), 0);
      assert.ok(Math.abs(feature(inp, w, 'rr_max_ratio') - 1) < 0.01);
      // SampEn 0 (every template matches), so COSEn = ln(2 · 30 ms / 1 s)
      assert.ok(Math.abs(feature(inp, w, 'cosen') - Math.log(0.06)) < 0.01);
      assert.equal(feature(inp, w, 'unreadable_fraction'), 0);
    }
  });

  it('an AF excerpt is far more irregular than a sinus one (CinC 2017 A00004 vs A00007)', async () => {
    const af = await windowsOf('cinc2017/A00004');
    const sinus = await windowsOf('cinc2017/A00007');
    const cvAf = median(perWindow(af, 'rr_cv'));
    const cvSinus = median(perWindow(sinus, 'rr_cv'));
    assert.ok(cvAf > 0.12, `AF RR CV ${cvAf}`);
    assert.ok(cvSinus < 0.08, `sinus RR CV ${cvSinus}`);
    assert.ok(cvAf > 3 * cvSinus);
    // COSEn separates them too: Lake & Moorman's AF threshold is −1.4
    assert.ok(median(perWindow(af, 'cosen')) > -1.4);
    assert.ok(median(perWindow(sinus, 'cosen')) < -1.4);
  });

  it('MIT-BIH 201 in AF is irregular in every window, 100 in sinus rhythm mostly regular', async () => {
    const af = await windowsOf('mitdb/mitdb-201-1m-4m');
    const sinus = await windowsOf('mitdb/mitdb-100-0m-5m');
    assert.ok(perWindow(af, 'rr_cv').every((v) => v > 0.1));
    assert.ok(median(perWindow(af, 'rr_cv')) > 4 * median(perWindow(sinus, 'rr_cv')));
    assert.ok(median(perWindow(af, 'lorenz_origin')) < median(perWindow(sinus, 'lorenz_origin')));
  });

  it('does not depend on the sampling rate: the same rhythm at 360 and 300 Hz', () => {
    const times = irregularTimes(30, 0.45, 1.05).map((t) => Math.round(t * 60) / 60); // exact samples at both rates
    const a = rhythmInputs(synth(360, 30, times), 360);
    const b = rhythmInputs(synth(300, 30, times), 300);
    assert.equal(a.count, b.count);
    for (let w = 0; w < a.count; w++) {
      assert.equal(feature(a, w, 'beat_count'), feature(b, w, 'beat_count'));
      assert.ok(Math.abs(feature(a, w, 'heart_rate_bpm') / feature(b, w, 'heart_rate_bpm') - 1) < 0.01);
      assert.ok(Math.abs(feature(a, w, 'rr_cv') - feature(b, w, 'rr_cv')) < 0.01);
      assert.ok(Math.abs(feature(a, w, 'nrmssd') - feature(b, w, 'nrmssd')) < 0.01);
      assert.ok(feature(a, w, 'rr_cv') > 0.15, 'the synthetic rhythm is irregular');
      // the windows themselves agree sample by sample to within a few per cent of R
      let err = 0;
      for (let i = 0; i < WINDOW_LENGTH; i++) {
        err = Math.max(err, Math.abs(a.signal[w * WINDOW_LENGTH + i]! - b.signal[w * WINDOW_LENGTH + i]!));
      }
      assert.ok(err < 0.05, `window ${w}: largest difference ${err}`);
    }
  });

  it('counts a flat (lead-off) stretch as unreadable', () => {
    const x = synth(RHYTHM_FS, 20, regular(20, 0.8));
    x.fill(0, 10 * RHYTHM_FS);
    const inp = rhythmInputs(x, RHYTHM_FS);
    assert.equal(feature(inp, 0, 'unreadable_fraction'), 0);
    assert.ok(feature(inp, 2, 'unreadable_fraction') > 0.9, `${feature(inp, 2, 'unreadable_fraction')}`);
    assert.equal(feature(inp, 2, 'beat_count'), 0, 'no beats in a flat line');
  });
});

describe('MIT-BIH rhythm labels of 10-s windows', () => {
  it('maps rhythm annotations to N, A and O', () => {
    assert.equal(rhythmClassOfAux('(N\0'), 'N');
    assert.equal(rhythmClassOfAux('(AFIB'), 'A');
    assert.equal(rhythmClassOfAux('(AFL'), 'A');
    for (const r of ['(B', '(T', '(VT', '(SVTA', '(NOD', '(SBR', '(IVR', '(VFL', '(AB', '(BII']) {
      assert.equal(rhythmClassOfAux(r), 'O');
    }
  });

  it('tiles non-overlapping windows inside rhythm episodes and drops windows where MLII is noisy', async () => {
    const load = async (name: string) => {
      const path = join(FIXTURES, 'mitdb', name);
      const [{ ecg }, anns] = await Promise.all([readWfdbRecord(path), readAnnotations(path)]);
      return annotatedWindows(anns, ecg.leads[0]!.samples.length, ecg.fs, primaryLeadIndex(ecg));
    };
    const af = await load('mitdb-201-1m-4m');
    assert.equal(af.windows.length, 18); // 3 min of AF: eighteen 10-s windows
    assert.ok(af.windows.every((w) => w.label === 'A'));
    assert.ok(af.windows.every((w, i) => i === 0 || w.start - af.windows[i - 1]!.start >= WINDOW_LENGTH));
    const bigeminy = await load('mitdb-119-21m-24m');
    assert.ok(bigeminy.windows.some((w) => w.label === 'O' && w.rhythm === '(B'));
    assert.ok(bigeminy.windows.some((w) => w.label === 'N'));
    const noisy = await load('mitdb-105-20m-22m');
    assert.ok(noisy.droppedNoisy > 0);
  });
});
