/**
 * Child process for the service-only back-analysis benchmark (issue #14 item 2): a FHIR stub that serves
 * prepared bytes, so the measured CPU is the service's, not a FHIR server's. It answers exactly what the
 * nightly job asks: the keyset search of ECG Observations (`_lastUpdated` ge/lt, `_count`, sorted), reads
 * and vreads of one Observation (one prepared JSON text per ECG, spliced once at start-up), the
 * DiagnosticReport identifier search, and transactions (it keeps each report's identifiers and
 * conclusion, and answers with Locations). Anything else is a 404 OperationOutcome, printed to stderr so
 * a change in what the job asks is seen. Prints one JSON line with its base URL; serves until SIGTERM.
 *
 * Usage: tsx bench/fhir-stub.ts <N ECGs>
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { encodeEcgObservation } from '../src/fhir/ecg-codec.js';
import { readWfdbRecord } from '../src/inference/io/record.js';

const N = Number(process.argv[2] ?? 400);
const { ecg } = await readWfdbRecord(
  join(import.meta.dirname, '..', 'test', 'fixtures', 'ptbxl', '00003_hr'),
);
const template = encodeEcgObservation(ecg, { patientId: 'x', effectiveDateTime: '2024-01-01T08:00:00Z' });
const t0 = Date.parse('2025-01-01T00:00:00Z');
const refs = Array.from({ length: N }, (_, i) => ({
  id: `stub-${i}`,
  versionId: '1',
  lastUpdated: new Date(t0 + i * 1000).toISOString(),
}));
const bodies = new Map(
  refs.map(
    (r) =>
      [
        r.id,
        Buffer.from(
          JSON.stringify({
            ...template,
            id: r.id,
            meta: { versionId: r.versionId, lastUpdated: r.lastUpdated },
            subject: { reference: `Patient/${r.id}` },
          }),
        ),
      ] as const,
  ),
);
/** Reports written, by `system|value` of each identifier. */
const reports = new Map<string, fhir4.DiagnosticReport>();
let nextReport = 0;
const basics = new Map<string, fhir4.Basic>();

function send(res: ServerResponse, status: number, body: unknown | Buffer): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/fhir+json', 'content-length': bytes.length });
  res.end(bytes);
}

const searchset = (entries: fhir4.Resource[], next: boolean): fhir4.Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  ...(next ? { link: [{ relation: 'next', url: 'stub:next' }] } : {}),
  entry: entries.map((resource) => ({ resource: resource as fhir4.FhirResource })),
});

function observationSearch(q: URLSearchParams): fhir4.Bundle {
  const count = Number(q.get('_count') ?? 200);
  let lo = -Infinity;
  let hi = Infinity;
  for (const v of q.getAll('_lastUpdated')) {
    const at = Date.parse(v.slice(2));
    if (v.startsWith('ge')) lo = Math.max(lo, at);
    else if (v.startsWith('gt')) lo = Math.max(lo, at + 1);
    else if (v.startsWith('lt')) hi = Math.min(hi, at);
  }
  const hits = refs.filter((r) => {
    const at = Date.parse(r.lastUpdated);
    return at >= lo && at < hi;
  });
  const page = hits.slice(0, count).map((r) => ({
    resourceType: 'Observation',
    id: r.id,
    meta: { versionId: r.versionId, lastUpdated: r.lastUpdated },
    status: 'final',
  }));
  return searchset(page as fhir4.Resource[], hits.length > count);
}

function transaction(bundle: fhir4.Bundle): fhir4.Bundle {
  const entry = (bundle.entry ?? []).map((e) => {
    const type = e.resource?.resourceType ?? 'Resource';
    const id = `${type.toLowerCase()}-${nextReport++}`;
    if (e.resource?.resourceType === 'DiagnosticReport') {
      const report = { ...e.resource, id } as fhir4.DiagnosticReport;
      for (const i of report.identifier ?? []) reports.set(`${i.system}|${i.value}`, report);
    }
    return { response: { status: '201 Created', location: `${type}/${id}/_history/1` } };
  });
  return { resourceType: 'Bundle', type: 'transaction-response', entry };
}

async function body(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const p of req) parts.push(p as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://stub');
  const path = url.pathname.replace(/^\/fhir/, '');
  const read = /^\/Observation\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(path);
  if (req.method === 'GET' && read) {
    const bytes = bodies.get(read[1]!);
    if (bytes) return send(res, 200, bytes);
  } else if (req.method === 'GET' && path === '/Observation') {
    return send(res, 200, observationSearch(url.searchParams));
  } else if (req.method === 'GET' && path === '/DiagnosticReport') {
    const keys = (url.searchParams.get('identifier') ?? '').split(',');
    const found = [...new Set(keys.map((k) => reports.get(k)).filter((r) => r !== undefined))];
    return send(res, 200, searchset(found, false));
  } else if (req.method === 'POST' && (path === '' || path === '/')) {
    return send(res, 200, transaction(JSON.parse(await body(req)) as fhir4.Bundle));
  } else if (path === '/Basic' || path.startsWith('/Basic/')) {
    // The job's checkpoint and dead-letter state (Basic resources): kept by identifier.
    if (req.method === 'GET') {
      const key = url.searchParams.get('identifier');
      const found = key ? basics.get(key) : undefined;
      return send(res, 200, searchset(found ? [found] : [], false));
    }
    const resource = JSON.parse(await body(req)) as fhir4.Basic;
    const id = resource.id ?? `basic-${nextReport++}`;
    const stored = { ...resource, id, meta: { versionId: '1', lastUpdated: new Date().toISOString() } };
    for (const i of stored.identifier ?? []) basics.set(`${i.system}|${i.value}`, stored);
    return send(res, req.method === 'POST' ? 201 : 200, stored);
  }
  process.stderr.write(`fhir-stub: no answer for ${req.method} ${url.pathname}${url.search.slice(0, 120)}\n`);
  send(res, 404, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'not-found', diagnostics: `stub: ${req.method} ${url.pathname}` }],
  });
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ fhir: `http://127.0.0.1:${port}/fhir` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
