/**
 * The FHIR client's bounds (issue #11 item 4) against real loopback HTTP servers: redirects are
 * followed only within the configured origin (a canary on another origin never hears from us, nor
 * sees the token), a few hops at most; bodies over the size limit and slow bodies are refused with
 * typed errors; an id from outside cannot steer the request path.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createFhirClient, FhirRefusedError, FhirRequestError } from '../../src/fhir/client.js';
import { type Canary, listening, startCanary } from '../support/canary.js';

const TOKEN = 'the-service-token-0123456789';
const LIMIT = 64 * 1024;

describe('FHIR client bounds', () => {
  let canary: Canary;
  let upstream: Canary;
  const hits = new Map<string, number>();

  before(async () => {
    canary = await startCanary();
    const json = (res: ServerResponse, body: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json', ...extra });
      res.end(JSON.stringify(body));
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      switch (path) {
        case '/fhir/Patient/away': // absolute redirect to another origin
          res.writeHead(302, { location: `${canary.origin}/fhir/Patient/stolen?token=yes` });
          return void res.end();
        case '/fhir/Patient/away-307': // method-preserving, scheme-relative, to another origin
          res.writeHead(307, { location: `//127.0.0.1:${new URL(canary.origin).port}/fhir/Patient/x` });
          return void res.end();
        case '/fhir/Patient/hop': // same origin: followed
          res.writeHead(301, { location: '/fhir/Patient/here' });
          return void res.end();
        case '/fhir/Patient/here':
          return json(res, { resourceType: 'Patient', id: 'here', note: req.headers.authorization });
        case '/fhir/Patient/loop':
          res.writeHead(302, { location: '/fhir/Patient/loop' });
          return void res.end();
        case '/fhir/Patient/big-declared': {
          res.writeHead(200, {
            'content-type': 'application/fhir+json',
            'content-length': String(LIMIT + 1),
          });
          return void res.end('x'.repeat(LIMIT + 1));
        }
        case '/fhir/Patient/big-streamed': {
          // Chunked, no Content-Length: counted while read.
          res.writeHead(200, { 'content-type': 'application/fhir+json' });
          const chunk = 'x'.repeat(8 * 1024);
          let sent = 0;
          const push = () => {
            while (sent < 4 * LIMIT) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', push);
            }
            res.end();
          };
          return push();
        }
        case '/fhir/Patient/slow-body': {
          // Headers at once, then the body a byte every 100 ms: the timeout covers the body too.
          res.writeHead(200, { 'content-type': 'application/fhir+json' });
          res.write('{');
          const t = setInterval(() => res.write(' '), 100);
          res.on('close', () => clearInterval(t));
          return;
        }
        case '/fhir/Patient/not-json':
          res.writeHead(200, { 'content-type': 'text/html' });
          return void res.end('<html>hello</html>');
        default:
          res.writeHead(404, { 'content-type': 'application/fhir+json' });
          return void res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }));
      }
    };
    upstream = await listening(createServer(handler));
  });
  after(async () => {
    await canary.close();
    await upstream.close();
  });

  const client = (extra: Partial<Parameters<typeof createFhirClient>[0]> = {}) =>
    createFhirClient({
      baseUrl: `${upstream.origin}/fhir`,
      token: TOKEN,
      retries: 2,
      backoffBaseMs: 5,
      maxResponseBytes: LIMIT,
      ...extra,
    });

  it('a redirect to another origin is refused with a typed error; the canary gets nothing', async () => {
    for (const id of ['away', 'away-307']) {
      await assert.rejects(client().read('Patient', id), (e: unknown) => {
        assert.ok(e instanceof FhirRefusedError, String(e));
        assert.ok(e instanceof FhirRequestError);
        assert.equal(e.refusal, 'cross-origin-redirect');
        assert.doesNotMatch(`${e.message} ${JSON.stringify(e)}`, new RegExp(TOKEN));
        assert.doesNotMatch(e.message, /token=yes/); // no query string in messages
        return true;
      });
      assert.equal(hits.get(`/fhir/Patient/${id}`), 1, 'a refusal is not retried');
    }
    assert.equal(canary.requests.length, 0);
  });

  it('a same-origin redirect is followed, with the token', async () => {
    const p = (await client().read('Patient', 'hop')) as fhir4.Patient & { note?: string };
    assert.equal(p.id, 'here');
    assert.equal(p.note, `Bearer ${TOKEN}`);
  });

  it('a redirect loop stops after maxRedirects hops', async () => {
    const before = hits.get('/fhir/Patient/loop') ?? 0;
    await assert.rejects(
      client({ maxRedirects: 3 }).read('Patient', 'loop'),
      (e: unknown) => e instanceof FhirRefusedError && e.refusal === 'too-many-redirects',
    );
    assert.equal((hits.get('/fhir/Patient/loop') ?? 0) - before, 4);
  });

  it('a body over maxResponseBytes is refused, declared or streamed', async () => {
    for (const id of ['big-declared', 'big-streamed']) {
      await assert.rejects(client().read('Patient', id), (e: unknown) => {
        assert.ok(e instanceof FhirRefusedError, String(e));
        assert.equal(e.refusal, 'response-too-large');
        assert.match(e.message, new RegExp(`larger than ${LIMIT} bytes`));
        return true;
      });
      assert.equal(hits.get(`/fhir/Patient/${id}`), 1);
    }
  });

  it('the per-attempt timeout covers a body that never ends', async () => {
    const t0 = performance.now();
    await assert.rejects(
      client({ timeoutMs: 300, retries: 0 }).read('Patient', 'slow-body'),
      (e: unknown) => {
        assert.ok(e instanceof FhirRequestError);
        assert.equal(e.transport, 'timeout');
        return true;
      },
    );
    assert.ok(performance.now() - t0 < 2000);
  });

  it('a 200 that is not JSON is a typed error, not a crash', async () => {
    await assert.rejects(
      client().read('Patient', 'not-json'),
      (e: unknown) => e instanceof FhirRequestError && e.status === 200 && /not JSON/.test(e.message),
    );
  });

  it('an id that is not a FHIR id is refused before any request', async () => {
    const before = [...hits.values()].reduce((a, b) => a + b, 0);
    for (const id of ['..', '../metadata', 'a/b', `x?_format=xml`, '', 'x'.repeat(65)]) {
      await assert.rejects(
        client().read('Observation', id),
        (e: unknown) => e instanceof FhirRefusedError && e.refusal === 'invalid-id',
      );
    }
    await assert.rejects(
      client().vread('Observation', 'ok', '../1'),
      (e: unknown) => e instanceof FhirRefusedError && e.refusal === 'invalid-id',
    );
    assert.equal(
      [...hits.values()].reduce((a, b) => a + b, 0),
      before,
    );
  });
});
