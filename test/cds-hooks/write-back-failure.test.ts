/**
 * A failure of our own downstream write is not the caller's fault (issue #11): when the FHIR server
 * refuses the write-back of an on-demand analysis, the hook still answers 200 with the cards (the result
 * is shown, just not stored), never "request body is not valid JSON". Real parts: service A (demo mode)
 * holds the data; service B uses A's FHIR server through a proxy that refuses every write with a 400
 * OperationOutcome, as a server would for a resource it does not accept.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { forward } from '../support/faulty-proxy.js';
import { type RunningService, startService } from '../support/service.js';

const SVC = '/cds-services/ecg-arrhythmia';

/** Forwards reads to `target`; answers every POST/PUT with 400 and an OperationOutcome. */
async function refusingWrites(
  target: string,
): Promise<{ url: string; refused: number; close(): Promise<void> }> {
  const t = new URL(target);
  const state = { refused: 0 };
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' || req.method === 'PUT') {
      state.refused++;
      req.resume();
      res.writeHead(400, { 'Content-Type': 'application/fhir+json' }).end(
        JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'invalid', details: { text: 'refused by the test proxy' } }],
        }),
      );
      return;
    }
    forward(req, res, t);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  });
}

describe('write-back refused by the FHIR server', { timeout: 120_000 }, () => {
  let a: RunningService;
  let b: RunningService;
  let proxy: Awaited<ReturnType<typeof refusingWrites>>;

  before(async () => {
    a = await startService();
    proxy = await refusingWrites(a.c.config.fhir.baseUrl);
    b = await startService({
      FHIR_BASE_URL: proxy.url,
      CDS_TRUST_DEV_ISSUER: 'true',
      DEMO_DATA: 'false',
      SUBSCRIPTIONS_ENSURE: 'false',
      NIGHTLY_ENABLED: 'false',
    });
  });
  after(async () => {
    await b?.stop();
    await proxy?.close();
    await a?.stop();
  });

  it('the hook still answers 200 with the cards of the on-demand analysis', async () => {
    const seeded = a.seeded.find((x) => x.patient.record.includes('A00004'))!;
    const res = await request(b.base)
      .post(SVC)
      .set('Authorization', `Bearer ${await b.token(SVC)}`)
      .send({
        hook: 'patient-view',
        hookInstance: randomUUID(),
        context: { userId: 'Practitioner/demo', patientId: seeded.patient.id },
        prefetch: {
          ecgs: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: seeded.observation }] },
          reports: { resourceType: 'Bundle', type: 'searchset' },
        },
      });
    assert.equal(res.status, 200, res.text);
    assert.ok(proxy.refused > 0, 'the write-back was attempted and refused');
    const af = res.body.cards.find((c: { summary: string }) => /Atrial fibrillation/.test(c.summary));
    assert.ok(af, res.text);
    // Not stored: no report to link to, only the ECG.
    assert.ok(!af.links?.some((l: { url: string }) => /DiagnosticReport/.test(l.url)), JSON.stringify(af));
  });
});
