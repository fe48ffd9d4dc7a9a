import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createFhirClient, FhirRequestError } from '../../src/fhir/client.js';

/** A tiny FHIR-ish server with scripted failures; counts requests per route and records headers. */
function startServer(): Promise<{ server: Server; base: string; hits: Map<string, number>; auth: string[] }> {
  const app = express();
  app.use(express.json({ type: ['application/json', 'application/fhir+json'] }));
  const hits = new Map<string, number>();
  const auth: string[] = [];
  const count = (key: string) => {
    const n = (hits.get(key) ?? 0) + 1;
    hits.set(key, n);
    return n;
  };
  app.use((req, _res, next) => {
    auth.push(req.get('authorization') ?? '');
    next();
  });
  // 503 twice, then the resource.
  app.get('/fhir/Patient/flaky', (_req, res) => {
    if (count('flaky') <= 2) {
      res
        .status(503)
        .type('application/fhir+json')
        .json({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'transient', diagnostics: 'warming up' }],
        });
      return;
    }
    res.type('application/fhir+json').json({ resourceType: 'Patient', id: 'flaky' });
  });
  // 429 with Retry-After: 1 (seconds), then the resource.
  app.get('/fhir/Patient/busy', (_req, res) => {
    if (count('busy') === 1) {
      res.status(429).set('Retry-After', '1').json({ resourceType: 'OperationOutcome', issue: [] });
      return;
    }
    res.json({ resourceType: 'Patient', id: 'busy' });
  });
  app.get('/fhir/Patient/down', (_req, res) => {
    count('down');
    res
      .status(500)
      .json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] });
  });
  app.get('/fhir/Patient/missing', (_req, res) => {
    count('missing');
    res.status(404).json({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', diagnostics: 'Patient/missing not found' }],
    });
  });
  app.get('/fhir/Patient/slow', (_req, res) => {
    count('slow');
    setTimeout(() => res.json({ resourceType: 'Patient', id: 'slow' }), 300);
  });
  // Two pages: page 1 links to page 2 relative to the base.
  app.get('/fhir/Observation', (req, res) => {
    count('search');
    const base = `http://${req.get('host')}/fhir`;
    if (req.query['page'] === '2') {
      res.json({
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: { resourceType: 'Observation', id: 'o3' }, search: { mode: 'match' } }],
      });
      return;
    }
    assert.equal(req.query['subject'], 'Patient/p1');
    res.json({
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'next', url: `${base}/Observation?subject=Patient/p1&page=2` }],
      entry: [
        { resource: { resourceType: 'Observation', id: 'o1' }, search: { mode: 'match' } },
        { resource: { resourceType: 'Patient', id: 'p1' }, search: { mode: 'include' } },
        { resource: { resourceType: 'Observation', id: 'o2' }, search: { mode: 'match' } },
      ],
    });
  });
  app.get('/fhir/Condition', (_req, res) => {
    res.json({
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'next', url: 'http://evil.example/fhir/x' }],
    });
  });
  // Plain create fails with 503 (must not be retried); conditional create returns 201 with the resource.
  const created: unknown[] = [];
  app.post('/fhir/Observation', (req, res) => {
    count('create');
    if (!req.get('if-none-exist')) {
      res.status(503).json({ resourceType: 'OperationOutcome', issue: [] });
      return;
    }
    created.push(req.body);
    res.status(201).json({ ...req.body, id: 'new1', meta: { versionId: '1' } });
  });
  app.get('/fhir/metadata', (_req, res) => {
    res.json({
      resourceType: 'CapabilityStatement',
      status: 'active',
      kind: 'instance',
      fhirVersion: '4.0.1',
    });
  });
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, base: `http://127.0.0.1:${port}/fhir`, hits, auth });
    });
  });
}

