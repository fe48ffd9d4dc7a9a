/**
 * The pool batches ECGs that wait for a worker (issue #14 item 2): many results asked for at once all come
 * back, each its own, equal to asking one at a time; a bad ECG in a batch is that ECG's 'unable' result;
 * ECGs still waiting when the pool closes are refused, not lost silently.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type AnalysisPool,
  batchLength,
  createAnalysisPool,
  MAX_BATCH_CHARS,
  waveformChars,
} from '../../src/analysis-pool/pool.js';
import { encodeEcgObservation } from '../../src/fhir/ecg-codec.js';
import type { StoredResult } from '../../src/fhir/stored-result.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { FIXTURES, REPO_ROOT } from '../support/shared-data.js';

const RECORDS = ['mitdb/mitdb-102-600s-615s', 'ptbxl/00003_hr', 'ptbxl/00318_hr', 'ptbxl/00351_hr'];

let pool: AnalysisPool;
const observations: fhir4.Observation[] = [];
before(async () => {
  pool = await createAnalysisPool({ modelsDir: join(REPO_ROOT, 'models'), size: 1, maxBatch: 8 });
  for (const [i, name] of RECORDS.entries()) {
    const { ecg } = await readWfdbRecord(join(FIXTURES, name));
    observations.push({ ...encodeEcgObservation(ecg, { patientId: `p${i}` }), id: `ecg-${i}` });
  }
});
after(async () => pool?.close());

describe('analysis pool batching', () => {
  it('results asked for together equal results asked for one at a time', async () => {
    const alone: StoredResult[] = [];
    for (const obs of observations) alone.push(await pool.result(obs));
    const bad: fhir4.Observation = { resourceType: 'Observation', id: 'bad', status: 'final', code: {} };
    const together = await Promise.all([...observations, bad, ...observations].map((o) => pool.result(o)));
    assert.equal(together.length, 2 * observations.length + 1);
    for (const [i, r] of [...alone, ...alone].entries()) {
      const t: StoredResult = together[i < alone.length ? i : i + 1]!;
      assert.equal(t.source.observationId, r.source.observationId);
      assert.equal(t.status, r.status);
      assert.deepEqual(
        t.findings.map((f) => f.code),
        r.findings.map((f) => f.code),
      );
    }
    const refused = together[observations.length]!;
    assert.equal(refused.source.observationId, 'bad');
    assert.equal(refused.status, 'unable');
  });

  it("puts an urgent ECG (a hook's) ahead of those already waiting", async () => {
    const own = await createAnalysisPool({ modelsDir: join(REPO_ROOT, 'models'), size: 1, maxBatch: 1 });
    try {
      const order: string[] = [];
      const track = (p: Promise<StoredResult>) => p.then((r) => order.push(r.source.observationId));
      // The first starts at once; the next two wait; the urgent one, asked last, runs second.
      const calls = [
        track(own.result(observations[0]!)),
        track(own.result(observations[1]!)),
        track(own.result(observations[2]!)),
        track(own.result(observations[3]!, { urgent: true })),
      ];
      await Promise.all(calls);
      assert.deepEqual(order, ['ecg-0', 'ecg-3', 'ecg-1', 'ecg-2']);
    } finally {
      await own.close();
    }
  });

  it('weighs a batch by its waveform text: sixteen 10-s 12-lead ECGs together, a 30-min Holter alone', () => {
    const twelve = waveformChars(observations[1]!); // PTB-XL 00003, 10 s, 12 leads
    assert.ok(twelve > 100_000 && twelve < 300_000, `10-s 12-lead: ${twelve} characters`);
    assert.equal(batchLength(Array(16).fill(twelve), MAX_BATCH_CHARS), 16);
    const holter = 6_400_000; // MIT-BIH 100 as one Observation (test/analysis-pool/off-event-loop.test.ts)
    assert.equal(batchLength([holter, twelve, twelve], MAX_BATCH_CHARS), 1, 'a Holter goes alone');
    assert.equal(batchLength([twelve, holter, twelve], MAX_BATCH_CHARS), 1, 'and is not joined');
    assert.equal(batchLength([], MAX_BATCH_CHARS), 0);
    assert.equal(waveformChars({ resourceType: 'Observation', status: 'final', code: {} }), 0);
    for (const hostile of [{ component: 'x' }, { component: [null, 5] }, null, 'x'])
      assert.equal(waveformChars(hostile as unknown as fhir4.Observation), 0, JSON.stringify(hostile));
  });

  it('refuses ECGs still waiting when it closes', async () => {
    const own = await createAnalysisPool({ modelsDir: join(REPO_ROOT, 'models'), size: 1, maxBatch: 1 });
    const calls = observations.map((o) =>
      own.result(o).then(
        () => 'done',
        (e: Error) => e.message,
      ),
    );
    await own.close();
    const outcomes = await Promise.all(calls);
    assert.equal(outcomes[0], 'done', 'the running ECG finishes');
    assert.ok(
      outcomes.slice(1).every((o) => /closed/.test(o)),
      outcomes.join(' | '),
    );
  });
});
