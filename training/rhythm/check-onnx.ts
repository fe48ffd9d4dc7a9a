/**
 * ONNX-vs-PyTorch check of an exported rhythm model with onnxruntime-node (no onnxruntime for Python here):
 *
 *     npx tsx training/rhythm/check-onnx.ts [models/rhythm-cnn]
 *
 * Runs `<stem>.onnx` on the inputs of `<stem>.golden.json` and compares with the PyTorch logits stored
 * there; exits 1 when any differs by more than the file's tolerance. Also runs a batch of one and of 33
 * rows to exercise the dynamic batch axis.
 */
import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';

interface GoldenTensor {
  readonly shape: number[];
  readonly data: number[];
}
interface Golden {
  readonly tolerance: number;
  readonly inputs: Record<string, GoldenTensor>;
  readonly outputs: Record<string, GoldenTensor>;
}

const stem = process.argv[2] ?? 'models/rhythm-cnn';
const golden = JSON.parse(await readFile(`${stem}.golden.json`, 'utf8')) as Golden;
const session = await ort.InferenceSession.create(`${stem}.onnx`, { executionProviders: ['cpu'] });
const feeds: Record<string, ort.Tensor> = {};
for (const [name, t] of Object.entries(golden.inputs)) {
  feeds[name] = new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
}
const out = await session.run(feeds);
let worst = 0;
for (const [name, t] of Object.entries(golden.outputs)) {
  const got = out[name]!.data as Float32Array;
  if (got.length !== t.data.length) throw new Error(`${name}: ${got.length} values, expected ${t.data.length}`);
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - t.data[i]!));
}
// Dynamic batch: 1 row and 33 rows (the golden rows repeated) give the same per-row logits.
const sig = golden.inputs['signal']!;
const feat = golden.inputs['features']!;
const rowS = sig.data.length / sig.shape[0]!;
const rowF = feat.data.length / feat.shape[0]!;
for (const n of [1, 33]) {
  const s = new Float32Array(n * rowS);
  const f = new Float32Array(n * rowF);
  for (let r = 0; r < n; r++) {
    const k = r % sig.shape[0]!;
    s.set(sig.data.slice(k * rowS, (k + 1) * rowS), r * rowS);
    f.set(feat.data.slice(k * rowF, (k + 1) * rowF), r * rowF);
  }
  const o = await session.run({
    signal: new ort.Tensor('float32', s, [n, 1, rowS]),
    features: new ort.Tensor('float32', f, [n, rowF]),
  });
  const got = o['logits']!.data as Float32Array;
  const ref = golden.outputs['logits']!.data;
  for (let r = 0; r < n; r++) {
    const k = r % sig.shape[0]!;
    for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(got[r * 4 + c]! - ref[k * 4 + c]!));
  }
}
console.log(`${stem}.onnx: largest |onnx − pytorch| = ${worst.toExponential(2)} (tolerance ${golden.tolerance})`);
process.exitCode = worst <= golden.tolerance ? 0 : 1;