describe('FHIR client over a real HTTP server', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    srv = await startServer();
  });
  after(() => new Promise<void>((r) => srv.server.close(() => r())));

  const client = () =>
    createFhirClient({ baseUrl: srv.base, token: 'secret-token-123', backoffBaseMs: 20, backoffMaxMs: 100 });

  it('retries 503 twice with backoff, then succeeds; sends the bearer token', async () => {
    const t = performance.now();
    const p = await client().read('Patient', 'flaky');
    assert.equal(p.id, 'flaky');
    assert.equal(srv.hits.get('flaky'), 3);
    // Equal jitter: at least half of each step (20/2 + 40/2 ms).
    assert.ok(performance.now() - t >= 28, `${performance.now() - t} ms`);
    assert.ok(srv.auth.includes('Bearer secret-token-123'));
  });

  it('honours Retry-After on 429', async () => {
    const t = performance.now();
    const p = await client().read('Patient', 'busy');
    assert.equal(p.id, 'busy');
    assert.equal(srv.hits.get('busy'), 2);
    assert.ok(performance.now() - t >= 950, `waited only ${performance.now() - t} ms`);
  });

  it('gives up after `retries` retries with a typed error carrying status and OperationOutcome', async () => {
    await assert.rejects(
      createFhirClient({ baseUrl: srv.base, token: 'secret-token-123', retries: 2, backoffBaseMs: 5 }).read(
        'Patient',
        'down',
      ),
      (e: unknown) => {
        assert.ok(e instanceof FhirRequestError);
        assert.equal(e.status, 500);
        assert.equal(e.outcome?.resourceType, 'OperationOutcome');
        assert.doesNotMatch(`${e.message} ${JSON.stringify(e)}`, /secret-token/);
        return true;
      },
    );
    assert.equal(srv.hits.get('down'), 3);
  });

  it('does not retry a 404; the message carries the diagnostics', async () => {
    await assert.rejects(client().read('Patient', 'missing'), (e: unknown) => {
      assert.ok(e instanceof FhirRequestError);
      assert.equal(e.status, 404);
      assert.match(e.message, /not found/);
      return true;
    });
    assert.equal(srv.hits.get('missing'), 1);
  });

  it('times out each attempt and reports transport "timeout"', async () => {
    const c = createFhirClient({ baseUrl: srv.base, timeoutMs: 50, retries: 1, backoffBaseMs: 5 });
    await assert.rejects(c.read('Patient', 'slow'), (e: unknown) => {
      assert.ok(e instanceof FhirRequestError);
      assert.equal(e.status, undefined);
      assert.equal(e.transport, 'timeout');
      return true;
    });
    assert.equal(srv.hits.get('slow'), 2);
  });

  it('searchAll follows next links over two pages and skips included resources', async () => {
    const ids: string[] = [];
    for await (const o of client().searchAll('Observation', { subject: 'Patient/p1' })) ids.push(o.id!);
    assert.deepEqual(ids, ['o1', 'o2', 'o3']);
    const page = await client().search('Observation', { subject: 'Patient/p1' });
    assert.equal(page.entry?.length, 3);
  });

  it('searchAll refuses a next link to another server (the token stays home)', async () => {
    await assert.rejects(async () => {
      for await (const _ of client().searchAll('Condition')) {
        // nothing
      }
    }, /leaves/);
  });

  it('a plain create is not retried on 503; a conditional create sends If-None-Exist', async () => {
    const obs: fhir4.Observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    const before = srv.hits.get('create') ?? 0;
    await assert.rejects(
      client().create(obs),
      (e: unknown) => e instanceof FhirRequestError && e.status === 503,
    );
    assert.equal(srv.hits.get('create'), before + 1);
    const made = await client().create(obs, { ifNoneExist: 'identifier=urn:x|1' });
    assert.equal(made.id, 'new1');
  });

  it('capabilities() reads /metadata', async () => {
    const cs = await client().capabilities();
    assert.equal(cs.fhirVersion, '4.0.1');
  });

  it('a refused connection is a typed transport error', async () => {
    const closed = await startServer();
    await new Promise<void>((r) => closed.server.close(() => r()));
    const c = createFhirClient({ baseUrl: closed.base, retries: 1, backoffBaseMs: 5 });
    await assert.rejects(c.read('Patient', 'x'), (e: unknown) => {
      assert.ok(e instanceof FhirRequestError);
      assert.equal(e.status, undefined);
      assert.equal(e.transport, 'ECONNREFUSED');
      return true;
    });
  });
});
