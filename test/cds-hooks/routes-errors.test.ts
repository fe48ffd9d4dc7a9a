/**
 * The CDS edge's one error table (routes.ts, issue #11): a CdsError answers with its status, message and
 * field; a failure of ours — a bug, or a FHIR server refusing our own request with a 400 — answers 500
 * `{ error: "internal error", correlationId }` with the id in the log line and no stack or path in the
 * response; it is never blamed on the caller's JSON. Real router, real logger; the services are
 * test services registered like any other (STYLE habit 6).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createFeedbackRecorder } from '../../src/cds-hooks/feedback.js';
import type { CdsService } from '../../src/cds-hooks/registry.js';
import { cdsRouter } from '../../src/cds-hooks/routes.js';
import { CdsError } from '../../src/cds-hooks/types.js';
import { FhirRequestError } from '../../src/fhir/client-errors.js';
import { createLogger } from '../../src/ops/log.js';
import { createMetrics } from '../../src/ops/metrics.js';

function appWith(fail: () => never) {
  const lines: string[] = [];
  const log = createLogger(
    'info',
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const metrics = createMetrics();
  const service: CdsService = {
    definition: { id: 'failing', hook: 'patient-view', description: 'fails on purpose' },
    async handle() {
      fail();
    },
  };
  const app = express();
  app.use(
    '/cds-services',
    cdsRouter({
      services: [service],
      auth: (_req, _res, next) => next(),
      cors: (_req, _res, next) => next(),
      feedback: createFeedbackRecorder({ log, metrics }),
      log,
      metrics,
      maxBodyBytes: 10_000,
    }),
  );
  return { app, lines };
}

const body = () => ({ hook: 'patient-view', hookInstance: randomUUID(), context: { patientId: 'p1' } });

describe('CDS edge error table', () => {
  it('our bug → 500 with a correlation id that the log line carries; no stack or path', async () => {
    const { app, lines } = appWith(() => {
      throw new TypeError('boom in /work/main/src/cds-hooks/services/x.ts');
    });
    const res = await request(app).post('/cds-services/failing').send(body());
    assert.equal(res.status, 500);
    assert.deepEqual(Object.keys(res.body).sort(), ['correlationId', 'error']);
    assert.equal(res.body.error, 'internal error');
    assert.match(res.body.correlationId, /^[0-9a-f-]{36}$/);
    assert.doesNotMatch(res.text, /boom|src\/|\n\s+at /);
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'cds.error');
    assert.equal(logged?.correlationId, res.body.correlationId);
    assert.equal(logged?.err?.name, 'TypeError');
    assert.ok(!logged?.err?.stack, 'no stack in the log either');
  });

  it('a FHIR server refusing our own request with 400 is our fault: 500, not "not valid JSON"', async () => {
    const { app } = appWith(() => {
      throw new FhirRequestError('POST http://fhir/ → 400', 400, undefined, 'POST', 'http://fhir/');
    });
    const res = await request(app).post('/cds-services/failing').send(body());
    assert.equal(res.status, 500);
    assert.equal(res.body.error, 'internal error');
  });

  it('a CdsError answers its status with the message and the field', async () => {
    const { app } = appWith(() => {
      throw new CdsError(400, 'context.patientId: must be a FHIR id', 'context.patientId');
    });
    const res = await request(app).post('/cds-services/failing').send(body());
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      error: 'context.patientId: must be a FHIR id',
      field: 'context.patientId',
    });
  });

  it('the request envelope is checked before the service runs', async () => {
    const { app } = appWith(() => {
      throw new Error('must not run');
    });
    const cases: Array<[unknown, string | undefined]> = [
      [{ ...body(), fhirServer: 'not a url' }, 'fhirServer'],
      [{ ...body(), fhirAuthorization: { access_token: 'x' } }, 'fhirAuthorization.token_type'],
      [{ ...body(), prefetch: { ecgs: 5 } }, 'prefetch.ecgs'],
      [{ ...body(), context: [] }, 'context'],
      [{ ...body(), hook: 5 }, 'hook'],
    ];
    for (const [b, field] of cases) {
      const res = await request(app)
        .post('/cds-services/failing')
        .send(b as object);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.field, field, res.text);
    }
    const garbled = await request(app)
      .post('/cds-services/failing')
      .set('Content-Type', 'application/json')
      .send('{"hook": ');
    assert.equal(garbled.status, 400);
    assert.equal(garbled.body.error, 'request body is not valid JSON');
  });
});
