/**
 * Issue #14 item 1, against the real composition (demo mode, embedded FHIR server, real ONNX sessions in
 * the analysis pool's worker threads), over real HTTP:
 *  - `/healthz` answers within 50 ms while a 30-min ECG is being analysed (the analysis is off the
 *    event loop);
 *  - a hook call whose prefetch carries a 30-min ECG answers within HOOK_BUDGET_MS (+ a margin for the
 *    6 MB body and reading our stored copy) with an "analysis in progress" card, and the report is
 *    written back afterwards (the work is not lost);
 *  - a DecodeError from a worker reaches the viewer's edge as a DecodeError (a 422 there, not a 500).
 * The long ECG is MIT-BIH record 100 from ../shared/data/mitdb when present, else the committed 5-min
 * excerpt of it repeated to 30 min, so the test always runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createAnalysisPool } from '../../src/analysis-pool/pool.js';
import { DecodeError, encodeEcgObservation } from '../../src/fhir/ecg-codec.js';
import type { Ecg } from '../../src/inference/ecg.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { REPO_ROOT } from '../../src/main.js';
import { type RunningService, startService } from '../support/service.js';

const SVC = '/cds-services/ecg-arrhythmia';
const BUDGET_MS = 350;
/** The 6 MB request body is parsed and our stored copy read on the HTTP thread before the budget starts. */
const MARGIN_MS = 1500;
const HEALTHZ_MS = 50;
const FULL_RECORD = resolve(REPO_ROOT, '..', 'shared', 'data', 'mitdb', '100');
const EXCERPT = join(REPO_ROOT, 'test', 'fixtures', 'mitdb', 'mitdb-100-0m-5m');

/** A 30-min two-lead ECG: the full record when the data set is there, else the excerpt repeated. */
async function longEcg(): Promise<{ ecg: Ecg; from: string }> {
  if (existsSync(`${FULL_RECORD}.hea`)) {
    const { ecg } = await readWfdbRecord(FULL_RECORD);
    const n = Math.min(ecg.leads[0]!.samples.length, 30 * 60 * ecg.fs);
    return {
      ecg: { ...ecg, leads: ecg.leads.map((l) => ({ ...l, samples: l.samples.slice(0, n) })) },
      from: 'mitdb 100',
    };
  }
  const { ecg } = await readWfdbRecord(EXCERPT);
  const part = ecg.leads[0]!.samples.length;
  const times = Math.ceil((30 * 60 * ecg.fs) / part);
  const leads = ecg.leads.map((l) => {
    const samples = new Float32Array(part * times);
    for (let i = 0; i < times; i++) samples.set(l.samples, i * part);
    return { name: l.name, samples };
  });
  return { ecg: { ...ecg, leads }, from: `the 5-min excerpt × ${times}` };
}

