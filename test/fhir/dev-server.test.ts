import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import {
  createDevFhirServer,
  DEFAULT_MAX_BODY_BYTES,
  type DevFhirChange,
  type DevFhirServerOptions,
} from '../../src/fhir/dev-server/index.js';

const BASE = 'http://ehr.example.test/fhir';
const FHIR_JSON = 'application/fhir+json';

async function start(options: Partial<DevFhirServerOptions> = {}) {
  const server = await createDevFhirServer({ baseUrl: BASE, ...options });
  const app = express();
  app.use('/fhir', server.router);
  return { server, app, agent: request(app) };
}

/** Path + query of an absolute link under BASE, for supertest. */
function pathOf(url: string): string {
  assert.ok(url.startsWith(`${BASE}/`), `link ${url} is absolute under the base URL`);
  const u = new URL(url);
  return u.pathname + u.search;
}

function ecgObservation(subject: string, minute: number): fhir4.Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '11524-6', display: 'EKG study' }] },
    subject: { reference: subject },
    effectiveDateTime: new Date(Date.UTC(2024, 0, 1, 8, minute)).toISOString(),
  };
}

function assertOutcome(res: request.Response, status: number): fhir4.OperationOutcome {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers['content-type'] ?? '', /^application\/fhir\+json/);
  assert.equal(res.body.resourceType, 'OperationOutcome');
  assert.ok(res.body.issue.length > 0);
  return res.body as fhir4.OperationOutcome;
}

