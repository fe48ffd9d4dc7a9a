/**
 * Cross-call batching in the ONNX session (issue #14 item 2): runs asked for together go to the runtime
 * as one batch and each caller gets exactly its own rows; a malformed request fails alone; analyses of
 * several ECGs started together give the same results as one at a time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnalysisResult } from '../../../src/inference/analysis/types.js';
import { analyze } from '../../../src/inference/analyze.js';
import { readWfdbRecord } from '../../../src/inference/io/record.js';
import { type Engine, type FloatTensor, loadEngine } from '../../../src/inference/model/index.js';
import { FIXTURES, REPO_ROOT } from '../../support/shared-data.js';

let engine: Engine;
before(async () => {
  engine = await loadEngine(join(REPO_ROOT, 'models'), { intraOpThreads: 1 });
});
after(async () => engine?.dispose());

/** Seeded inputs for `rows` rows of the model's input shapes. */
function feedsFor(role: 'beat' | 'rhythm' | 'quality', rows: number, seed: number) {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const feeds: Record<string, FloatTensor> = {};
  for (const spec of engine[role].manifest.inputs) {
    const dims = [rows, ...spec.shape.slice(1).map(Number)];
    feeds[spec.name] = { data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, rand), dims };
  }
  return feeds;
}

describe('session batching across calls', () => {
  for (const role of ['beat', 'rhythm', 'quality'] as const) {
    it(`${role}: calls made together return what each returns alone`, async () => {
      const requests = [3, 1, 0, 5].map((rows, i) => feedsFor(role, rows, 7 + i));
      const alone: Record<string, FloatTensor>[] = [];
      for (const r of requests) alone.push(await engine[role].run(r));
      const together = await Promise.all(requests.map((r) => engine[role].run(r)));
      for (let i = 0; i < requests.length; i++) {
        for (const [name, t] of Object.entries(alone[i]!)) {
          const u: FloatTensor = together[i]![name]!;
          assert.deepEqual(u.dims, t.dims, `${role} request ${i} ${name} dims`);
          for (let k = 0; k < t.data.length; k++)
            assert.ok(Math.abs(u.data[k]! - t.data[k]!) <= 1e-5, `${role} request ${i} ${name}[${k}]`);
        }
      }
    });
  }

  it('a request that does not fit the model fails alone; the others in its turn succeed', async () => {
    const good = feedsFor('beat', 2, 1);
    const name = engine.beat.manifest.inputs[0]!.name;
    const bad = { ...good, [name]: { data: new Float32Array(5), dims: [1, 5] } };
    const [a, b, c] = await Promise.allSettled([
      engine.beat.run(good),
      engine.beat.run(bad),
      engine.beat.run(good),
    ]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(c.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.match(
      String((b as PromiseRejectedResult).reason),
      /model beat-cnn: .* dims \[1,5\]|values for dims/,
    );
  });
});

describe('analyses started together', () => {
  it('give the same findings and beat classes as one at a time', async () => {
    const names = ['mitdb/mitdb-100-0m-5m', 'mitdb/mitdb-102-600s-615s', 'ptbxl/00003_hr', 'ptbxl/00351_hr'];
    const ecgs = [];
    for (const n of names) ecgs.push((await readWfdbRecord(join(FIXTURES, n))).ecg);
    const alone: AnalysisResult[] = [];
    for (const e of ecgs) alone.push(await analyze(e, engine));
    const together = await Promise.all(ecgs.map((e) => analyze(e, engine)));
    for (let i = 0; i < ecgs.length; i++) {
      const a: AnalysisResult = alone[i]!;
      const b: AnalysisResult = together[i]!;
      assert.equal(b.status, a.status, names[i]);
      if (a.status !== 'ok' || b.status !== 'ok') continue;
      assert.deepEqual(
        b.findings.map((f) => f.code),
        a.findings.map((f) => f.code),
        names[i],
      );
      assert.deepEqual(
        b.beats.map((x) => x.label),
        a.beats.map((x) => x.label),
        names[i],
      );
    }
  });
});