describe('analysis off the event loop (issue #14)', { timeout: 240_000 }, () => {
  let s: RunningService;
  let patientId: string;
  let stored: fhir4.Observation;
  let ecg: Ecg;

  before(async () => {
    s = await startService({ HOOK_BUDGET_MS: String(BUDGET_MS) });
    const long = await longEcg();
    ecg = long.ecg;
    const patient = await s.c.backend.create<fhir4.Patient>({ resourceType: 'Patient', gender: 'unknown' });
    patientId = patient.id!;
    stored = await s.c.backend.create(
      encodeEcgObservation(ecg, { patientId, effectiveDateTime: new Date().toISOString() }),
    );
    process.stdout.write(`# long ECG: ${long.from}, ${JSON.stringify(stored).length} bytes as JSON\n`);
  });
  after(async () => {
    await s?.stop();
  });

  it('answers /healthz within 50 ms while a 30-min ECG is analysed', async () => {
    await request(s.base).get('/healthz').expect(200); // the client's first connection is not timed
    const t0 = performance.now();
    // The pool alone: decode + analysis (the write-back that follows in the service is the FHIR server's
    // work, which in demo mode shares this process; the hook test below covers that path).
    const work = s.c.pool.result(stored);
    let finished = false;
    void work.finally(() => {
      finished = true;
    });
    // The first 100 ms hand the Observation to a worker (structured clone); probe after that.
    await new Promise((ok) => setTimeout(ok, 100));
    const probes: number[] = [];
    while (!finished && probes.length < 200) {
      const p0 = performance.now();
      await request(s.base).get('/healthz').expect(200);
      probes.push(performance.now() - p0);
      await new Promise((ok) => setTimeout(ok, 20));
    }
    const analysed = await work;
    const analysisMs = performance.now() - t0;
    process.stdout.write(
      `# analysis ${Math.round(analysisMs)} ms; /healthz during it: ${probes.length} probes, ` +
        `max ${Math.max(...probes).toFixed(1)} ms, ${probes.map((p) => Math.round(p)).join(' ')}\n`,
    );
    assert.equal(analysed.status, 'ok', 'the 30-min ECG was analysed');
    assert.ok(probes.length >= 3, `the analysis (${Math.round(analysisMs)} ms) outlasted several probes`);
    assert.ok(
      Math.max(...probes) < HEALTHZ_MS,
      `/healthz took ${Math.max(...probes).toFixed(1)} ms at worst (limit ${HEALTHZ_MS})`,
    );
  });

  it('returns an "analysis in progress" card within the budget; the report appears afterwards', async () => {
    // Another ECG of the patient, so no stored result is there to show (the test above wrote one).
    const next = await s.c.backend.create(
      encodeEcgObservation(ecg, { patientId, effectiveDateTime: new Date().toISOString() }),
    );
    const t0 = performance.now();
    // /healthz during the call too: printed, not asserted (the 6 MB body is parsed on the HTTP thread).
    let answered = false;
    const during: number[] = [];
    const probing = (async () => {
      while (!answered) {
        const p0 = performance.now();
        await request(s.base).get('/healthz');
        during.push(performance.now() - p0);
        await new Promise((ok) => setTimeout(ok, 20));
      }
    })();
    const res = await request(s.base)
      .post(SVC)
      .set('Authorization', `Bearer ${await s.token(SVC)}`)
      .send({
        hook: 'patient-view',
        hookInstance: randomUUID(),
        fhirServer: s.c.config.fhir.baseUrl,
        context: { userId: 'Practitioner/demo', patientId },
        prefetch: { ecgs: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: next }] } },
      });
    const ms = performance.now() - t0;
    answered = true;
    await probing;
    process.stdout.write(
      `# hook with a 30-min ECG in prefetch: ${Math.round(ms)} ms; /healthz meanwhile: ` +
        `${during.map((p) => Math.round(p)).join(' ')} ms\n`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(ms < BUDGET_MS + MARGIN_MS, `answered in ${Math.round(ms)} ms`);
    const cards = res.body.cards as { summary: string; indicator: string }[];
    assert.ok(Array.isArray(cards));
    assert.ok(
      cards.some((c) => /analysis in progress/i.test(c.summary) && c.indicator === 'info'),
      JSON.stringify(cards.map((c) => c.summary)),
    );
    // The work goes on (in the pool, or queued) and writes the report for this version back.
    const deadline = Date.now() + 120_000;
    let found = false;
    while (!found && Date.now() < deadline) {
      const bundle = await s.c.backend.search('DiagnosticReport', {
        subject: `Patient/${patientId}`,
        _include: 'DiagnosticReport:result',
      });
      found = JSON.stringify(bundle).includes(`Observation/${next.id}`);
      if (!found) await new Promise((ok) => setTimeout(ok, 500));
    }
    assert.ok(found, 'a report for the ECG was written back after the call returned');
  });

  it('brings a worker-side DecodeError back as a DecodeError', async () => {
    const pool = await createAnalysisPool({ modelsDir: s.c.config.modelsDir, size: 1 });
    try {
      await assert.rejects(
        pool.view({ resourceType: 'Observation', id: 'x', status: 'final', code: { text: 'ECG' } }),
        (err) => err instanceof DecodeError && typeof err.code === 'string',
      );
      const result = await pool.result({
        resourceType: 'Observation',
        id: 'x',
        status: 'final',
        code: { text: 'ECG' },
      });
      assert.equal(result.status, 'unable');
    } finally {
      await pool.close();
    }
  });
});