describe('dev FHIR server', () => {
  let s: Awaited<ReturnType<typeof start>>;
  before(async () => {
    s = await start();
  });
  after(() => s.server.close());

  it('serves an R4 CapabilityStatement at /metadata', async () => {
    const res = await s.agent.get('/fhir/metadata').expect(200);
    assert.match(res.headers['content-type'] ?? '', /^application\/fhir\+json/);
    const cs = res.body as fhir4.CapabilityStatement;
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.fhirVersion, '4.0.1');
    assert.ok(cs.format.includes('json'));
    assert.equal(cs.implementation?.url, BASE);
    const rest = cs.rest?.[0];
    assert.deepEqual(rest?.interaction?.map((i) => i.code).sort(), ['batch', 'transaction']);
    const obs = rest?.resource?.find((r) => r.type === 'Observation');
    assert.ok(obs?.interaction?.some((i) => i.code === 'search-type'));
    assert.equal(obs?.conditionalCreate, true);
    assert.ok(obs?.searchParam?.some((p) => p.name === 'code' && p.type === 'token'));
  });

  it('creates, reads, vreads, updates and lists history', async () => {
    const created = await s.agent
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Patient', id: 'client-chosen', name: [{ family: 'Rhythm' }] }))
      .expect(201);
    const patient = created.body as fhir4.Patient;
    assert.ok(patient.id && patient.id !== 'client-chosen', 'the server assigns the id on create');
    assert.equal(patient.meta?.versionId, '1');
    assert.equal(created.headers.location, `${BASE}/Patient/${patient.id}/_history/1`);
    assert.equal(created.headers.etag, 'W/"1"');

    const read = await s.agent.get(`/fhir/Patient/${patient.id}`).expect(200);
    assert.equal(read.body.name[0].family, 'Rhythm');

    const updated = await s.agent
      .put(`/fhir/Patient/${patient.id}`)
      .send({ ...patient, name: [{ family: 'Sinus' }] })
      .expect(200);
    assert.equal(updated.body.meta.versionId, '2');

    const v1 = await s.agent.get(`/fhir/Patient/${patient.id}/_history/1`).expect(200);
    assert.equal(v1.body.name[0].family, 'Rhythm');
    const v2 = await s.agent.get(`/fhir/Patient/${patient.id}/_history/2`).expect(200);
    assert.equal(v2.body.name[0].family, 'Sinus');

    for (let i = 0; i < 2; i++) {
      // Twice: medplum's MemoryRepository flips the order on every call; ours must not.
      const history = (await s.agent.get(`/fhir/Patient/${patient.id}/_history`).expect(200))
        .body as fhir4.Bundle;
      assert.equal(history.type, 'history');
      assert.equal(history.total, 2);
      assert.deepEqual(
        history.entry?.map((e) => e.resource?.meta?.versionId),
        ['2', '1'],
      );
      assert.deepEqual(
        history.entry?.map((e) => e.request?.method),
        ['PUT', 'POST'],
      );
      assert.equal(history.entry?.[0]?.fullUrl, `${BASE}/Patient/${patient.id}`);
    }

    // Update as create answers 201.
    await s.agent.put('/fhir/Patient/demo-af').send({ resourceType: 'Patient', id: 'demo-af' }).expect(201);

    await s.agent.delete(`/fhir/Patient/${patient.id}`).expect(200);
    assertOutcome(await s.agent.get(`/fhir/Patient/${patient.id}`), 410);
    const afterDelete = await s.agent.get(`/fhir/Patient/${patient.id}/_history`).expect(200);
    assert.equal(afterDelete.body.total, 3);
    assert.equal(afterDelete.body.entry[0].request.method, 'DELETE');
    assertOutcome(await s.agent.get('/fhir/Patient/never-was'), 404);
  });

  it('pages search results with absolute links followed to the end', async () => {
    const subject = 'Patient/paging';
    for (let i = 0; i < 25; i++) {
      await s.agent.post('/fhir/Observation').send(ecgObservation(subject, i)).expect(201);
    }
    let next: string | undefined = `/fhir/Observation?subject=${subject}&_count=10`;
    const pages: number[] = [];
    const ids = new Set<string>();
    while (next) {
      const page = (await s.agent.get(next).expect(200)).body as fhir4.Bundle;
      assert.equal(page.type, 'searchset');
      assert.equal(page.total, 25);
      const self = page.link?.find((l) => l.relation === 'self')?.url;
      assert.ok(self?.startsWith(`${BASE}/Observation?`));
      pages.push(page.entry?.length ?? 0);
      for (const e of page.entry ?? []) {
        assert.equal(e.fullUrl, `${BASE}/Observation/${e.resource?.id}`);
        ids.add(e.resource?.id ?? '');
      }
      const link = page.link?.find((l) => l.relation === 'next')?.url;
      next = link ? pathOf(link) : undefined;
    }
    assert.deepEqual(pages, [10, 10, 5]);
    assert.equal(ids.size, 25);
  });

  it('answers the CDS prefetch searches (token with system, reference, _sort=-date, _count)', async () => {
    const subject = 'Patient/prefetch';
    const minutes = [5, 40, 12, 33, 1, 27, 18];
    for (const m of minutes)
      await s.agent.post('/fhir/Observation').send(ecgObservation(subject, m)).expect(201);
    await s.agent
      .post('/fhir/Observation')
      .send({
        ...ecgObservation(subject, 59),
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      })
      .expect(201);

    const res = await s.agent
      .get(`/fhir/Observation?code=http://loinc.org|11524-6&subject=${subject}&_sort=-date&_count=5`)
      .expect(200);
    const bundle = res.body as fhir4.Bundle<fhir4.Observation>;
    assert.equal(bundle.total, minutes.length);
    const got = bundle.entry?.map((e) => new Date(e.resource?.effectiveDateTime ?? '').getUTCMinutes());
    assert.deepEqual(got, [...minutes].sort((a, b) => b - a).slice(0, 5));

    const report: fhir4.DiagnosticReport = {
      resourceType: 'DiagnosticReport',
      status: 'preliminary',
      code: { coding: [{ system: 'http://loinc.org', code: '11524-6' }] },
      subject: { reference: subject },
      identifier: [{ system: 'https://example.org/id/analysis', value: 'obs-1.v1.model-3' }],
    };
    await s.agent.post('/fhir/DiagnosticReport').send(report).expect(201);
    const found = await s.agent
      .get(
        `/fhir/DiagnosticReport?subject=${subject}&identifier=https://example.org/id/analysis|obs-1.v1.model-3`,
      )
      .expect(200);
    assert.equal(found.body.total, 1);
    const none = await s.agent
      .get(`/fhir/DiagnosticReport?subject=${subject}&identifier=https://example.org/id/analysis|other`)
      .expect(200);
    assert.equal(none.body.total, 0);
  });

  it('rejects searches it cannot evaluate instead of returning a silently empty list', async () => {
    assertOutcome(await s.agent.get('/fhir/Observation?no-such-param=1'), 400);
    assertOutcome(await s.agent.get('/fhir/Observation?_revinclude=Provenance:target'), 400);
    assertOutcome(await s.agent.get('/fhir/Observation?_include=Observation:code'), 400);
  });

  it('_include adds the referenced resources once, with search mode include', async () => {
    const patient = await s.agent
      .post('/fhir/Patient')
      .send({ resourceType: 'Patient', name: [{ family: 'Include' }] })
      .expect(201);
    const subject = `Patient/${patient.body.id}`;
    const obs = await s.agent
      .post('/fhir/Observation')
      .send({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: subject },
      })
      .expect(201);
    const report = {
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { text: 'r' },
      subject: { reference: subject },
    };
    for (let i = 0; i < 2; i++)
      await s.agent
        .post('/fhir/DiagnosticReport')
        .send({ ...report, result: [{ reference: `Observation/${obs.body.id}` }] })
        .expect(201);
    const res = await s.agent
      .get(`/fhir/DiagnosticReport?subject=${subject}&_include=DiagnosticReport:result`)
      .expect(200);
    assert.equal(res.body.total, 2);
    const modes = res.body.entry.map((e: { search: { mode: string } }) => e.search.mode);
    assert.deepEqual(modes, ['match', 'match', 'include']);
    assert.equal(res.body.entry[2].resource.id, obs.body.id);
  });

  it('conditional create with If-None-Exist creates once (201, then 200 with the same resource)', async () => {
    const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'MRN-42' }] };
    const first = await s.agent
      .post('/fhir/Patient')
      .set('If-None-Exist', 'identifier=urn:mrn|MRN-42')
      .send(patient);
    assert.equal(first.status, 201);
    const second = await s.agent
      .post('/fhir/Patient')
      .set('If-None-Exist', 'identifier=urn:mrn|MRN-42')
      .send(patient);
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    const all = await s.agent.get('/fhir/Patient?identifier=urn:mrn|MRN-42').expect(200);
    assert.equal(all.body.total, 1);
  });

  it('replays a transaction with ifNoneExist entries idempotently and resolves urn:uuid references', async () => {
    const transaction = (): fhir4.Bundle<fhir4.FhirResource> => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:8d2b6a52-4a44-4d3e-9a6c-3b2f6f1f0a01',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            identifier: [{ system: 'https://example.org/id/finding', value: 'tx-1' }],
            code: { coding: [{ system: 'http://loinc.org', code: '8601-7' }] },
            subject: { reference: 'Patient/tx' },
          } satisfies fhir4.Observation,
          request: {
            method: 'POST',
            url: 'Observation',
            ifNoneExist: 'identifier=https://example.org/id/finding|tx-1',
          },
        },
        {
          fullUrl: 'urn:uuid:8d2b6a52-4a44-4d3e-9a6c-3b2f6f1f0a02',
          resource: {
            resourceType: 'DiagnosticReport',
            status: 'preliminary',
            identifier: [{ system: 'https://example.org/id/report', value: 'tx-1' }],
            code: { coding: [{ system: 'http://loinc.org', code: '11524-6' }] },
            subject: { reference: 'Patient/tx' },
            result: [{ reference: 'urn:uuid:8d2b6a52-4a44-4d3e-9a6c-3b2f6f1f0a01' }],
          } satisfies fhir4.DiagnosticReport,
          request: {
            method: 'POST',
            url: 'DiagnosticReport',
            ifNoneExist: 'identifier=https://example.org/id/report|tx-1',
          },
        },
      ],
    });
    const first = await s.agent
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify(transaction()));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.type, 'transaction-response');
    assert.deepEqual(
      first.body.entry.map((e: fhir4.BundleEntry) => e.response?.status),
      ['201', '201'],
    );
    const second = await s.agent.post('/fhir').send(transaction()).expect(200);
    assert.deepEqual(
      second.body.entry.map((e: fhir4.BundleEntry) => e.response?.status),
      ['200', '200'],
    );
    const reports = (
      await s.agent.get('/fhir/DiagnosticReport?identifier=https://example.org/id/report|tx-1').expect(200)
    ).body as fhir4.Bundle<fhir4.DiagnosticReport>;
    assert.equal(reports.total, 1);
    const obs = (
      await s.agent.get('/fhir/Observation?identifier=https://example.org/id/finding|tx-1').expect(200)
    ).body;
    assert.equal(obs.total, 1);
    assert.equal(
      reports.entry?.[0]?.resource?.result?.[0]?.reference,
      `Observation/${obs.entry[0].resource.id}`,
    );
  });

  it('rolls back a transaction when any entry fails, and allows more than 8 conditional entries', async () => {
    const entries = (n: number, badAt?: number): fhir4.BundleEntry<fhir4.FhirResource>[] =>
      Array.from({ length: n }, (_, i) => ({
        resource: {
          resourceType: 'Observation',
          status: 'final',
          ...(i === badAt ? { valueQuantity: { value: 'high' as unknown as number } } : {}),
          identifier: [{ system: 'https://example.org/id/big', value: `e${i}` }],
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        },
        request: {
          method: 'POST',
          url: 'Observation',
          ifNoneExist: `identifier=https://example.org/id/big|e${i}`,
        },
      }));
    const bad = await s.agent
      .post('/fhir')
      .send({ resourceType: 'Bundle', type: 'transaction', entry: entries(12, 7) });
    const oo = assertOutcome(bad, 400);
    assert.match(oo.issue[0]?.details?.text ?? '', /^Bundle\.entry\[7\]/);
    const none = await s.agent.get('/fhir/Observation?identifier=https://example.org/id/big|e0').expect(200);
    assert.equal(none.body.total, 0, 'nothing from the failed transaction remains');

    const good = await s.agent
      .post('/fhir')
      .send({ resourceType: 'Bundle', type: 'transaction', entry: entries(12) });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.equal(good.body.entry.length, 12);
  });

  it('creates exactly once when the same conditional transaction arrives concurrently', async () => {
    const bundle = (n: number): fhir4.Bundle<fhir4.FhirResource> => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: {
            resourceType: 'DiagnosticReport',
            status: 'preliminary',
            identifier: [{ system: 'https://example.org/id/report', value: 'concurrent' }],
            code: { text: `attempt ${n}` },
          },
          request: {
            method: 'POST',
            url: 'DiagnosticReport',
            ifNoneExist: 'identifier=https://example.org/id/report|concurrent',
          },
        },
      ],
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => s.agent.post('/fhir').send(bundle(i))),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array(10).fill(200),
    );
    assert.equal(results.filter((r) => r.body.entry[0].response.status === '201').length, 1);
    const found = await s.agent
      .get('/fhir/DiagnosticReport?identifier=https://example.org/id/report|concurrent')
      .expect(200);
    assert.equal(found.body.total, 1);
  });

  it('supports JSON Patch, search by POST and HEAD', async () => {
    const p = await s.agent
      .post('/fhir/Patient')
      .send({ resourceType: 'Patient', gender: 'male' })
      .expect(201);
    const patched = await s.agent
      .patch(`/fhir/Patient/${p.body.id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'replace', path: '/gender', value: 'female' }]))
      .expect(200);
    assert.equal(patched.body.gender, 'female');
    assert.equal(patched.body.meta.versionId, '2');
    const bad = await s.agent
      .patch(`/fhir/Patient/${p.body.id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'add', path: '/birthDate', value: 42 }]));
    assertOutcome(bad, 400);

    const byPost = await s.agent
      .post('/fhir/Patient/_search')
      .type('form')
      .send({ _id: p.body.id })
      .expect(200);
    assert.equal(byPost.body.total, 1);
    assert.equal(byPost.body.entry[0].resource.id, p.body.id);
    assert.match(byPost.body.link[0].url, new RegExp(`^${BASE}/Patient\\?_id=`));

    await s.agent.head(`/fhir/Patient/${p.body.id}`).expect(200);
    assertOutcome(await s.agent.post('/fhir/Patient').type('form').send({ resourceType: 'Patient' }), 415);
  });

  it('processes a batch entry by entry', async () => {
    const res = await s.agent
      .post('/fhir')
      .send({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          {
            resource: { resourceType: 'Patient', gender: 'female' },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: { resourceType: 'Patient', birthDate: 42 as unknown as string },
            request: { method: 'POST', url: 'Patient' },
          },
          { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        ],
      })
      .expect(200);
    assert.equal(res.body.type, 'batch-response');
    assert.deepEqual(
      res.body.entry.map((e: fhir4.BundleEntry) => e.response?.status),
      ['201', '400', '404'],
    );
  });

  it('rejects invalid resources with 400 and an OperationOutcome', async () => {
    const res = await s.agent.post('/fhir/Observation').send({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      valueQuantity: { value: 'high' },
    });
    const oo = assertOutcome(res, 400);
    assert.ok(oo.issue.some((i) => i.severity === 'error'));
    assertOutcome(await s.agent.post('/fhir/Observation').send({ resourceType: 'Observation' }), 400);
    assertOutcome(await s.agent.post('/fhir/Observation').send({ resourceType: 'Patient' }), 400);
    assertOutcome(await s.agent.post('/fhir/Observation').send([1, 2]), 400);
  });

  it('answers malformed JSON, wrong media types and unknown routes with OperationOutcomes', async () => {
    const malformed = await s.agent
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send('{"resourceType": "Pat');
    assertOutcome(malformed, 400);
    assertOutcome(await s.agent.post('/fhir/Patient').set('Content-Type', 'text/plain').send('hello'), 415);
    assertOutcome(await s.agent.post('/fhir/Patient'), 400);
    assertOutcome(await s.agent.get('/fhir/NotAResource'), 404);
    assertOutcome(await s.agent.get('/fhir/Patient/x/y/z/w'), 404);
    assertOutcome(await s.agent.get('/fhir/$graphql'), 404);
    assertOutcome(await s.agent.get('/fhir'), 404);
    assertOutcome(await s.agent.post('/fhir').send({ resourceType: 'Patient' }), 400);
    // Still serving.
    await s.agent.get('/fhir/metadata').expect(200);
  });

  it('emits change events for creates, updates, deletes and each transaction entry after commit', async () => {
    const seen: DevFhirChange[] = [];
    const listener = (c: DevFhirChange) => seen.push(c);
    s.server.events.on('change', listener);
    try {
      const p = await s.agent.post('/fhir/Patient').send({ resourceType: 'Patient' }).expect(201);
      await s.agent
        .put(`/fhir/Patient/${p.body.id}`)
        .send({ ...p.body, active: true })
        .expect(200);
      await s.agent.delete(`/fhir/Patient/${p.body.id}`).expect(200);
      await s.agent
        .post('/fhir')
        .send({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
            { resource: { resourceType: 'Device' }, request: { method: 'POST', url: 'Device' } },
          ],
        })
        .expect(200);
      // A failed transaction emits nothing.
      await s.agent
        .post('/fhir')
        .send({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
            {
              resource: { resourceType: 'Patient', notAnElement: 1 } as fhir4.Patient,
              request: { method: 'POST', url: 'Patient' },
            },
          ],
        })
        .expect(400);
      assert.deepEqual(
        seen.map((c) => `${c.interaction} ${c.resource.resourceType}`),
        ['create Patient', 'update Patient', 'delete Patient', 'create Patient', 'create Device'],
      );
      assert.equal(seen[0]?.resource.id, p.body.id);
      assert.equal(seen[0]?.resource.meta?.versionId, '1');
    } finally {
      s.server.events.off('change', listener);
    }
  });
});

