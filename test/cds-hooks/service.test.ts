/**
 * The ecg-arrhythmia CDS service end to end: real HTTP against the composed app in demo mode (embedded
 * FHIR server over HTTP, real ONNX sessions, dev-issuer JWTs), checked against the CDS Hooks OpenAPI
 * schemas and the 2.0 rules.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { OVERRIDE_REASON_SYSTEM } from '../../src/cds-hooks/cards.js';
import { ECG_OBSERVATION_CODES } from '../../src/fhir/ecg-codec.js';
import { responseRuleErrors, schemaErrors } from '../support/cds-schema.js';
import { type RunningService, startService } from '../support/service.js';

const SVC = '/cds-services/ecg-arrhythmia';
/** /metrics is on the public port only behind METRICS_TOKEN (issue #11). */
const METRICS_TOKEN = 'service-test-metrics-token-0123';

describe('CDS Hooks ecg-arrhythmia service', { timeout: 120_000 }, () => {
  let s: RunningService;
  const patient = (record: string) => s.seeded.find((x) => x.patient.record.includes(record))!.patient.id;
  const fhirBase = () => s.c.config.fhir.baseUrl;
  const call = async (body: unknown, path = SVC) =>
    request(s.base)
      .post(path)
      .set('Authorization', `Bearer ${await s.token(path)}`)
      .set('Content-Type', 'application/json')
      .send(body as object);
  const hookBody = (patientId: string, extra: Record<string, unknown> = {}) => ({
    hook: 'patient-view',
    hookInstance: randomUUID(),
    context: { userId: 'Practitioner/demo', patientId },
    ...extra,
  });

  before(async () => {
    s = await startService({ METRICS_TOKEN });
  });
  after(async () => {
    await s?.stop();
  });

  it('discovery lists the service with prefetch templates, conformant to the schema', async () => {
    const res = await request(s.base)
      .get('/cds-services')
      .set('Authorization', `Bearer ${await s.token('/cds-services')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(schemaErrors('CdsServiceInformation', res.body), []);
    const [svc] = res.body.services;
    assert.equal(svc.id, 'ecg-arrhythmia');
    assert.equal(svc.hook, 'patient-view');
    assert.ok(svc.title && svc.description && svc.usageRequirements);
    assert.deepEqual(Object.keys(svc.prefetch).sort(), ['ecgs', 'patient', 'reports']);
    assert.match(svc.prefetch.ecgs, /_sort=-date&_count=5/);
    assert.match(svc.prefetch.ecgs, /\{\{context\.patientId\}\}/);
  });

  it('discovery without a token is a bare 401', async () => {
    const res = await request(s.base).get('/cds-services');
    assert.equal(res.status, 401);
    assert.equal(res.text, '');
  });

  it('without prefetch, reads the fhirServer: an AF card with evidence, AI label and links', async () => {
    const res = await call(hookBody(patient('A00004'), { fhirServer: fhirBase() }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(schemaErrors('CdsResponse', res.body), []);
    assert.deepEqual(responseRuleErrors(res.body), []);
    const af = res.body.cards.find(
      (c: { source: { topic?: { code: string } } }) => c.source.topic?.code === '164889003',
    );
    assert.ok(af, JSON.stringify(res.body));
    assert.equal(af.indicator, 'warning');
    assert.match(af.summary, /Atrial fibrillation/);
    assert.match(af.detail, /AI-generated, preliminary — requires clinician review/);
    assert.match(af.detail, /\*\*Atrial fibrillation or flutter\*\* \(\d+ %\)[^\n]*: burden/);
    assert.match(af.detail, /irregular/i);
    assert.ok(af.links.some((l: { url: string }) => /\/DiagnosticReport\/[\w-]+$/.test(l.url)));
    assert.ok(af.links.some((l: { url: string }) => /\/Observation\/[\w-]+$/.test(l.url)));
    assert.ok(af.overrideReasons.length >= 3);
    assert.match(res.headers['server-timing'] ?? '', /^hook;dur=\d+(\.\d)?$/);
  });

  // With an unlisted fhirServer the call is now a 400 (FHIR_SERVER_ALLOWLIST); that a complete prefetch
  // makes no query to an allowed fhirServer is shown in ssrf.test.ts.
  it('with prefetch and no fhirServer, uses the prefetch', async () => {
    const pid = patient('mitdb-119');
    const fhir = s.c.backend;
    const ecgs = await fhir.search('Observation', {
      subject: `Patient/${pid}`,
      code: ECG_OBSERVATION_CODES,
      _sort: '-date',
      _count: 5,
    });
    const reports = await fhir.search('DiagnosticReport', {
      subject: `Patient/${pid}`,
      code: 'http://loinc.org|11524-6',
      _include: 'DiagnosticReport:result',
    });
    const patientRes = await fhir.read('Patient', pid);
    const res = await call(
      hookBody(pid, {
        prefetch: { patient: patientRes, ecgs, reports },
      }),
    );
    assert.equal(res.status, 200, res.text);
    const codes = res.body.cards.map((c: { source: { topic?: { code: string } } }) => c.source.topic?.code);
    // MIT-BIH 119 excerpt: ventricular bigeminy/trigeminy with frequent PVCs.
    assert.ok(codes.includes('427172004') || codes.includes('11157007'), JSON.stringify(codes));
    assert.deepEqual(responseRuleErrors(res.body), []);
  });

  it('a null prefetch means "no ECGs": no cards, no query', async () => {
    const res = await call(
      hookBody(patient('A00004'), { prefetch: { patient: null, ecgs: null, reports: null } }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { cards: [] });
  });

  it('no prefetch and no fhirServer → 412', async () => {
    const res = await call(hookBody(patient('A00004')));
    assert.equal(res.status, 412);
  });

  it('an OperationOutcome prefetch for both keys → 412 (the client could not fetch; we do not re-query)', async () => {
    const oo = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'timeout' }] };
    const res = await call(
      hookBody(patient('A00004'), { fhirServer: fhirBase(), prefetch: { ecgs: oo, reports: oo } }),
    );
    assert.equal(res.status, 412);
  });

  it('rejects malformed requests with 400 and keeps serving', async () => {
    assert.equal((await call({ hook: 'patient-view' })).status, 400);
    assert.equal((await call(hookBody('bad id with spaces', { fhirServer: fhirBase() }))).status, 400);
    assert.equal(
      (await call(hookBody(patient('A00004'), { hook: 'order-select', fhirServer: fhirBase() }))).status,
      400,
    );
    const garbled = await request(s.base)
      .post(SVC)
      .set('Authorization', `Bearer ${await s.token(SVC)}`)
      .set('Content-Type', 'application/json')
      .send('{"hook": ');
    assert.equal(garbled.status, 400);
    const ok = await call(hookBody(patient('A00004'), { fhirServer: fhirBase() }));
    assert.equal(ok.status, 200);
  });

  it('an oversized body → 413', async () => {
    const big = hookBody(patient('A00004'), { padding: 'x'.repeat(s.c.config.maxBodyBytes + 10) });
    const res = await call(big);
    assert.equal(res.status, 413);
  });

  describe('bad ECG Observations give an "unable to analyse" card with the reason, and the service keeps serving', () => {
    const cases: Array<[string, (o: fhir4.Observation) => void, RegExp]> = [
      [
        'garbage tokens',
        (o) => {
          o.component![0]!.valueSampledData!.data = 'x1 '.repeat(5000);
        },
        /token|number|invalid/i,
      ],
      [
        'no SampledData',
        (o) => {
          o.component = o.component!.map((c) => ({ code: c.code, valueString: 'x' }));
        },
        /sampled/i,
      ],
      [
        'dimension mismatch',
        (o) => {
          o.component![0]!.valueSampledData!.dimensions = 7;
        },
        /dimension/i,
      ],
      [
        'more samples than a lead may hold (2.1 M; 10^8 is refused by the body limit, 413)',
        (o) => {
          const sd = o.component![0]!.valueSampledData!;
          sd.data = Array.from({ length: 2_100_000 }, () => '1').join(' ');
        },
        /samples|limit|too/i,
      ],
    ];
    for (const [name, breakIt, reason] of cases) {
      it(name, async () => {
        const pid = patient('A00007');
        const good = s.seeded.find((x) => x.patient.id === pid)!.observation;
        const broken = structuredClone(good);
        broken.id = `broken-${randomUUID()}`;
        broken.meta = { versionId: '1' };
        broken.effectiveDateTime = new Date().toISOString();
        breakIt(broken);
        const res = await call(
          hookBody(pid, {
            fhirServer: fhirBase(),
            prefetch: {
              ecgs: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: broken }] },
              reports: { resourceType: 'Bundle', type: 'searchset' },
            },
          }),
        );
        assert.equal(res.status, 200, res.text);
        const [card] = res.body.cards;
        assert.equal(card.indicator, 'info');
        assert.match(card.summary, /could not be analysed/);
        assert.match(card.detail, reason);
        assert.deepEqual(responseRuleErrors(res.body), []);
        const again = await call(hookBody(patient('A00004'), { fhirServer: fhirBase() }));
        assert.equal(again.status, 200);
        assert.ok(again.body.cards.length > 0);
      });
    }
  });

  it('feedback is accepted, idempotent and counted by outcome and reason', async () => {
    const path = `${SVC}/feedback`;
    const body = {
      feedback: [
        {
          card: randomUUID(),
          outcome: 'overridden',
          overrideReason: {
            reason: { system: OVERRIDE_REASON_SYSTEM, code: 'artifact', display: 'x' },
          },
          outcomeTimestamp: new Date().toISOString(),
        },
      ],
    };
    for (let i = 0; i < 2; i++) {
      const res = await request(s.base)
        .post(path)
        .set('Authorization', `Bearer ${await s.token(path)}`)
        .send(body);
      assert.equal(res.status, 200);
    }
    const bad = await request(s.base)
      .post(path)
      .set('Authorization', `Bearer ${await s.token(path)}`)
      .send({ feedback: [{ card: 'nope', outcome: 'maybe' }] });
    assert.equal(bad.status, 400);
    const metrics = await request(s.base).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    assert.match(metrics.text, /ecg_cds_feedback_total\{outcome="overridden",reason="artifact"\} 1\n/);
  });

  it('write-back is idempotent: analysing the same Observation twice leaves one report', async () => {
    const obs = s.seeded.find((x) => x.patient.record.includes('A00004'))!.observation;
    const a = await s.c.analyze(obs, 'cli');
    const b = await s.c.analyze(obs, 'cli');
    assert.ok(a.reportId);
    assert.equal(a.reportId, b.reportId);
    const bundle = await s.c.backend.search('DiagnosticReport', {
      subject: obs.subject!.reference!,
      _count: 50,
    });
    const mine = (bundle.entry ?? []).filter((e) =>
      (e.resource as fhir4.DiagnosticReport).extension?.some((x) =>
        x.valueReference?.reference?.startsWith(`Observation/${obs.id}`),
      ),
    );
    assert.equal(mine.length, 1);
    const prov = await s.c.backend.search('Provenance', { _count: 100 });
    const forReport = (prov.entry ?? []).filter((e) =>
      (e.resource as fhir4.Provenance).target.some((t) => t.reference === `DiagnosticReport/${a.reportId}`),
    );
    assert.equal(forReport.length, 1);
  });

  it('health, readiness and metrics', async () => {
    assert.equal((await request(s.base).get('/healthz')).status, 200);
    const ready = await request(s.base).get('/readyz');
    assert.equal(ready.status, 200);
    assert.match(ready.body.checks.models, /on cpu/);
    const m = await request(s.base).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    assert.match(m.text, /ecg_cds_execution_provider\{provider="cpu"\} 1/);
    assert.match(m.text, /ecg_cds_hook_duration_seconds_bucket/);
    assert.match(m.text, /ecg_cds_analyses_total\{result="atrial-fibrillation",trigger="demo"\}/);
  });
});
