import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AE_MODEL_ID,
  aeGate,
  readAeThreshold,
  reconstructionErrors,
} from '../../../src/inference/analysis/ae-gate.js';
import {
  AE_FS,
  aeInputs,
  CLIP,
  SEGMENT_LENGTH,
  segmentStarts,
} from '../../../src/inference/analysis/ae-input.js';
import { primaryLead } from '../../../src/inference/ecg.js';
import { readWfdbRecord } from '../../../src/inference/io/record.js';
import { loadModel, type ModelSession } from '../../../src/inference/model/session.js';
import { FIXTURES, REPO_ROOT } from '../../support/shared-data.js';
import { beatShape } from '../../support/synthetic-ecg.js';

const MODELS = join(REPO_ROOT, 'models');

interface Golden {
  tolerance: number;
  inputs: { segment: { shape: number[]; data: number[] } };
  outputs: { reconstruction: { shape: number[]; data: number[] } };
  errors: number[];
}

/** Synthetic sinus rhythm at 75 bpm with R amplitude `rAmp`, plus 0.2 Hz baseline wander the band-pass removes. */
function synth(fs: number, seconds: number, rAmp: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * fs));
  for (let i = 0; i < x.length; i++) {
    const t = i / fs;
    const phase = ((t + 0.4) % 0.8) - 0.4;
    x[i] = beatShape(phase, rAmp) + 0.4 * Math.sin(2 * Math.PI * 0.2 * t);
  }
  return x;
}

async function lead(path: string) {
  const { ecg } = await readWfdbRecord(path);
  return { samples: primaryLead(ecg).samples, fs: ecg.fs };
}

describe('ae-input contract', () => {
  it('tiles a record with consecutive segments and one aligned to its end', () => {
    assert.deepEqual([...segmentStarts(1000)], [0, 256, 512, 744]);
    assert.deepEqual([...segmentStarts(768)], [0, 256, 512]);
    assert.equal(segmentStarts(255).length, 0);
  });

  it('normalises amplitude away: the same ECG at four times the gain gives the same segments', () => {
    const x = synth(360, 30, 0.6);
    const small = aeInputs(x, 360);
    const large = aeInputs(
      x.map((v) => 4 * v),
      360,
    );
    assert.equal(small.count, segmentStarts(30 * AE_FS).length);
    assert.equal(large.count, small.count);
    let diff = 0;
    let peak = 0;
    for (let i = 0; i < small.segments.length; i++) {
      diff = Math.max(diff, Math.abs(small.segments[i]! - large.segments[i]!));
      peak = Math.max(peak, Math.abs(small.segments[i]!));
    }
    assert.ok(diff < 1e-4, `largest difference ${diff}`);
    // the 98th percentile of |y| sits on the R upstroke a sample or two from the apex
    assert.ok(peak > 1 && peak < 2, `largest |sample| ${peak}`);
  });

  it('clips an artefact to ±CLIP', () => {
    const x = synth(250, 20, 1);
    for (let i = 2000; i < 2003; i++) x[i] = 50;
    // With the record scale (≈ 1 mV here) the filtered 50-mV spike is far above CLIP; per segment it would
    // set its own scale, so the alternative normalisation is what exercises the clip.
    const { segments } = aeInputs(x, 250, { scale: 'record-r' });
    let peak = 0;
    for (const v of segments) peak = Math.max(peak, Math.abs(v));
    assert.equal(peak, CLIP);
  });
});

describe('ae-quality gate (shipped ONNX model)', () => {
  let model: ModelSession;
  let threshold: number;
  before(async () => {
    model = await loadModel(MODELS, AE_MODEL_ID);
    threshold = (await readAeThreshold(MODELS)).threshold;
  });
  after(async () => {
    await model?.dispose();
  });

  it('reproduces the PyTorch reconstructions of the golden segments within 1e-4', async () => {
    const golden = JSON.parse(await readFile(join(MODELS, `${AE_MODEL_ID}.golden.json`), 'utf8')) as Golden;
    const { shape, data } = golden.inputs.segment;
    assert.equal(shape[1], 1);
    assert.equal(shape[2], SEGMENT_LENGTH);
    const x = Float32Array.from(data);
    const out = await model.run({ segment: { data: x, dims: shape } });
    const y = out['reconstruction']!.data;
    const want = golden.outputs.reconstruction.data;
    assert.equal(y.length, want.length);
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - want[i]!));
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
    const errors = reconstructionErrors(x, y);
    golden.errors.forEach((e, k) => {
      assert.ok(
        Math.abs(errors[k]! - e) <= 1e-4 * Math.max(1, e),
        `segment ${k}: error ${errors[k]} vs ${e}`,
      );
    });
  });

  it('passes a clean normal record and flags electrode-motion noise at 0 dB', async () => {
    const clean = await lead(join(FIXTURES, 'mitdb/mitdb-100-0m-5m'));
    const noisy = await lead(join(FIXTURES, 'nstdb/nstdb-118e00-5m-7m'));
    const a = await aeGate(model, clean.samples, clean.fs, threshold);
    const b = await aeGate(model, noisy.samples, noisy.fs, threshold);
    // 5 min and 2 min of 2.048-s segments (the last one aligned to the end)
    assert.equal(a.segments.length, Math.ceil(300 / 2.048));
    assert.equal(b.segments.length, Math.ceil(120 / 2.048));
    assert.equal(a.segments[0]!.start, 0);
    assert.equal(a.segments.at(-1)!.end, clean.samples.length);
    assert.ok(a.unreliableFraction <= 0.05, `clean record: ${a.unreliableFraction} flagged`);
    assert.ok(b.unreliableFraction >= 0.6, `0 dB noise: ${b.unreliableFraction} flagged`);
    // the errors themselves separate: the noisy excerpt's median error is many times the clean one's
    const med = (s: { error: number }[]) => s.map((x) => x.error).sort((p, q) => p - q)[s.length >> 1]!;
    assert.ok(
      med(b.segments) > 5 * med(a.segments),
      `median errors ${med(a.segments)} vs ${med(b.segments)}`,
    );
  });

  it('does not abstain on arrhythmias: atrial fibrillation and ventricular bigeminy pass', async () => {
    for (const f of ['mitdb/mitdb-201-1m-4m', 'mitdb/mitdb-119-21m-24m']) {
      const { samples, fs } = await lead(join(FIXTURES, f));
      const r = await aeGate(model, samples, fs, threshold);
      assert.ok(r.unreliableFraction <= 0.05, `${f}: ${r.unreliableFraction} flagged`);
    }
  });

  it('gives no segment for a record shorter than one segment', async () => {
    const r = await aeGate(model, synth(360, 1.5, 1), 360, threshold);
    assert.deepEqual(r, { segments: [], unreliableFraction: 0 });
  });
});
