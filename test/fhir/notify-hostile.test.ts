/**
 * /fhir/notify and the app's error boundary under hostile input (issue #11 item 6/7): the sender is
 * checked from headers before the body is read, every refusal is JSON (an OperationOutcome on FHIR
 * paths) with no HTML, stack trace or file path, and express's default HTML error page is never reached.
 * Runs against the real composition (compose() in demo mode) over real HTTP.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Router } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { createJwtVerifier, requireCdsJwt } from '../../src/cds-hooks/auth.js';
import { cdsCors } from '../../src/cds-hooks/cors.js';
import { createFeedbackRecorder } from '../../src/cds-hooks/feedback.js';
import { sign } from '../../src/fhir/subscriptions/verify.js';
import { createLogger } from '../../src/ops/log.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { type RunningService, startService } from '../support/service.js';

const SECRET = 'notify-hostile-secret-0123456789';
const LIMIT = 1024 * 1024; // MAX_BODY_BYTES for this service: 1 MiB
const TEN_MB = Buffer.alloc(10 * 1024 * 1024, 0x7b); // "{{{{…": not JSON either

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly text: string;
}

/** The things no answer may contain: HTML, stack frames, file paths. */
function assertClean(a: Answer, what: string): void {
  assert.doesNotMatch(a.text, /<html|<!DOCTYPE|<pre>/i, `${what}: HTML`);
  assert.doesNotMatch(a.text, /\n\s*at |\bat [\w.<>]+ \(/, `${what}: stack trace`);
  assert.doesNotMatch(a.text, /\/work\/|node_modules|\.ts:\d+|file:\/\//, `${what}: file path`);
}

/** A JSON answer, an OperationOutcome when `fhir`; returns the parsed body. */
function assertJson(a: Answer, what: string, fhir: boolean): Record<string, unknown> {
  assertClean(a, what);
  assert.match(a.type, fhir ? /^application\/fhir\+json/ : /^application\/json/, `${what}: ${a.type}`);
  const body = JSON.parse(a.text) as Record<string, unknown>;
  if (fhir) {
    assert.equal(body['resourceType'], 'OperationOutcome', what);
    const issue = (body['issue'] as Array<{ severity: string; code: string }>)[0]!;
    assert.equal(issue.severity, 'error', what);
  }
  return body;
}

describe('/fhir/notify and the error boundary under hostile input', { timeout: 120_000 }, () => {
  let s: RunningService;

  const call = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const r = await fetch(`${s.base}${path}`, init);
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
  };
  const notify = (init: RequestInit & { path?: string } = {}) =>
    call(`/fhir/notify${init.path ?? ''}`, { method: 'POST', ...init });
  const withSecret = (headers: Record<string, string> = {}) => ({
    authorization: `Bearer ${SECRET}`,
    ...headers,
  });

  before(async () => {
    s = await startService({
      SUBSCRIPTION_SECRET: SECRET,
      MAX_BODY_BYTES: String(LIMIT),
      DEMO_DATA: 'false',
      SUBSCRIPTIONS_ENSURE: 'false',
    });
  });
  after(async () => {
    await s?.stop();
  });

  it('no secret, a wrong secret or a wrong signature → 401 OperationOutcome, whatever the body', async () => {
    const bodies: Array<[string, RequestInit['body'], Record<string, string>]> = [
      ['no body', undefined, {}],
      ['10 MB of junk', TEN_MB, { 'content-type': 'application/fhir+json' }],
      ['10 MB, text/plain', TEN_MB, { 'content-type': 'text/plain' }],
      ['bad JSON', '{"resourceType":', { 'content-type': 'application/json' }],
      ['XML', '<Observation/>', { 'content-type': 'application/fhir+xml' }],
    ];
    const senders: Array<[string, Record<string, string>]> = [
      ['no secret', {}],
      ['wrong bearer', { authorization: 'Bearer wrong-secret-wrong-secret-0000' }],
      ['wrong header secret', { 'x-ecg-cds-secret': 'nope' }],
      // The shape of a Subscription's notify token (issue #13 item 6), not derived from our secret.
      ['forged notify token', { authorization: `Bearer ecgn1-${'0'.repeat(64)}` }],
      ['the secret with the token prefix', { authorization: `Bearer ecgn1-${SECRET}` }],
      ['malformed signature', { 'x-signature': 'not-hex' }],
    ];
    for (const [b, body, type] of bodies)
      for (const [who, auth] of senders) {
        for (const [method, path] of [
          ['POST', ''],
          ['PUT', '/Observation/abc'],
        ] as const) {
          const what = `${method} ${b}, ${who}`;
          const a = await notify({ method, path, headers: { ...type, ...auth }, ...(body ? { body } : {}) });
          assert.equal(a.status, 401, what);
          const oo = assertJson(a, what, true);
          assert.equal((oo['issue'] as Array<{ code: string }>)[0]!.code, 'security');
        }
      }
    // A well-formed but wrong HMAC: the raw bytes are read to check it, never parsed, and even a body
    // over the limit (which cannot be verified) is a 401, not a 413.
    for (const body of ['{"resourceType":', 'not json', TEN_MB]) {
      const a = await notify({
        headers: { 'x-signature': sign('not-the-secret', body), 'content-type': 'application/json' },
        body,
      });
      assert.equal(a.status, 401, `signed with the wrong key (${body.length} bytes)`);
      assertJson(a, 'wrong HMAC', true);
    }
  });

  it('refuses an unauthenticated sender from the headers alone: the body is never read', async () => {
    // Announce 10 MB and send only a few bytes: a server that read the body before checking the
    // secret would wait for the rest and never answer.
    const url = new URL(s.base);
    const answer = await new Promise<string>((ok, fail) => {
      const sock = connect(Number(url.port), url.hostname);
      let got = '';
      const timer = setTimeout(() => {
        sock.destroy();
        fail(new Error(`no answer while the body was pending; got ${JSON.stringify(got)}`));
      }, 5000);
      sock.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('\r\n\r\n') && /"resourceType"/.test(got)) {
          clearTimeout(timer);
          sock.destroy();
          ok(got);
        }
      });
      sock.on('error', () => undefined);
      sock.write(
        `POST /fhir/notify HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/fhir+json\r\n` +
          `Content-Length: ${10 * 1024 * 1024}\r\nAuthorization: Bearer wrong\r\n\r\n{"resourceType"`,
      );
    });
    assert.match(answer, /^HTTP\/1\.1 401 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
  });

  it('with the secret: wrong content type 415, oversize 413, bad JSON and junk 400 naming the field', async () => {
    const cases: Array<[string, RequestInit & { path?: string }, number, string?]> = [
      ['text/plain', { headers: withSecret({ 'content-type': 'text/plain' }), body: '{}' }, 415],
      ['no content type', { headers: withSecret(), body: new Uint8Array([123, 125]) }, 415],
      ['XML', { headers: withSecret({ 'content-type': 'application/fhir+xml' }), body: '<x/>' }, 415],
      [
        'over the limit',
        { headers: withSecret({ 'content-type': 'application/fhir+json' }), body: TEN_MB },
        413,
      ],
      ['bad JSON', { headers: withSecret({ 'content-type': 'application/json' }), body: '{"a":' }, 400],
      ['a JSON string', { headers: withSecret({ 'content-type': 'application/json' }), body: '"x"' }, 400],
      ['null', { headers: withSecret({ 'content-type': 'application/json' }), body: 'null' }, 400],
      ['an array', { headers: withSecret({ 'content-type': 'application/json' }), body: '[1,2]' }, 400],
      [
        'coding is a string',
        {
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({ resourceType: 'Observation', id: 'a', code: { coding: 'x' } }),
        },
        400,
        'Observation.code.coding',
      ],
      [
        'coding [null]',
        {
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({ resourceType: 'Observation', id: 'a', code: { coding: [null] } }),
        },
        400,
        'Observation.code.coding[0]',
      ],
      [
        'bundle entry [null]',
        {
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({ resourceType: 'Bundle', type: 'history', entry: [null] }),
        },
        400,
        'Bundle.entry[0]',
      ],
      [
        'bundle entry "x"',
        {
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({ resourceType: 'Bundle', type: 'history', entry: 'x' }),
        },
        400,
        'Bundle.entry',
      ],
      [
        'status parameters not an array',
        {
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'history',
            entry: [{ resource: { resourceType: 'Parameters', parameter: 'x' } }],
          }),
        },
        400,
        'Bundle.entry[0].resource.parameter',
      ],
      [
        'unknown notification type',
        {
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({
            resourceType: 'Bundle',
            type: 'history',
            entry: [
              { resource: { resourceType: 'Parameters', parameter: [{ name: 'type', valueCode: 'x' }] } },
            ],
          }),
        },
        400,
        'Bundle.entry[0].resource.parameter',
      ],
      [
        'PUT with a bad id in the URL',
        {
          method: 'PUT',
          path: '/Observation/%24bad%20id',
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({ resourceType: 'Observation' }),
        },
        400,
        'id',
      ],
      [
        'PUT whose id differs from the URL',
        {
          method: 'PUT',
          path: '/Observation/abc',
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({ resourceType: 'Observation', id: 'xyz' }),
        },
        400,
        'Observation.id',
      ],
      [
        'PUT of a Patient',
        {
          method: 'PUT',
          path: '/Observation/abc',
          headers: withSecret({ 'content-type': 'application/fhir+json' }),
          body: JSON.stringify({ resourceType: 'Patient', id: 'abc' }),
        },
        400,
        'Observation.resourceType',
      ],
      ['PUT without a body', { method: 'PUT', path: '/Observation/abc', headers: withSecret() }, 400],
    ];
    for (const [what, init, status, field] of cases) {
      const a = await notify(init);
      assert.equal(a.status, status, `${what}: ${a.text}`);
      const oo = assertJson(a, what, true);
      const issue = (oo['issue'] as Array<{ expression?: string[]; details?: { text?: string } }>)[0]!;
      if (field) assert.deepEqual(issue.expression, [field], `${what}: ${JSON.stringify(issue)}`);
    }
  });

  it('a correct HMAC sender still gets 415 for a non-JSON body, and 200 for a valid one', async () => {
    const text = 'hello';
    const a = await notify({
      headers: { 'x-signature': sign(SECRET, text), 'content-type': 'text/plain' },
      body: text,
    });
    assert.equal(a.status, 415);
    assertJson(a, 'signed text/plain', true);
    const body = JSON.stringify({ resourceType: 'Patient', id: 'p' });
    const ok = await notify({
      headers: { 'x-signature': `sha256=${sign(SECRET, body)}`, 'content-type': 'application/json' },
      body,
    });
    assert.equal(ok.status, 200);
  });

  it('unknown paths and methods under /fhir/notify → 404 / 405 OperationOutcome', async () => {
    const cases: Array<[string, string, number]> = [
      ['GET', '/fhir/notify', 405],
      ['DELETE', '/fhir/notify', 405],
      ['POST', '/fhir/notify/Observation/abc', 405],
      ['GET', '/fhir/notify/nope', 404],
      ['PUT', '/fhir/notify/Observation/%E0%A4%A', 400],
      ['POST', '/fhir/notify/Patient/1/extra', 404],
    ];
    for (const [method, path, status] of cases) {
      const a = await call(path, { method, headers: withSecret() });
      assert.equal(a.status, status, `${method} ${path}`);
      assertJson(a, `${method} ${path}`, true);
    }
  });

  it('the whole app answers junk with JSON, never an HTML error page', async () => {
    const cases: Array<[string, string, RequestInit, number]> = [
      ['unknown path', '/nope', {}, 404],
      ['unknown path, POST junk', '/nope/deeper', { method: 'POST', body: 'junk' }, 404],
      ['model card under a bad path', '/models/%2e%2e%2fpackage.json', {}, 404],
      ['metrics without a token', '/metrics', {}, 404],
    ];
    for (const [what, path, init, status] of cases) {
      const a = await call(path, init);
      assert.equal(a.status, status, `${what}: ${a.text}`);
      if (a.text) assertJson(a, what, false);
    }
  });

  it('a CDS hook body that is not JSON → 400 JSON', async () => {
    const path = '/cds-services/ecg-arrhythmia';
    for (const [body, type] of [
      ['{"hook": "patient-view",', 'application/json'],
      ['not json at all', 'application/json'],
      ['\u0000\u0001', 'application/json'],
    ] as const) {
      const a = await call(path, {
        method: 'POST',
        headers: { authorization: `Bearer ${await s.token(path)}`, 'content-type': type },
        body,
      });
      assert.equal(a.status, 400, `${JSON.stringify(body)}: ${a.text}`);
      assertJson(a, `hook body ${JSON.stringify(body)}`, false);
    }
    // A body in another content type is not read as JSON: still a JSON 4xx, never a 500 or HTML.
    const plain = await call(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${await s.token(path)}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.ok(
      plain.status >= 400 && plain.status < 500,
      `text/plain hook body: ${plain.status} ${plain.text}`,
    );
    assertJson(plain, 'text/plain hook body', false);
  });
});

