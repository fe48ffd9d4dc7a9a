/**
 * ONNX-vs-PyTorch check of an exported beat model through the pipeline's own loader (manifest checked):
 *
 *     npx tsx training/beats/check-onnx.ts <models-dir> <id>     e.g. models beat-ens
 *
 * Runs `<id>.onnx` on the inputs of `<id>.golden.json` as one batch, row by row (batch 1) and as a batch of
 * 33 rows (the golden rows repeated), compares with the stored PyTorch logits and exits 1 when any differs
 * by more than the file's tolerance. (test/inference/model/golden.test.ts checks the full batch only.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FloatTensor, loadModel } from '../../src/inference/model/index.js';

interface GoldenTensor {
  readonly shape: number[];
  readonly data: number[];
}
const [dir = 'models', id = 'beat-ens'] = process.argv.slice(2);
const golden = JSON.parse(await readFile(join(dir, `${id}.golden.json`), 'utf8')) as {
  tolerance: number;
  inputs: { window: GoldenTensor; rr: GoldenTensor };
  outputs: { logits: GoldenTensor };
};
const model = await loadModel(dir, id);
const { window: w, rr } = golden.inputs;
const want = golden.outputs.logits.data;
const rows = w.shape[0]!;
const perW = w.data.length / rows;
const perR = rr.data.length / rows;
const classes = want.length / rows;

/** Run `n` rows, row r being golden row pick(r); return the largest deviation from the golden logits. */
async function worstOf(n: number, pick: (r: number) => number): Promise<number> {
  const wd = new Float32Array(n * perW);
  const rd = new Float32Array(n * perR);
  for (let r = 0; r < n; r++) {
    const k = pick(r);
    wd.set(w.data.slice(k * perW, (k + 1) * perW), r * perW);
    rd.set(rr.data.slice(k * perR, (k + 1) * perR), r * perR);
  }
  const feeds: Record<string, FloatTensor> = {
    window: { data: wd, dims: [n, ...w.shape.slice(1)] },
    rr: { data: rd, dims: [n, perR] },
  };
  const got = (await model.run(feeds)).logits!.data;
  let worst = 0;
  for (let r = 0; r < n; r++)
    for (let c = 0; c < classes; c++) worst = Math.max(worst, Math.abs(got[r * classes + c]! - want[pick(r) * classes + c]!));
  return worst;
}

try {
  let worst = await worstOf(rows, (r) => r);
  for (let k = 0; k < rows; k++) worst = Math.max(worst, await worstOf(1, () => k));
  worst = Math.max(worst, await worstOf(33, (r) => r % rows));
  console.log(`${id}: largest |onnx − pytorch| over batches of ${rows}, 1 and 33 = ${worst.toExponential(2)} (tolerance ${golden.tolerance}, provider ${model.provider})`);
  process.exitCode = worst <= golden.tolerance ? 0 : 1;
} finally {
  await model.dispose();
}
