/**
 * Forged prefetch (issue #11 items 3 and 5), end to end over HTTP against the composed service in demo
 * mode: results from prefetched Observations are written to the service's own FHIR server only when the
 * Observation (id, version, subject) is there; otherwise the card is shown and nothing is written,
 * checked by querying the embedded FHIR server over HTTP. Strings from the prefetch reach card markdown
 * only escaped, and card links are http(s) on allowed origins only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { Card } from '../../src/cds-hooks/types.js';
import { EXT } from '../../src/fhir/write-back/codes.js';
import { responseRuleErrors } from '../support/cds-schema.js';
import { shownText, unescapedMarkup } from '../support/markdown.js';
import { type RunningService, startService } from '../support/service.js';

const SVC = '/cds-services/ecg-arrhythmia';
const LINK = '[click](javascript:alert(1))';
const IMG = '<img src=x onerror=alert(1)>';
const BOLD = '**bold**';

describe('forged prefetch: no write-back, no markup', { timeout: 180_000 }, () => {
  let s: RunningService;
  const fhir = () => s.c.config.fhir.baseUrl;

  before(async () => {
    s = await startService();
  });
  after(async () => {
    await s?.stop();
  });

  const seeded = (record: string) => s.seeded.find((x) => x.patient.record.includes(record))!;
  const call = async (patientId: string, prefetch: Record<string, unknown>) =>
    request(s.base)
      .post(SVC)
      .set('Authorization', `Bearer ${await s.token(SVC)}`)
      .set('Content-Type', 'application/json')
      .send({
        hook: 'patient-view',
        hookInstance: randomUUID(),
        context: { userId: 'Practitioner/demo', patientId },
        prefetch,
      });
  const bundle = (...resources: unknown[]) => ({
    resourceType: 'Bundle',
    type: 'searchset',
    entry: resources.map((resource) => ({ resource })),
  });
  /** Over HTTP, straight at the embedded FHIR server. */
  const get = async (path: string) => {
    const res = await fetch(`${fhir()}/${path}`, { headers: { accept: 'application/fhir+json' } });
    assert.equal(res.status, 200, path);
    return (await res.json()) as fhir4.Bundle;
  };
  const total = async (type: string) => (await get(`${type}?_summary=count`)).total ?? -1;
  const reportsOf = async (observationId: string) => {
    const b = await get('DiagnosticReport?_count=200');
    return (b.entry ?? []).filter((e) =>
      (e.resource as fhir4.DiagnosticReport).extension?.some((x) =>
        x.valueReference?.reference?.startsWith(`Observation/${observationId}`),
      ),
    );
  };
  const afEcg = () => seeded('A00004').observation;

  it('an Observation for a patient that exists nowhere → cards, zero DiagnosticReports or Provenance written', async () => {
    const before = { dr: await total('DiagnosticReport'), prov: await total('Provenance') };
    const ghost = `ghost-${randomUUID()}`;
    const obs = structuredClone(afEcg());
    obs.id = `forged-${randomUUID()}`;
    obs.meta = { versionId: '1' };
    obs.subject = { reference: `Patient/${ghost}` };
    const res = await call(ghost, { ecgs: bundle(obs), reports: bundle() });
    assert.equal(res.status, 200, res.text);
    const cards = res.body.cards as Card[];
    assert.ok(cards.length > 0, 'the analysis is still shown');
    assert.ok(
      cards.some((c) => /Atrial fibrillation/.test(c.summary)),
      JSON.stringify(cards.map((c) => c.summary)),
    );
    // No report was written, so no card links one.
    assert.ok(cards.every((c) => !(c.links ?? []).some((l) => /DiagnosticReport/.test(l.url))));
    assert.equal((await get(`DiagnosticReport?subject=Patient/${ghost}`)).entry?.length ?? 0, 0);
    assert.deepEqual({ dr: await total('DiagnosticReport'), prov: await total('Provenance') }, before);
    assert.deepEqual(await reportsOf(obs.id), []);
  });

  it('a real Observation id with another subject, or a version the server does not have → nothing written', async () => {
    const before = { dr: await total('DiagnosticReport'), prov: await total('Provenance') };
    const real = seeded('A00004');
    const otherSubject = structuredClone(real.observation);
    otherSubject.subject = { reference: `Patient/${seeded('A00007').patient.id}` };
    const otherVersion = structuredClone(real.observation);
    otherVersion.meta = { versionId: '999' };
    for (const [obs, patient] of [
      [otherSubject, seeded('A00007').patient.id],
      [otherVersion, real.patient.id],
    ] as const) {
      const res = await call(patient, { ecgs: bundle(obs), reports: bundle() });
      assert.equal(res.status, 200, res.text);
      assert.ok((res.body.cards as Card[]).length > 0);
    }
    assert.deepEqual({ dr: await total('DiagnosticReport'), prov: await total('Provenance') }, before);
  });

  it("another patient's ECG in the prefetch makes no card in this patient's chart", async () => {
    const other = seeded('A00004');
    const res = await call(seeded('A00007').patient.id, {
      ecgs: bundle(other.observation),
      reports: bundle(),
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.cards, []);
  });

  it('a stored Observation in the prefetch is analysed and written as before', async () => {
    const real = seeded('A00004');
    // A new ECG on the service's own server (so no report exists for it yet).
    const created = await fetch(`${fhir()}/Observation`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', prefer: 'return=representation' },
      body: JSON.stringify({
        ...structuredClone(real.observation),
        id: undefined,
        meta: undefined,
        identifier: undefined,
      }),
    });
    assert.equal(created.status, 201);
    const stored = (await created.json()) as fhir4.Observation;
    const res = await call(real.patient.id, { ecgs: bundle(stored), reports: bundle() });
    assert.equal(res.status, 200, res.text);
    const af = (res.body.cards as Card[]).find((c) => /Atrial fibrillation/.test(c.summary));
    assert.ok(af, res.text);
    const reportLink = af.links?.find((l) => /\/DiagnosticReport\//.test(l.url));
    assert.ok(reportLink, 'the card links the report just written');
    const reports = await reportsOf(stored.id!);
    assert.equal(reports.length, 1);
    assert.ok(reportLink.url.endsWith(`/DiagnosticReport/${reports[0]!.resource!.id}`));
    const prov = await get(`Provenance?target=DiagnosticReport/${reports[0]!.resource!.id}`);
    assert.equal(prov.entry?.length, 1);
  });

  it('strings from a prefetched Observation reach the card only escaped (lead name, decoder reason)', async () => {
    const ghost = `ghost-${randomUUID()}`;
    // The lead of an "unspecified lead" component is named by its code.text (codec policy).
    const named = structuredClone(afEcg());
    named.id = `forged-${randomUUID()}`;
    named.subject = { reference: `Patient/${ghost}` };
    named.component![0]!.code.text = `${LINK} ${IMG} ${BOLD}`;
    // An unknown lead code is quoted in the decoder's reason.
    const unknown = structuredClone(named);
    unknown.id = `forged-${randomUUID()}`;
    unknown.component![0]!.code = { coding: [{ system: LINK, code: IMG }], text: BOLD };
    for (const obs of [named, unknown]) {
      const res = await call(ghost, { ecgs: bundle(obs), reports: bundle() });
      assert.equal(res.status, 200, res.text);
      const cards = res.body.cards as Card[];
      assert.ok(cards.length > 0, res.text);
      const all = cards.map((c) => c.detail ?? '').join('\n');
      assert.deepEqual(unescapedMarkup(all), [], all);
      assert.ok(!all.includes(BOLD));
      assert.match(shownText(all), obs === named ? /lead \[click\]\(javascript:alert\(1\)\)/ : /\[click\]/);
      for (const c of cards) {
        assert.doesNotMatch(c.summary, /[\n\r]/);
        for (const l of c.links ?? []) assert.ok(l.url.startsWith(`${s.base}/`), l.url);
      }
      assert.deepEqual(responseRuleErrors(res.body), []);
    }
  });

  it('strings from a forged DiagnosticReport in the prefetch reach the card only escaped', async () => {
    const real = seeded('A00004');
    const stored = await get(
      `DiagnosticReport?subject=Patient/${real.patient.id}&_include=DiagnosticReport:result&_count=50`,
    );
    const forged = structuredClone(stored);
    for (const e of forged.entry ?? []) {
      const r = e.resource as fhir4.DiagnosticReport | fhir4.Observation;
      if (r.resourceType === 'DiagnosticReport') {
        r.id = 'forged-report'; // a non-id is refused by the report parser (another test's concern)
        for (const x of r.extension ?? [])
          if (x.valueString !== undefined) x.valueString = `${x.valueString} ${IMG}`;
        r.extension?.push({ url: EXT.limitation, valueString: LINK });
      } else if (r.valueCodeableConcept) {
        r.valueCodeableConcept.text = `${r.valueCodeableConcept.text ?? ''} ${LINK} ${BOLD}`;
        r.note = [{ text: `evidence ${LINK}\n# not a heading` }];
      }
    }
    const res = await call(real.patient.id, { ecgs: null, reports: forged });
    assert.equal(res.status, 200, res.text);
    const cards = res.body.cards as Card[];
    assert.ok(cards.length > 0, res.text);
    const all = cards.map((c) => c.detail ?? '').join('\n');
    assert.deepEqual(unescapedMarkup(all), [], all);
    assert.ok(!all.includes(BOLD));
    assert.doesNotMatch(all, /\n# not a heading/);
    assert.ok(shownText(all).includes(`evidence ${LINK} # not a heading`), all);
    for (const c of cards)
      for (const l of c.links ?? []) {
        assert.ok(l.url.startsWith(`${s.base}/`), l.url);
        assert.doesNotMatch(l.url, /[<>"]/);
      }
  });
});
