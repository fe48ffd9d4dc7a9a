/**
 * Every shipped ONNX model reproduces the PyTorch reference outputs committed beside it
 * (`models/<id>.golden.json`, written by training), within the stated tolerance (≤ 1e-4).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type FloatTensor, loadModel } from '../../../src/inference/model/index.js';
import { REPO_ROOT } from '../../support/shared-data.js';

const MODELS = join(REPO_ROOT, 'models');

interface Golden {
  model: string;
  tolerance?: number;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; data: number[] }>;
}

const goldenFiles = (await readdir(MODELS)).filter((f) => f.endsWith('.golden.json')).sort();

describe('ONNX models equal their PyTorch references', () => {
  it('every manifest has golden vectors', async () => {
    const manifests = (await readdir(MODELS)).filter((f) => f.endsWith('.manifest.json'));
    assert.ok(manifests.length > 0, 'no models shipped');
    for (const m of manifests)
      assert.ok(goldenFiles.includes(m.replace('.manifest.json', '.golden.json')), `${m} has no golden file`);
  });

  for (const file of goldenFiles) {
    const id = file.replace('.golden.json', '');
    it(`${id}: outputs within tolerance of PyTorch on fixed inputs`, async () => {
      const golden = JSON.parse(await readFile(join(MODELS, file), 'utf8')) as Golden;
      const tol = Math.min(golden.tolerance ?? 1e-4, 1e-4);
      const model = await loadModel(MODELS, id);
      try {
        const feeds: Record<string, FloatTensor> = {};
        for (const [name, t] of Object.entries(golden.inputs))
          feeds[name] = { data: Float32Array.from(t.data), dims: t.shape };
        const out = await model.run(feeds);
        for (const [name, want] of Object.entries(golden.outputs)) {
          const got = out[name];
          assert.ok(got, `output ${name} missing`);
          assert.deepEqual([...got.dims], want.shape);
          let worst = 0;
          want.data.forEach((v, i) => {
            worst = Math.max(worst, Math.abs(v - got.data[i]!));
          });
          assert.ok(worst <= tol, `${id}.${name}: max |ONNX − PyTorch| = ${worst} > ${tol}`);
        }
      } finally {
        await model.dispose();
      }
    });
  }
});
