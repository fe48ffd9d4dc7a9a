/**
 * CDS Hooks latency (issue #4 item 9): patient-view p50/p99 at 1 and 50 concurrent clients against the
 * composed service in demo mode (embedded FHIR server in the same process; results already written, as
 * after Subscription or nightly analysis), with and without prefetch; and discovery requests/s against a
 * bare express handler returning the same JSON, in the same run (overhead of JWT verification, CORS,
 * metrics). Goal: p99 ≤ 50 ms at 50 concurrent, 0 errors. Each request carries a fresh JWT (jti replay
 * protection), signed before the run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import express from 'express';
import { loadOrCreateDevKey, signDevToken } from '../src/cds-hooks/dev-key.js';
import { createFhirClient } from '../src/fhir/client.js';
import { ECG_OBSERVATION_CODES } from '../src/fhir/ecg-codec.js';
import { freePort } from '../test/support/service.js';

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
  const dir = await mkdtemp(join(tmpdir(), 'ecg-cds-bench-'));
  const keyPath = join(dir, 'dev-key.json');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'serve-demo.ts')], {
    env: { ...process.env, BENCH_DEV_KEY: keyPath },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await firstJsonLine(child);
  const out: string[] = [];
  const bare = express();
  const key = await loadOrCreateDevKey(keyPath);
  const mint = async (p: string, n: number) =>
    Promise.all(Array.from({ length: n }, () => signDevToken(key, { aud: `${info.base}${p}` })));
  const [discoveryToken] = await mint('/cds-services', 1);
  const bareBody = await (
    await fetch(`${info.base}/cds-services`, { headers: { authorization: `Bearer ${discoveryToken}` } })
  ).json();
  bare.get('/cds-services', (_req, res) => {
    res.json(bareBody);
  });
  const barePort = await freePort();
  const bareServer: Server = bare.listen(barePort, '127.0.0.1');
  try {
    const path = '/cds-services/ecg-arrhythmia';
    const pid = info.patients.find((x) => x.record.includes('A00004'))!.id;
    const fhir = createFhirClient({ baseUrl: info.fhir });
    const prefetch = {
      patient: await fhir.read('Patient', pid),
      ecgs: await fhir.search('Observation', {
        subject: `Patient/${pid}`,
        code: ECG_OBSERVATION_CODES,
        _sort: '-date',
        _count: 5,
        _elements: 'identifier,meta,status,code,subject,effective',
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
    const withQuery = JSON.stringify({ ...base, fhirServer: info.fhir });
    out.push(
      `patient-view (${SECONDS} s per run; service in its own process; results already stored; fresh JWT per request):`,
    );
    for (const [label, body] of [
      ['with prefetch', withPrefetch],
      ['no prefetch (service queries the FHIR server)', withQuery],
    ] as const) {
      for (const c of [1, 50]) {
        const tokens = await mint(path, c === 1 ? 15_000 : 30_000);
        const r = await cannon(`${info.base}${path}`, c, body, tokens);
        out.push(
          `  ${label}, ${String(c).padStart(2)} concurrent: p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.rps.toFixed(0)} req/s, ` +
            `${r.requests} requests, ${r.errors} errors, ${r.non2xx} non-2xx`,
        );
      }
    }
    const discTokens = await mint('/cds-services', 60_000);
    const disc = await cannon(`${info.base}/cds-services`, 10, undefined, discTokens);
    const bareRun = await cannon(`http://127.0.0.1:${barePort}/cds-services`, 10, undefined, undefined);
    out.push(
      `discovery, 10 concurrent: ${disc.rps.toFixed(0)} req/s (JWT+CORS+metrics, service process) vs bare express ` +
        `${bareRun.rps.toFixed(0)} req/s (bench process) → overhead ratio ${(bareRun.rps / Math.max(1, disc.rps)).toFixed(2)}× ` +
        `(${disc.non2xx} non-2xx)`,
    );
  } finally {
    bareServer.close();
    child.kill('SIGTERM');
    await new Promise((ok) => child.once('exit', ok));
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

interface ServeInfo {
  readonly base: string;
  readonly fhir: string;
  readonly patients: ReadonlyArray<{ id: string; record: string }>;
}

async function firstJsonLine(child: ChildProcess): Promise<ServeInfo> {
  let buf = '';
  for await (const chunk of child.stdout!) {
    buf += String(chunk);
    const nl = buf.indexOf('\n');
    if (nl >= 0) return JSON.parse(buf.slice(0, nl)) as ServeInfo;
  }
  throw new Error('bench service exited before it was ready');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await benchHooks()) process.stdout.write(`${line}\n`);
}
