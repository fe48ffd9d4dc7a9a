/**
 * What the clinician sees (issue #12 items 1, 2, 5) on the real composition over HTTP: one card per
 * demo ECG with a short summary and a readable date, the comparison with the patient's previous ECG,
 * suggestions whose resources the FHIR server accepts, accepted suggestions reaching the feedback log,
 * the `ecgs` prefetch without waveforms, demo patients with birth date and gender, and CORS on /fhir.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import request from 'supertest';
import { fhirCors } from '../../src/cds-hooks/cors.js';
import type { Card } from '../../src/cds-hooks/types.js';
import { createLogger } from '../../src/ops/log.js';
import { responseRuleErrors, schemaErrors } from '../support/cds-schema.js';
import { r4SchemaErrors } from '../support/fhir-schema.js';

import { shownText } from '../support/markdown.js';
import { postPatientView, type RunningService, startService } from '../support/service.js';

const SVC = '/cds-services/ecg-arrhythmia';
const FEEDBACK = `${SVC}/feedback`;

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('what the clinician sees (issue #12)', { timeout: 300_000 }, () => {
  let s: RunningService;
  const logs = new Captured();
  const fhirBase = () => s.c.config.fhir.baseUrl;
  const seededFor = (record: string) => s.seeded.find((x) => x.patient.record.includes(record))!;
  const hook = async (patientId: string, extra: Record<string, unknown> = { fhirServer: fhirBase() }) => {
    const res = await postPatientView(s, patientId, extra);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(schemaErrors('CdsResponse', res.body), []);
    assert.deepEqual(responseRuleErrors(res.body), []);
    return res.body.cards as Card[];
  };

  before(async () => {
    s = await startService({ SUBSCRIPTIONS_ENSURE: 'false' }, { log: createLogger('info', logs) });
  });
  after(async () => {
    await s?.stop();
  });

  it('every demo patient: at most one card per ECG, summaries < 140 characters, dates as "2 Dec 2026 06:00"', async () => {
    const summaries: string[] = [];
    for (const x of s.seeded) {
      const cards = await hook(x.patient.id);
      assert.ok(cards.length <= 1, `${x.patient.record}: ${cards.map((c) => c.summary).join(' | ')}`);
      for (const c of cards) {
        summaries.push(c.summary);
        assert.ok(c.summary.length < 140, c.summary);
        assert.match(c.summary, / of \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}/);
        const text = `${c.summary}\n${c.detail}`;
        assert.doesNotMatch(text, /\d{4}-\d{2}-\d{2}T\d{2}:/, 'no raw timestamp');
        assert.doesNotMatch(text, /(?<![\d-])lead ECG/, 'no "lead ECG"');
        assert.doesNotMatch(text, /All clear/i);
        assert.equal(shownText(c.detail!).split('AI-generated, preliminary').length - 1, 1);
      }
    }
    // The 3-min MIT-BIH 119 excerpt: one card naming bigeminy, trigeminy and frequent PVCs (was four).
    const [multi] = await hook(seededFor('mitdb-119').patient.id);
    assert.match(multi!.summary, /bigeminy/i);
    assert.match(multi!.summary, /PVCs/);
    assert.match(multi!.summary, /trigeminy/);
    // The 0-dB noise strip: an info card that says it could not be analysed, never silence.
    const [noisy] = await hook(seededFor('118e00').patient.id);
    assert.equal(noisy!.indicator, 'info');
    assert.match(noisy!.summary, /could not be analysed by AI: poor signal quality/);
    assert.ok(summaries.length >= 6, summaries.join('\n'));
  });

  it('each card links the SMART viewer with appContext naming the Observation and the report', async () => {
    const x = seededFor('A00004');
    const [card] = await hook(x.patient.id);
    const viewer = card!.links!.find((l) => l.type === 'smart')!;
    assert.equal(viewer.label, 'View ECG');
    assert.equal(viewer.url, `${s.base}/viewer/launch`);
    const ctx = JSON.parse(viewer.appContext!) as { observation: string; report: string };
    assert.equal(ctx.observation, `Observation/${x.observation.id}`);
    assert.match(ctx.report, /^DiagnosticReport\/[\w-]+$/);
    assert.ok(card!.links!.some((l) => l.type === 'absolute' && l.url.endsWith(`/${ctx.report}`)));
  });

  it('suggestions: their resources are valid FHIR R4 that the FHIR server accepts; no medication', async () => {
    const af = (await hook(seededFor('A00004').patient.id))[0]!;
    const ectopy = (await hook(seededFor('mitdb-119').patient.id))[0]!;
    const resources = [af, ectopy].flatMap((c) =>
      c.suggestions!.flatMap((g) => g.actions!.map((a) => a.resource!)),
    );
    assert.deepEqual(resources.map((r) => r.resourceType).sort(), ['Condition', 'ServiceRequest']);
    for (const r of resources) {
      assert.deepEqual(r4SchemaErrors(r), [], JSON.stringify(r));
      const res = await request(s.base).post(`/fhir/${r.resourceType}`).send(r);
      assert.equal(res.status, 201, res.text);
    }
    assert.doesNotMatch(JSON.stringify([af, ectopy]), /Medication|anticoagul/i);
  });

  it('accepted suggestions reach the feedback log as a count, without identifiers', async () => {
    const [card] = await hook(seededFor('A00004').patient.id);
    const suggestion = card!.suggestions![0]!;
    const res = await request(s.base)
      .post(FEEDBACK)
      .set('Authorization', `Bearer ${await s.token(FEEDBACK)}`)
      .send({
        feedback: [
          {
            card: card!.uuid,
            outcome: 'accepted',
            acceptedSuggestions: [{ id: suggestion.uuid }],
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      });
    assert.equal(res.status, 200, res.text);
    const line = logs.text.split('\n').find((l) => l.includes('"cds.feedback"') && l.includes(card!.uuid!));
    assert.ok(line, 'feedback logged');
    assert.match(line, /"outcome":"accepted"/);
    assert.match(line, /"acceptedSuggestions":1/);
    assert.ok(!line.includes(seededFor('A00004').patient.id), 'no patient id in the log');
  });

  it('compares with the previous analysed ECG: "new since the ECG of … (sinus rhythm)"', async () => {
    // An older ECG for the AF patient: the sinus recording, dated a week before the AF one.
    const af = seededFor('A00004');
    const sinus = seededFor('A00007').observation;
    const before = new Date(Date.parse(af.observation.effectiveDateTime!) - 7 * 86_400_000);
    const { id: _id, meta: _meta, identifier: _identifier, ...rest } = sinus;
    const older = await request(s.base)
      .post('/fhir/Observation')
      .send({
        ...rest,
        subject: { reference: `Patient/${af.patient.id}` },
        effectiveDateTime: before.toISOString(),
      });
    assert.equal(older.status, 201, older.text);
    const cards = await hook(af.patient.id);
    const card = cards.find((c) => /Atrial fibrillation/.test(c.summary))!;
    const when = `${before.getUTCDate()} ${before.toUTCString().slice(8, 11)} ${before.getUTCFullYear()}`;
    assert.match(card.summary, new RegExp(`new since ${when}`));
    assert.ok(shownText(card.detail!).includes(`new since the ECG of ${when} (sinus rhythm)`), card.detail);
  });

  it('the ecgs prefetch leaves the waveforms out (_elements): a few KB, and the hook works from it', async () => {
    const disc = await request(s.base)
      .get('/cds-services')
      .set('Authorization', `Bearer ${await s.token('/cds-services')}`);
    const template: string = disc.body.services[0].prefetch.ecgs;
    assert.match(template, /_elements=/);
    const x = seededFor('mitdb-119');
    const query = template.replace('{{context.patientId}}', x.patient.id);
    const subsetted = await request(s.base).get(`/fhir/${query}`);
    const whole = await request(s.base).get(`/fhir/${query.replace(/&_elements=[^&]*/, '')}`);
    assert.equal(subsetted.status, 200);
    const [small, big] = [subsetted.text.length, whole.text.length];
    assert.ok(small < 4096, `prefetch ${small} bytes`);
    assert.ok(big > 20 * small, `without _elements ${big} bytes`);
    const obs = subsetted.body.entry[0].resource;
    assert.equal(obs.component, undefined);
    assert.ok(obs.subject && obs.effectiveDateTime && obs.code);
    // Prefetched like that (and the reports), the hook still cards the stored result.
    const reports = await request(s.base).get(
      `/fhir/${disc.body.services[0].prefetch.reports.replace('{{context.patientId}}', x.patient.id)}`,
    );
    const cards = await hook(x.patient.id, { prefetch: { ecgs: subsetted.body, reports: reports.body } });
    assert.equal(cards.length, 1);
    assert.match(cards[0]!.summary, /bigeminy/i);
  });

  it('demo patients have a birth date and a gender', async () => {
    for (const x of s.seeded) {
      const p = await request(s.base).get(`/fhir/Patient/${x.patient.id}`);
      assert.match(p.body.birthDate, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(['male', 'female'].includes(p.body.gender), p.body.gender);
    }
  });

  it('CORS on /fhir: preflight 204 with methods and headers, Access-Control-Allow-Origin on answers, no credentials', async () => {
    const pre = await request(s.base)
      .options('/fhir/Patient')
      .set('Origin', 'https://sandbox.cds-hooks.org')
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'authorization, prefer');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    for (const m of ['GET', 'POST', 'PUT', 'DELETE'])
      assert.match(pre.headers['access-control-allow-methods']!, new RegExp(m));
    for (const h of ['Authorization', 'Content-Type', 'Prefer', 'If-Match'])
      assert.match(pre.headers['access-control-allow-headers']!, new RegExp(h));
    assert.equal(pre.headers['access-control-allow-credentials'], undefined);
    const get = await request(s.base).get('/fhir/Patient').set('Origin', 'https://sandbox.cds-hooks.org');
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], '*');
    assert.match(get.headers['access-control-expose-headers']!, /Location/);
    const meta = await request(s.base).get('/fhir/metadata').set('Origin', 'http://localhost:3000');
    assert.equal(meta.headers['access-control-allow-origin'], '*');
  });
});

describe('fhirCors with an allow list', () => {
  const app = express();
  app.use('/fhir', fhirCors(['https://ehr.example.org']));
  app.get('/fhir/Patient', (_req, res) => {
    res.json({ resourceType: 'Bundle' });
  });

  it('reflects an allowed origin with Vary: Origin; another origin gets no CORS headers', async () => {
    const ok = await request(app).get('/fhir/Patient').set('Origin', 'https://ehr.example.org');
    assert.equal(ok.headers['access-control-allow-origin'], 'https://ehr.example.org');
    assert.match(ok.headers.vary!, /Origin/);
    const other = await request(app).get('/fhir/Patient').set('Origin', 'https://evil.example');
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const pre = await request(app)
      .options('/fhir/Patient')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'DELETE');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-methods'], undefined);
  });
});

describe('a pinned issuer works offline (issue #12 item 5)', { timeout: 120_000 }, () => {
  const SANDBOX = 'https://sandbox.cds-hooks.org';
  // Allow-listed but unreachable from here (port 9, discard): the sandbox's public JWKS on an air-gapped site.
  const JKU = 'http://127.0.0.1:9/.well-known/jwks.json';
  let s: RunningService;
  let dir: string;
  let sign: (aud: string) => Promise<string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecg-cds-jwks-'));
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwksFile = join(dir, 'sandbox-jwks.json');
    await writeFile(
      jwksFile,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'sb-1', alg: 'ES384' }] }),
    );
    sign = (aud) =>
      new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES384', kid: 'sb-1', typ: 'JWT', jku: JKU })
        .setIssuer(SANDBOX)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(privateKey);
    s = await startService({
      DEMO_DATA: 'false',
      SUBSCRIPTIONS_ENSURE: 'false',
      CDS_TRUSTED_ISSUERS: JSON.stringify([{ iss: SANDBOX, jwksFile }]),
      CDS_JKU_ALLOWLIST: JKU,
    });
  });
  after(async () => {
    await s?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a sandbox token with an allow-listed, unreachable jku verifies against the pinned jwksFile (200)', async () => {
    const res = await request(s.base)
      .get('/cds-services')
      .set('Authorization', `Bearer ${await sign(`${s.base}/cds-services`)}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.services[0].id, 'ecg-arrhythmia');
  });
});
