/**
 * The hook as a hostile client sees it, over real HTTP (issue #11): the reviewer's 500s as examples, then
 * fast-check mutations of valid hook requests — context, prefetch Bundles, the ECG Observations in them,
 * our DiagnosticReports read back, fhirServer, fhirAuthorization — and whole-body junk. Property: never a
 * 5xx; every 4xx is JSON with an `error`; every 200 is `{ cards: [...] }`. The service is the real one in
 * demo mode (embedded FHIR server over HTTP, ONNX, dev JWTs). `npm run fuzz` raises FUZZ_HTTP_RUNS.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { encodeEcgObservation } from '../../src/fhir/ecg-codec.js';
import { FUZZ_HTTP_RUNS, FUZZ_SEED, mutated, nastyValue, Tally } from '../support/fuzz.js';
import { type RunningService, startService } from '../support/service.js';
import { synth } from '../support/synthetic-ecg.js';

const SVC = '/cds-services/ecg-arrhythmia';

/** Element names the hook and the readers behind it look at, added by the fuzzer where absent. */
const KEYS = [
  'hook',
  'hookInstance',
  'fhirServer',
  'fhirAuthorization',
  'access_token',
  'token_type',
  'context',
  'patientId',
  'prefetch',
  'ecgs',
  'reports',
  'entry',
  'resource',
  'resourceType',
  'id',
  'meta',
  'versionId',
  'tag',
  'subject',
  'reference',
  'effectiveDateTime',
  'effectivePeriod',
  'component',
  'valueSampledData',
  'identifier',
  'extension',
  'valueCoding',
  'valueDecimal',
  'conclusion',
  'note',
];

