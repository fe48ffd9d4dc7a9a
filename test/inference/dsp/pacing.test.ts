import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { butterBandpass, sosfiltfilt } from '../../../src/inference/dsp/iir.js';
import { detectPacing, MIN_FS } from '../../../src/inference/dsp/pacing.js';
import { detectQrs } from '../../../src/inference/dsp/qrs.js';
import { readAnnotations, readWfdbRecord } from '../../../src/inference/io/record.js';
import { FIXTURES } from '../../support/shared-data.js';
import { synth } from '../../support/synthetic-ecg.js';

const SECONDS = 10;
const BEATS = Array.from({ length: 12 }, (_, k) => 0.5 + 0.8 * k);

/** Seeded uniform PRNG (mulberry32), so the noise tests are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Add a rectangular pulse (a pacemaker output: `ms` long, `mv` high) at time `t` (s), sampled as an
 * integrating ADC would: each sample gets the pulse's mean over its own sampling interval.
 */
function addPulse(x: Float32Array, fs: number, t: number, ms: number, mv: number): void {
  const t1 = t + ms / 1000;
  for (let i = Math.floor(t * fs); i <= Math.floor(t1 * fs); i++) {
    const overlap = Math.min(t1, (i + 1) / fs) - Math.max(t, i / fs);
    if (overlap > 0) x[i] = x[i]! + mv * overlap * fs;
  }
}

/** Muscle-like noise: Gaussian noise band-passed to 20–150 Hz, `rmsMv` RMS, only inside `bursts` (s). */
function addMuscleNoise(
  x: Float32Array,
  fs: number,
  rmsMv: number,
  bursts: readonly [number, number][],
  seed: number,
): void {
  const rand = prng(seed);
  const white = Float32Array.from({ length: x.length }, () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  });
  const emg = sosfiltfilt(butterBandpass(2, 20, 150, fs), white);
  let power = 0;
  for (const v of emg) power += v * v;
  const gain = rmsMv / Math.sqrt(power / emg.length);
  for (const [from, to] of bursts) {
    for (let i = Math.round(from * fs); i < Math.min(x.length, Math.round(to * fs)); i++)
      x[i]! += gain * emg[i]!;
  }
}

const run = (leads: Float32Array[], fs: number) => detectPacing(leads, fs, detectQrs(leads, fs));

async function fixture(name: string) {
  const path = join(FIXTURES, name);
  const { ecg } = await readWfdbRecord(path);
  return { leads: ecg.leads.map((l) => l.samples), fs: ecg.fs, path };
}

