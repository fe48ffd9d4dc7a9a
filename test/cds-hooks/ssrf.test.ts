/**
 * SSRF through the hook's `fhirServer` (issue #11 item 4), end to end over HTTP: the composed service
 * with FHIR_SERVER_ALLOWLIST naming one "EHR FHIR server" (a loopback server that redirects everything
 * to a canary), and a canary on another loopback origin that records whatever reaches it. A hook that
 * names the canary is refused with 400 before anything is fetched; a redirect from the allowed server
 * to the canary is not followed. The canary never sees a request, nor the client's token.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { type Canary, listening, startCanary } from '../support/canary.js';
import { type RunningService, startService } from '../support/service.js';

const SVC = '/cds-services/ecg-arrhythmia';
const CLIENT_TOKEN = 'ehr-access-token-must-not-leak-42';

describe('fhirServer allow-list (SSRF)', { timeout: 120_000 }, () => {
  let s: RunningService;
  let canary: Canary;
  let ehr: Canary; // allowed, but redirects every request to the canary
  const ehrRequests: Array<{ url: string; authorization?: string }> = [];

  before(async () => {
    canary = await startCanary();
    ehr = await listening(
      createServer((req, res) => {
        ehrRequests.push({
          url: req.url ?? '',
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        });
        res.writeHead(302, { location: `${canary.origin}${req.url ?? '/'}` });
        res.end();
      }),
    );
    s = await startService({ FHIR_SERVER_ALLOWLIST: JSON.stringify([ehr.origin]) });
  });
  after(async () => {
    await s?.stop();
    await canary?.close();
    await ehr?.close();
  });

  const patientId = () => s.seeded[0]!.patient.id;
  const call = async (extra: Record<string, unknown>) =>
    request(s.base)
      .post(SVC)
      .set('Authorization', `Bearer ${await s.token(SVC)}`)
      .set('Content-Type', 'application/json')
      .send({
        hook: 'patient-view',
        hookInstance: randomUUID(),
        context: { userId: 'Practitioner/demo', patientId: patientId() },
        ...extra,
      });
  const auth = {
    access_token: CLIENT_TOKEN,
    token_type: 'Bearer',
    expires_in: 300,
    scope: 'patient/Observation.read',
    subject: 'ecg-cds',
  };

  it('a hook naming the canary as fhirServer is a 400 naming fhirServer; the canary is never called', async () => {
    const res = await call({ fhirServer: `${canary.origin}/fhir`, fhirAuthorization: auth });
    assert.equal(res.status, 400, res.text);
    assert.match(res.headers['content-type'] ?? '', /json/);
    assert.match(JSON.stringify(res.body), /fhirServer origin not allowed/);
    assert.equal(res.body.field, 'fhirServer');
    assert.doesNotMatch(res.text, new RegExp(CLIENT_TOKEN));
    assert.equal(canary.requests.length, 0);
  });

  it('refused even with a complete prefetch (documented choice), and for look-alike URLs', async () => {
    const empty = { resourceType: 'Bundle', type: 'searchset' };
    const port = new URL(canary.origin).port;
    const ehrHost = new URL(ehr.origin).host;
    for (const fhirServer of [
      `${canary.origin}/fhir`,
      `http://${ehrHost}@127.0.0.1:${port}/fhir`, // userinfo: the host is the canary
      `http://localhost:${port}/fhir`,
      `${ehr.origin.replace('http:', 'https:')}/fhir`, // other scheme, other origin
      s.c.config.fhir.baseUrl, // the explicit list replaces the demo default
      'file:///etc/passwd',
    ]) {
      const res = await call({
        fhirServer,
        fhirAuthorization: auth,
        prefetch: { patient: null, ecgs: empty, reports: empty },
      });
      assert.equal(res.status, 400, `${fhirServer}: ${res.text}`);
      assert.match(JSON.stringify(res.body), /fhirServer/);
    }
    assert.equal(canary.requests.length, 0);
  });

  it('a redirect from the allowed server to the canary is not followed: the canary gets nothing', async () => {
    const res = await call({ fhirServer: `${ehr.origin}/fhir`, fhirAuthorization: auth });
    // Both queries failed (refused redirect): CDS Hooks' answer for "could not obtain the data".
    assert.equal(res.status, 412, res.text);
    assert.ok(ehrRequests.length >= 1, 'the allowed server was asked');
    assert.ok(ehrRequests.every((r) => r.authorization === `Bearer ${CLIENT_TOKEN}`));
    assert.equal(canary.requests.length, 0);
    assert.doesNotMatch(res.text, new RegExp(CLIENT_TOKEN));
  });

  it('with a complete prefetch, the allowed fhirServer is not queried at all', async () => {
    const asked = ehrRequests.length;
    const seeded = s.seeded.find((x) => x.patient.record.includes('A00004'))!;
    const res = await call({
      fhirServer: `${ehr.origin}/fhir`,
      fhirAuthorization: auth,
      context: { userId: 'Practitioner/demo', patientId: seeded.patient.id },
      prefetch: {
        patient: null,
        ecgs: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: seeded.observation }] },
        reports: { resourceType: 'Bundle', type: 'searchset' },
      },
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.cards.length > 0, res.text);
    assert.equal(ehrRequests.length, asked);
    assert.equal(canary.requests.length, 0);
  });

  it('the service keeps serving', async () => {
    const res = await call({
      prefetch: { patient: null, ecgs: null, reports: null },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(canary.requests.length, 0);
  });
});
