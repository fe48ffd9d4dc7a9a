/**
 * The FLOP counter of the model-efficiency bench (training/quantize/onnx_flops.py, issue #14 item 4):
 * counted from the ONNX graph, it must agree with the count on the PyTorch graph that the model card and
 * bench/torch-vs-onnx.bench.ts give for beat-cnn 4.0.0 (1.84 MFLOP per beat: 2 × 921,120 MACs), and
 * count every shipped model (an int8 model's fp32 source, as the bench does). Skipped when Debian's python3 with onnx is absent.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { onnxFlopsPerRow } from '../../../bench/model-efficiency.bench.js';
import { missingPythonPrereqs } from '../../../bench/python-prereqs.js';
import { readManifest, readShipped } from '../../../src/inference/model/index.js';
import { REPO_ROOT } from '../../support/shared-data.js';

const MODELS = join(REPO_ROOT, 'models');
const missing = missingPythonPrereqs(undefined, [{ module: 'onnx', debian: 'python3-onnx' }]);
/** beat-cnn 4.0.0, whose PyTorch-graph count is in the model card. */
const BEAT_V4_SHA = '669da950ef8e13823548ebfbf169b8114f2681cbd3e73f17b9b8efa2e6a0cd8a';

describe('ONNX FLOP counter', { skip: missing?.join('; ') }, () => {
  it('counts every shipped model, and the fp32 beat-cnn 4.0.0 as the PyTorch graph does', async () => {
    const shipped = await readShipped(MODELS);
    // the bench counts the fp32 graph (an int8 model's fp32 source, named in its manifest)
    const fp32Ids = await Promise.all(
      Object.values(shipped).map(
        async (id) =>
          ((await readManifest(MODELS, id)) as { quantization?: { fp32Model?: string } }).quantization
            ?.fp32Model ?? id,
      ),
    );
    const manifests = await Promise.all(fp32Ids.map((id) => readManifest(MODELS, id)));
    const files = manifests.map((m) => join(MODELS, m.file));
    const flops = onnxFlopsPerRow(files, REPO_ROOT);
    assert.ok(typeof flops !== 'string', String(flops));
    for (const f of files) assert.ok((flops.get(f) ?? 0) > 0, `${f}: no FLOPs counted`);
    const v4 = manifests.findIndex((m) => m.sha256 === BEAT_V4_SHA);
    if (v4 >= 0) assert.equal(flops.get(files[v4]!), 1_842_240);
  });
});