describe('pacemaker spikes on a synthetic ECG', () => {
  for (const fs of [500, 1000]) {
    it(`${fs} Hz: 0.5 ms, 4 mV pulses 150 ms before each QRS → paced, each spike found to the sample`, () => {
      const x = synth(fs, SECONDS, BEATS);
      for (const b of BEATS) addPulse(x, fs, b - 0.15, 0.5, 4);
      const r = run([x], fs);
      assert.equal(r.paced, true);
      assert.ok(r.pacedBeatFraction >= 0.9, `fraction ${r.pacedBeatFraction}`);
      assert.equal(r.lead, 0);
      const expected = BEATS.map((b) => Math.floor((b - 0.15) * fs));
      for (const s of r.spikes) {
        const nearest = Math.min(...expected.map((e) => Math.abs(e - s)));
        assert.ok(nearest <= 1, `spike at ${s} is ${nearest} samples from a pulse`);
      }
    });

    it(`${fs} Hz: the same ECG without pulses → not paced, no spikes`, () => {
      const r = run([synth(fs, SECONDS, BEATS)], fs);
      assert.equal(r.paced, false);
      assert.equal(r.pacedBeatFraction, 0);
      assert.deepEqual(r.spikes, []);
      assert.equal(r.notAssessed, undefined);
    });

    it(`${fs} Hz: muscle-noise bursts (20–150 Hz) → not paced`, () => {
      for (const [rms, seed] of [
        [0.05, 1],
        [0.1, 2],
        [0.2, 3],
      ] as const) {
        const x = synth(fs, SECONDS, BEATS);
        addMuscleNoise(
          x,
          fs,
          rms,
          [
            [0.3, 2.5],
            [4, 5.5],
            [7, 9.8],
          ],
          seed,
        );
        const r = run([x], fs);
        assert.equal(r.paced, false, `rms ${rms} mV: fraction ${r.pacedBeatFraction}`);
        assert.ok(r.pacedBeatFraction < 0.3, `rms ${rms} mV: fraction ${r.pacedBeatFraction}`);
      }
    });
  }

  it('finds the pulses in the one lead of three that shows them, and reports that lead', () => {
    const fs = 500;
    const leads = [synth(fs, SECONDS, BEATS), synth(fs, SECONDS, BEATS, 0.8), synth(fs, SECONDS, BEATS, 1.5)];
    for (const b of BEATS) addPulse(leads[1]!, fs, b - 0.15, 0.5, -3);
    const r = run(leads, fs);
    assert.equal(r.paced, true);
    assert.equal(r.lead, 1);
  });

  it('a pulse of 0.1 mV (below the recorder-smeared size of the smallest standard pulse) is not claimed', () => {
    const fs = 1000;
    const x = synth(fs, SECONDS, BEATS);
    for (const b of BEATS) addPulse(x, fs, b - 0.15, 1, 0.1);
    assert.equal(run([x], fs).paced, false);
  });

  it(`makes no claim below ${MIN_FS} Hz, and none on fewer than 3 beats`, () => {
    const x = synth(128, SECONDS, BEATS);
    for (const b of BEATS) addPulse(x, 128, b - 0.15, 0.5, 4);
    const low = detectPacing([x], 128, detectQrs([x], 128));
    assert.deepEqual(low, {
      paced: false,
      pacedBeatFraction: 0,
      spikes: [],
      notAssessed: 'sampling-rate-too-low',
    });
    assert.equal(detectPacing([synth(500, 3, [1, 2])], 500, [500, 1000]).notAssessed, 'too-few-beats');
  });

  it('rejects malformed input', () => {
    assert.throws(() => detectPacing([], 500, []), RangeError);
    assert.throws(() => detectPacing([new Float32Array(10), new Float32Array(11)], 500, []), RangeError);
    assert.throws(() => detectPacing([new Float32Array(10)], 0, []), RangeError);
  });
});

describe('pacemaker spikes on committed PhysioNet excerpts', () => {
  it('mitdb 102, 10:00–10:15 (every beat paced; spikes smeared by the 100 Hz recorder band) → paced', async () => {
    const { leads, fs, path } = await fixture('mitdb/mitdb-102-600s-615s');
    const r = run(leads, fs);
    assert.equal(r.paced, true);
    assert.ok(r.pacedBeatFraction >= 0.9, `fraction ${r.pacedBeatFraction}`);
    // Each paced beat (`/`) of the reference has a spike at most 350 ms before its annotation, none after.
    const paced = (await readAnnotations(path)).filter((a) => a.symbol === '/').map((a) => a.sample);
    const withSpike = paced.filter((b) => r.spikes.some((s) => s <= b + 0.04 * fs && s >= b - 0.35 * fs));
    assert.ok(withSpike.length >= 0.9 * paced.length, `${withSpike.length} of ${paced.length} beats`);
  });

  for (const name of [
    'mitdb/mitdb-100-0m-5m',
    'mitdb/mitdb-201-1m-4m',
    'mitdb/mitdb-119-21m-24m',
    'mitdb/mitdb-105-20m-22m',
    'nstdb/nstdb-118e00-5m-7m',
    'cinc2017/A00004',
    'cinc2017/A00007',
    'ptbxl/00003_hr',
    'ptbxl/00318_hr',
  ]) {
    it(`${name} (not paced) → not paced`, async () => {
      const { leads, fs } = await fixture(name);
      const r = run(leads, fs);
      assert.equal(r.paced, false, `fraction ${r.pacedBeatFraction} in lead ${r.lead}`);
      assert.ok(r.pacedBeatFraction < 0.3, `fraction ${r.pacedBeatFraction} in lead ${r.lead}`);
    });
  }
});