describe('the app error boundary: our faults are a JSON 500 with a correlation id', () => {
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs += chunk.toString('utf8');
      done();
    },
  });
  // Routers that fail the ways handlers do: a throw, a rejected promise, a failure after the headers.
  const failing = Router()
    .get('/sync', () => {
      throw new Error('cannot open /work/main/src/secret.ts');
    })
    .get('/async', async () => {
      await Promise.resolve();
      throw new TypeError("Cannot read properties of null (reading 'valueSampledData')");
    })
    .get('/late', (_req, res, next) => {
      res.status(200).type('text/plain').write('partial');
      next(new Error('after the headers'));
    });
  const log = createLogger('info', sink);
  const metrics = createMetrics();
  const app = createApp({
    log,
    metrics,
    modelsDir: 'models',
    cds: {
      services: [],
      auth: requireCdsJwt(createJwtVerifier({ issuers: [] })),
      cors: cdsCors(),
      feedback: createFeedbackRecorder({ log, metrics }),
      maxBodyBytes: 1024,
    },
    extraRouters: [
      { path: '/boom', router: failing },
      { path: '/fhir/boom', router: failing },
    ],
    ready: async () => ({ ok: true, checks: {} }),
  });

  it('JSON (OperationOutcome under /fhir), the id in the body, header and log; no message or stack', async () => {
    for (const [path, fhir] of [
      ['/boom/sync', false],
      ['/boom/async', false],
      ['/fhir/boom/sync', true],
      ['/fhir/boom/async', true],
    ] as const) {
      const r = await request(app).get(path);
      assert.equal(r.status, 500, path);
      const a = { status: r.status, type: r.headers['content-type'] ?? '', text: r.text };
      assertJson(a, path, fhir);
      assert.doesNotMatch(r.text, /secret\.ts|valueSampledData/);
      const id = r.headers['x-correlation-id'];
      assert.match(id ?? '', /^[0-9a-f-]{36}$/);
      assert.ok(r.text.includes(id!), `${path}: correlation id in the body`);
      assert.ok(logs.includes(`"correlationId":"${id}"`), `${path}: correlation id in the log`);
    }
  });

  it('a failure after the headers cuts the response; no HTML is appended', async () => {
    const r = await request(app)
      .get('/boom/late')
      .then(
        (res) => res.text,
        (err: Error) => `aborted: ${err.message}`,
      );
    assert.doesNotMatch(r, /<html|<pre>|\n\s*at /i);
  });

  it('client faults from the body parser keep their 4xx, as JSON', async () => {
    const r = await request(app)
      .post('/cds-services/x')
      .set('Content-Type', 'application/json')
      .send('{"a":');
    // No JWT here: the CDS router refuses before the body is read.
    assert.equal(r.status, 401);
    const nf = await request(app).get('/fhir/Patient/1');
    assert.equal(nf.status, 404);
    assertJson(
      { status: nf.status, type: nf.headers['content-type'] ?? '', text: nf.text },
      '/fhir 404',
      true,
    );
  });
});
