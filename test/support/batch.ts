/**
 * Shared by the batch tests and the backfill benchmark: a Redis probe, many synthetic patients' 10-s
 * 12-lead ECGs (the PTB-XL fixture 00003_hr encoded once, one Observation per patient), and a tally of the
 * reports on the server by analysis key, to count lost and duplicated work.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { FhirAccess } from '../../src/fhir/client.js';
import { encodeEcgObservation } from '../../src/fhir/ecg-codec.js';
import { ANALYSIS_IDENTIFIER_SYSTEM } from '../../src/fhir/write-back/codes.js';
import { analysisKey } from '../../src/fhir/write-back/identity.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'ptbxl', '00003_hr');

/** Whether Redis answers PING at REDIS_URL within a second. */
export async function redisAnswers(url = REDIS_URL): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {}); // connect() below reports it
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Delete every key under `prefix:` (each test run uses its own prefix). */
export async function flushPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const r = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    await r.quit();
  }
}

/** Create `n` ECG Observations (10-s 12-lead PTB-XL 00003_hr) for patients `<tag>-0…`, 20 per batch. */
export async function seedEcgs(fhir: FhirAccess, n: number, tag: string): Promise<fhir4.Observation[]> {
  const { ecg } = await readWfdbRecord(FIXTURE);
  const template = encodeEcgObservation(ecg, { patientId: 'x', effectiveDateTime: '2024-01-01T08:00:00Z' });
  const out: fhir4.Observation[] = [];
  for (let i = 0; i < n; i += 20) {
    const entry = Array.from({ length: Math.min(20, n - i) }, (_, k) => ({
      resource: { ...template, subject: { reference: `Patient/${tag}-${i + k}` } },
      request: { method: 'POST' as const, url: 'Observation' },
    }));
    const res = await fhir.transaction({ resourceType: 'Bundle', type: 'batch', entry });
    // A batch answers with Location only (no version): fetch the versions without the waveforms.
    const ids = (res.entry ?? []).map((e) => {
      const m = /Observation\/([^/]+)/.exec(e.response?.location ?? '');
      if (!m?.[1]) throw new Error(`seed: no location in ${JSON.stringify(e.response)}`);
      return m[1];
    });
    const page = await fhir.search('Observation', { _id: ids.join(','), _elements: 'status', _count: 100 });
    const meta = new Map((page.entry ?? []).map((e) => [e.resource?.id, e.resource?.meta?.versionId]));
    for (const id of ids) out.push({ ...template, id, meta: { versionId: meta.get(id) ?? '' } });
  }
  return out;
}

/** Reports per analysis key of `obs` with `modelVersion`, plus every key of ours on the server. */
export async function tallyReports(
  fhir: FhirAccess,
  obs: readonly fhir4.Observation[],
  modelVersion: string,
): Promise<{ missing: number; duplicated: number; perEcg: number[] }> {
  const counts = new Map<string, number>();
  for await (const r of fhir.searchAll('DiagnosticReport', {
    identifier: `${ANALYSIS_IDENTIFIER_SYSTEM}|`,
    _elements: 'identifier',
    _count: 1000,
  })) {
    const key = r.identifier?.find((i) => i.system === ANALYSIS_IDENTIFIER_SYSTEM)?.value ?? '';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const perEcg = obs.map(
    (o) =>
      counts.get(analysisKey({ observationId: o.id ?? '', versionId: o.meta?.versionId }, modelVersion)) ?? 0,
  );
  return {
    missing: perEcg.filter((c) => c === 0).length,
    duplicated: [...counts.values()].filter((c) => c > 1).length,
    perEcg,
  };
}

/** Spawn test/support/batch-child.ts with `env`; stdout lines are collected. */
export function spawnChild(mode: 'nightly' | 'worker', env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'batch-child.ts'), mode],
    {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, lines, exited };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every 100 ms until it is true or `ms` pass. */
export async function until(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
