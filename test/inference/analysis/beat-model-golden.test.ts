// The shipped beat model under ONNX Runtime gives the logits PyTorch gave at export (STYLE habit 9).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RR_FEATURE_COUNT, WINDOW_LENGTH } from '../../../src/inference/analysis/beat-input.js';
import { loadModel } from '../../../src/inference/model/session.js';

const MODELS = join(import.meta.dirname, '../../../models');

interface Golden {
  tolerance: number;
  source: { record: string; sample: number; label: string }[];
  inputs: Record<'window' | 'rr', { shape: number[]; data: number[] }>;
  outputs: { logits: { shape: number[]; data: number[] } };
}

describe('beat-cnn golden vectors', () => {
  it('ONNX Runtime reproduces the PyTorch logits within 1e-4', async () => {
    const golden = JSON.parse(await readFile(join(MODELS, 'beat-cnn.golden.json'), 'utf8')) as Golden;
    const model = await loadModel(MODELS, 'beat-cnn', { intraOpThreads: 1 });
    try {
      const { window, rr } = golden.inputs;
      // the golden inputs follow the input contract the TypeScript side computes
      assert.equal(window.shape[2], WINDOW_LENGTH);
      assert.equal(rr.shape[1], RR_FEATURE_COUNT);
      const out = await model.run({
        window: { data: Float32Array.from(window.data), dims: window.shape },
        rr: { data: Float32Array.from(rr.data), dims: rr.shape },
      });
      const logits = out['logits']!;
      assert.deepEqual([...logits.dims], golden.outputs.logits.shape);
      const tol = Math.min(golden.tolerance, 1e-4);
      golden.outputs.logits.data.forEach((want, k) => {
        const got = logits.data[k]!;
        assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `logit ${k}: ${got} vs ${want}`);
      });
    } finally {
      await model.dispose();
    }
  });

  it('holds one row of finite logits per source beat', async () => {
    const golden = JSON.parse(await readFile(join(MODELS, 'beat-cnn.golden.json'), 'utf8')) as Golden;
    const k = golden.outputs.logits.shape[1]!;
    const data = golden.outputs.logits.data;
    assert.equal(data.length, golden.source.length * k);
    assert.ok(data.every(Number.isFinite));
  });
});