describe('dev FHIR server limits, auth and snapshot', () => {
  it('limits the body size (413 with an OperationOutcome), 20 MB by default', async () => {
    assert.equal(DEFAULT_MAX_BODY_BYTES, 20 * 1024 * 1024);
    const { agent, server } = await start({ maxBodyBytes: 2048 });
    const big = { resourceType: 'Patient', name: [{ text: 'x'.repeat(4096) }] };
    assertOutcome(await agent.post('/fhir/Patient').send(big), 413);
    await agent.post('/fhir/Patient').send({ resourceType: 'Patient' }).expect(201);
    await server.close();
  });

  it('requires a token when configured (401 OperationOutcome), keeping /metadata open', async () => {
    const { agent, server } = await start({ requireToken: (h) => h === 'Bearer let-me-in' });
    const denied = assertOutcome(await agent.get('/fhir/Patient'), 401);
    assert.equal(denied.issue[0]?.code, 'login');
    assertOutcome(await agent.get('/fhir/Patient').set('Authorization', 'Bearer wrong'), 401);
    await agent.get('/fhir/Patient').set('Authorization', 'Bearer let-me-in').expect(200);
    await agent.get('/fhir/metadata').expect(200);
    await server.close();
  });

  describe('snapshot', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ecg-cds-devfhir-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('survives a restart: resources, versions and ids come back from the file', async () => {
      const snapshotPath = join(dir, 'nested', 'fhir.json');
      const one = await start({ snapshotPath });
      const created = await one.agent.post('/fhir/Patient').send({ resourceType: 'Patient', gender: 'male' });
      const id = created.body.id as string;
      await one.agent
        .put(`/fhir/Patient/${id}`)
        .send({ ...created.body, gender: 'female' })
        .expect(200);
      await one.agent
        .post('/fhir/Observation')
        .send(ecgObservation(`Patient/${id}`, 3))
        .expect(201);
      await one.server.close();

      const text = await readFile(snapshotPath, 'utf8');
      assert.ok(JSON.parse(text).resources.length >= 2);

      const two = await start({ snapshotPath });
      const read = await two.agent.get(`/fhir/Patient/${id}`).expect(200);
      assert.equal(read.body.gender, 'female');
      assert.equal(read.body.meta.versionId, '2');
      await two.agent.get(`/fhir/Patient/${id}/_history/1`).expect(200);
      const obs = await two.agent.get(`/fhir/Observation?subject=Patient/${id}`).expect(200);
      assert.equal(obs.body.total, 1);
      await two.server.close();
    });

    it('saves after writes without an explicit snapshot() (debounced)', async () => {
      const snapshotPath = join(dir, 'debounced.json');
      const { agent, server } = await start({ snapshotPath, snapshotDebounceMs: 20 });
      await agent.post('/fhir/Patient').send({ resourceType: 'Patient' }).expect(201);
      await new Promise((r) => setTimeout(r, 150));
      const saved = JSON.parse(await readFile(snapshotPath, 'utf8'));
      assert.equal(saved.resources.length, 1);
      await server.close();
    });

    it('refuses a corrupt snapshot rather than silently starting empty', async () => {
      const snapshotPath = join(dir, 'corrupt.json');
      await import('node:fs/promises').then((fs) => fs.writeFile(snapshotPath, '{not json'));
      await assert.rejects(createDevFhirServer({ baseUrl: BASE, snapshotPath }), /not valid JSON/);
    });
  });
});
