/**
 * CDS Hooks latency (issue #4 item 9): patient-view p50/p99 at 1 and 50 concurrent clients against the
 * composed service in demo mode (embedded FHIR server in the same process; results already written, as
 * after Subscription or nightly analysis), with and without prefetch; and discovery requests/s against a
 * bare express handler returning the same JSON, in the same run (overhead of JWT verification, CORS,
 * metrics). Goal: p99 ≤ 50 ms at 50 concurrent, 0 errors. Each request carries a fresh JWT (jti replay
 * protection), signed before the run.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import autocannon from 'autocannon';
import express from 'express';
import { loadOrCreateDevKey, signDevToken } from '../src/cds-hooks/dev-key.js';
import { ECG_OBSERVATION_CODES } from '../src/fhir/ecg-codec.js';
import { freePort, startService } from '../test/support/service.js';

const SECONDS = Number(process.env['BENCH_HOOK_SECONDS'] ?? 5);

interface Run {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly requests: number;
}

async function cannon(
  url: string,
  connections: number,
  body: string | undefined,
  tokens: string[] | undefined,
): Promise<Run> {
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    duration: SECONDS,
    method: body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json' },
    ...(body ? { body } : {}),
    requests: [
      {
        setupRequest: (req) =>
          tokens
            ? { ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` } }
            : req,
      },
    ],
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

export async function benchHooks(): Promise<string[]> {
  const s = await startService();
  const out: string[] = [];
  const bare = express();
  const bareBody = await (
    await fetch(`${s.base}/cds-services`, {
      headers: { authorization: `Bearer ${await s.token('/cds-services')}` },
    })
  ).json();
  bare.get('/cds-services', (_req, res) => {
    res.json(bareBody);
  });
  const barePort = await freePort();
  const bareServer: Server = bare.listen(barePort, '127.0.0.1');
  try {
    const key = await loadOrCreateDevKey(s.c.config.auth.devKeyPath);
    const path = '/cds-services/ecg-arrhythmia';
    // Enough fresh tokens for the fastest run (each request consumes one; a replay would be a 401).
    const mint = async (p: string, n: number) =>
      Promise.all(Array.from({ length: n }, () => signDevToken(key, { aud: `${s.base}${p}` })));
    const af = s.seeded.find((x) => x.patient.record.includes('A00004'))!;
    const pid = af.patient.id;
    const fhir = s.c.backend;
    const prefetch = {
      patient: await fhir.read('Patient', pid),
      ecgs: await fhir.search('Observation', {
        subject: `Patient/${pid}`,
        code: ECG_OBSERVATION_CODES,
        _sort: '-date',
        _count: 5,
      }),
      reports: await fhir.search('DiagnosticReport', {
        subject: `Patient/${pid}`,
        code: 'http://loinc.org|11524-6',
        _sort: '-issued',
        _count: 50,
        _include: 'DiagnosticReport:result',
      }),
    };
    const base = {
      hook: 'patient-view',
      hookInstance: randomUUID(),
      context: { userId: 'Practitioner/x', patientId: pid },
    };
    const withPrefetch = JSON.stringify({ ...base, prefetch });
    const withQuery = JSON.stringify({ ...base, fhirServer: s.c.config.fhir.baseUrl });
    out.push(`patient-view (${SECONDS} s per run; results already stored; fresh JWT per request):`);
    for (const [label, body] of [
      ['with prefetch', withPrefetch],
      ['no prefetch (service queries the FHIR server)', withQuery],
    ] as const) {
      for (const c of [1, 50]) {
        const tokens = await mint(path, c === 1 ? 12_000 : 30_000);
        const r = await cannon(`${s.base}${path}`, c, body, tokens);
        out.push(
          `  ${label}, ${String(c).padStart(2)} concurrent: p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.rps.toFixed(0)} req/s, ` +
            `${r.requests} requests, ${r.errors} errors, ${r.non2xx} non-2xx`,
        );
      }
    }
    const discTokens = await mint('/cds-services', 60_000);
    const disc = await cannon(`${s.base}/cds-services`, 10, undefined, discTokens);
    const bareRun = await cannon(`http://127.0.0.1:${barePort}/cds-services`, 10, undefined, undefined);
    out.push(
      `discovery, 10 concurrent: ${disc.rps.toFixed(0)} req/s (JWT+CORS+metrics) vs bare express ${bareRun.rps.toFixed(0)} req/s ` +
        `→ overhead ratio ${(bareRun.rps / Math.max(1, disc.rps)).toFixed(2)}× (${disc.non2xx} non-2xx)`,
    );
  } finally {
    bareServer.close();
    await s.stop();
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await benchHooks()) process.stdout.write(`${line}\n`);
}