describe('CDS hook under hostile input', { timeout: 30 * 60_000 }, () => {
  let s: RunningService;
  let pid: string;
  /** A short (2 s) ECG: it decodes, and analysis answers "too short" without running the models. */
  let shortEcg: fhir4.Observation;
  /** The patient's stored reports with their result Observations, as the `reports` prefetch. */
  let reports: fhir4.Bundle;

  const post = async (body: string, contentType = 'application/json') =>
    request(s.base)
      .post(SVC)
      .set('Authorization', `Bearer ${await s.token(SVC)}`)
      .set('Content-Type', contentType)
      .send(body);
  const call = (body: unknown) => post(JSON.stringify(body) ?? 'null');
  const hook = (extra: Record<string, unknown> = {}) => ({
    hook: 'patient-view',
    hookInstance: randomUUID(),
    context: { userId: 'Practitioner/demo', patientId: pid },
    ...extra,
  });
  const bundle = (...resources: unknown[]) => ({
    resourceType: 'Bundle',
    type: 'searchset',
    entry: resources.map((resource) => ({ resource })),
  });
  const emptyBundle = { resourceType: 'Bundle', type: 'searchset' };
  const withEcg = (obs: unknown, more: Record<string, unknown> = {}) =>
    hook({ prefetch: { ecgs: bundle(obs), reports: emptyBundle, ...more } });

  before(async () => {
    s = await startService();
    const seeded = s.seeded.find((x) => x.patient.record.includes('A00004'))!;
    pid = seeded.patient.id;
    const fs = 250;
    const ecg = encodeEcgObservation(
      {
        fs,
        sourceId: 'fuzz',
        leads: [
          { name: 'II', samples: synth(fs, 2, [0.4, 1.2]) },
          { name: 'V1', samples: synth(fs, 2, [0.4, 1.2], 0.5) },
        ],
      },
      { patientId: pid, effectiveDateTime: '2024-05-01T10:00:00Z' },
    );
    shortEcg = { ...ecg, id: 'fuzz-short-ecg', meta: { versionId: '1' } };
    reports = await s.c.backend.search('DiagnosticReport', {
      subject: `Patient/${pid}`,
      code: 'http://loinc.org|11524-6',
      _include: 'DiagnosticReport:result',
    });
    assert.ok((reports.entry ?? []).length > 1, 'the seeded patient has a stored report');
  });
  after(async () => {
    await s?.stop();
  });

  /** The response invariants of the property (and of every example below). */
  function assertWellFormed(res: request.Response): void {
    assert.ok(res.status < 500, `${res.status} ${res.text.slice(0, 300)}`);
    if (res.status >= 400) {
      assert.match(String(res.headers['content-type']), /application\/json/, res.text);
      assert.equal(typeof res.body.error, 'string', res.text);
      assert.doesNotMatch(res.text, /\n\s+at |node_modules|\/src\//, 'no stack or path');
    } else if (res.status === 200) {
      assert.ok(Array.isArray(res.body.cards), res.text);
    }
  }

  const unableReason = (res: request.Response): string => {
    assert.equal(res.status, 200, res.text);
    const [card] = res.body.cards;
    assert.ok(card, res.text);
    assert.match(card.summary, /could not be analysed/);
    return `${card.summary}\n${card.detail}`;
  };

  describe("the reviewer's cases", () => {
    for (const [name, entry, field] of [
      ['entry [null]', [null], 'prefetch.ecgs.entry[0]'],
      ['entry {}', {}, 'prefetch.ecgs.entry'],
      ['entry "x"', 'x', 'prefetch.ecgs.entry'],
      ['entry [{resource: "x"}]', [{ resource: 'x' }], 'prefetch.ecgs.entry[0].resource'],
    ] as const) {
      it(`prefetch Bundle ${name} → 400 naming ${field}`, async () => {
        const res = await call(hook({ prefetch: { ecgs: { ...emptyBundle, entry }, reports: emptyBundle } }));
        assertWellFormed(res);
        assert.equal(res.status, 400);
        assert.equal(res.body.field, field);
        assert.match(res.body.error, new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
      });
    }

    for (const [name, component, pattern] of [
      ['component "x"', 'x', /component: expected array/],
      ['component [null]', [null], /component\[0\]: expected object/],
    ] as const) {
      it(`Observation ${name} → an "unable to analyse" card naming the field`, async () => {
        const res = await call(withEcg({ ...shortEcg, component }));
        assertWellFormed(res);
        assert.match(unableReason(res), pattern);
      });
    }

    it('meta.tag "x" → an "unable to analyse" card naming meta.tag', async () => {
      const res = await call(withEcg({ ...shortEcg, meta: { versionId: '1', tag: 'x' } }));
      assertWellFormed(res);
      assert.match(unableReason(res), /meta\.tag: expected array/);
    });

    it('a bad effectiveDateTime → an "unable" card naming it, not "request body is not valid JSON"', async () => {
      const res = await call(withEcg({ ...shortEcg, effectiveDateTime: '2024-13-45T99:99:99Z' }));
      assertWellFormed(res);
      assert.match(unableReason(res), /effectiveDateTime: must be a FHIR dateTime/);
    });

    it('an Observation id that is no FHIR id → 400 naming it', async () => {
      const res = await call(withEcg({ ...shortEcg, id: '../../Patient/x' }));
      assertWellFormed(res);
      assert.equal(res.status, 400);
      assert.equal(res.body.field, 'prefetch.ecgs.entry[0].resource.id');
    });

    it('a huge factor or a 1e-300 ms period → an "unable" card with the decoder reason', async () => {
      const huge = structuredClone(shortEcg);
      huge.component![0]!.valueSampledData!.factor = 1e308;
      assert.match(unableReason(await call(withEcg(huge))), /beyond|finite/);
      const fast = structuredClone(shortEcg);
      for (const c of fast.component!) c.valueSampledData!.period = 1e-300;
      assert.match(unableReason(await call(withEcg(fast))), /Hz/);
    });

    it('a DiagnosticReport with our identifier and junk fields is "no stored result": the ECG is analysed again', async () => {
      const ecg = s.seeded.find((x) => x.patient.id === pid)!.observation;
      const junk = structuredClone(reports);
      for (const e of junk.entry ?? []) {
        const r = e.resource as unknown as Record<string, unknown>;
        if (r['resourceType'] === 'DiagnosticReport') {
          r['extension'] = 'x';
          r['conclusion'] = 5;
        } else r['note'] = [null];
      }
      const res = await call(hook({ prefetch: { ecgs: bundle(ecg), reports: junk } }));
      assertWellFormed(res);
      assert.equal(res.status, 200);
      assert.ok(
        res.body.cards.some((c: { summary: string }) => /Atrial fibrillation/.test(c.summary)),
        res.text,
      );
    });

    for (const fhirServer of ['not a url', 'ftp://example.org/fhir', 'http://user:pw@127.0.0.1/fhir', 5]) {
      it(`fhirServer ${JSON.stringify(fhirServer)} → 400 naming fhirServer`, async () => {
        const res = await call(hook({ fhirServer }));
        assertWellFormed(res);
        assert.equal(res.status, 400);
        assert.equal(res.body.field, 'fhirServer');
      });
    }

    it('fhirAuthorization without its required fields → 400 naming the field, no token echoed', async () => {
      const res = await call(
        hook({
          fhirServer: s.c.config.fhir.baseUrl,
          fhirAuthorization: { access_token: 'secret-token-value', token_type: 'Bearer' },
        }),
      );
      assertWellFormed(res);
      assert.equal(res.status, 400);
      assert.match(res.body.field, /^fhirAuthorization\./);
      assert.doesNotMatch(res.text, /secret-token-value/);
    });

    it('prefetch values that are not resources, and context that is not an object → 400 naming them', async () => {
      for (const [body, field] of [
        [hook({ prefetch: { ecgs: 'x' } }), 'prefetch.ecgs'],
        [hook({ prefetch: { ecgs: { resourceType: 'Patient' } } }), 'prefetch.ecgs'],
        [hook({ prefetch: [] }), 'prefetch'],
        [{ ...hook(), context: 'x' }, 'context'],
        [{ ...hook(), context: { patientId: 5 } }, 'context.patientId'],
        [{ ...hook(), hookInstance: null }, 'hookInstance'],
      ] as const) {
        const res = await call(body);
        assertWellFormed(res);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.field, field, res.text);
      }
    });

    it('bodies that are no JSON object → 400 JSON', async () => {
      for (const [body, type] of [
        ['"x"', 'application/json'],
        ['5', 'application/json'],
        ['null', 'application/json'],
        ['[]', 'application/json'],
        ['{"hook": ', 'application/json'],
        ['hook=patient-view', 'application/x-www-form-urlencoded'],
        ['{}', 'text/plain'],
      ] as const) {
        const res = await post(body, type);
        assertWellFormed(res);
        assert.equal(res.status, 400, `${body}: ${res.text}`);
      }
    });
  });

  describe('properties', () => {
    /** Valid requests (each answers 200 as it stands): prefetch with ECGs and stored reports, a query. */
    const bases = () => [
      hook({
        prefetch: {
          patient: { resourceType: 'Patient', id: pid },
          ecgs: bundle(shortEcg, { ...shortEcg, id: 'fuzz-short-ecg-2' }),
          reports,
        },
      }),
      hook({ fhirServer: s.c.config.fhir.baseUrl }),
      hook({
        fhirServer: s.c.config.fhir.baseUrl,
        fhirAuthorization: {
          access_token: 'opaque',
          token_type: 'Bearer',
          expires_in: 300,
          scope: 'patient/*.read',
          subject: 'ecg-cds',
        },
        prefetch: { ecgs: bundle(shortEcg), reports: emptyBundle },
      }),
    ];

    it('the bases answer 200', async () => {
      for (const b of bases()) assert.equal((await call(b)).status, 200);
    });

    it(`${FUZZ_HTTP_RUNS} mutated hook requests: never 5xx, every 4xx JSON`, async (t) => {
      const tally = new Tally();
      const t0 = performance.now();
      await fc.assert(
        fc.asyncProperty(mutated(bases(), KEYS), async ({ doc }) => {
          const res = await call(doc);
          assertWellFormed(res);
          tally.add(String(res.status));
        }),
        { numRuns: FUZZ_HTTP_RUNS, ...(FUZZ_SEED !== undefined ? { seed: FUZZ_SEED } : {}) },
      );
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      t.diagnostic(`hook fuzz: ${tally.total} requests in ${secs} s, 0 failures; status ${tally}`);
    });

    it('whole-body junk: any JSON value, or a nasty value in place of the body', async () => {
      const runs = Math.max(20, Math.round(FUZZ_HTTP_RUNS / 5));
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 3 }), nastyValue), async (body) => {
          const res = await post(typeof body === 'symbol' ? '' : (JSON.stringify(body) ?? ''));
          assertWellFormed(res);
        }),
        { numRuns: runs },
      );
    });
  });

  it('still serves a valid request afterwards', async () => {
    const res = await call(hook({ fhirServer: s.c.config.fhir.baseUrl }));
    assert.equal(res.status, 200);
    assert.ok(res.body.cards.length > 0);
  });
});
