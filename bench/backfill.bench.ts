/**
 * Back-analysis throughput (issue #5 item 5): 10-s 12-lead ECGs (PTB-XL 00003_hr for N synthetic patients)
 * through the nightly job end to end — enumerate, existence check, FHIR read, analysis, conditional
 * transaction write-back — in-process, and on BullMQ with 1 and 2 `ecg-cds worker` processes. The FHIR
 * server (embedded dev server) runs in its own process, restarted per mode so each starts from N fresh
 * ECGs. Goal: ≥ 200 ECG/s on the 2-core machine. Run alone: `npx tsx bench/backfill.bench.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { nightlyDeps } from '../src/batch/job.js';
import { runNightly } from '../src/batch/nightly.js';
import { searchReader } from '../src/batch/reader.js';
import { loadConfig } from '../src/config.js';
import { createFhirClient } from '../src/fhir/client.js';
import { compose } from '../src/main.js';
import { silentLogger } from '../src/ops/log.js';
import { flushPrefix, REDIS_URL, redisAnswers, seedEcgs } from '../test/support/batch.js';

const N = Number(process.env['BENCH_BACKFILL_N'] ?? 400);
const CONCURRENCY = process.env['BENCH_BACKFILL_CONCURRENCY'] ?? '4';
const ROOT = join(import.meta.dirname, '..');

/** Start `args` under node+tsx; resolve with the process once a stdout line satisfies `ready`. */
function start(args: string[], env: Record<string, string>, ready: (line: string) => boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<{ child: ChildProcess; line: string }>((ok, fail) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      const hit = lines.find(ready);
      if (hit !== undefined) ok({ child, line: hit });
    });
    child.once('exit', (code) => fail(new Error(`${args.join(' ')} exited (${code}) before it was ready`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  await exited;
}

interface Measured {
  readonly analysed: number;
  readonly seconds: number;
}

/** One mode: fresh FHIR server with N ECGs, `workers` worker processes (0: in-process queue). */
async function measure(workers: number, prefix: string): Promise<Measured> {
  const server = await start([join('bench', 'serve-fhir.ts')], {}, (l) => l.startsWith('{"fhir"'));
  const fhirBase = (JSON.parse(server.line) as { fhir: string }).fhir;
  const procs: ChildProcess[] = [];
  try {
    await seedEcgs(createFhirClient({ baseUrl: fhirBase }), N, 'bench');
    const env = {
      FHIR_BASE_URL: fhirBase,
      BATCH_CONCURRENCY: CONCURRENCY,
      BATCH_RATE_PER_SEC: '100000',
      LOG_LEVEL: 'info',
      ...(workers ? { REDIS_URL, REDIS_PREFIX: prefix } : {}),
    };
    for (let i = 0; i < workers; i++) {
      const w = await start([join('src', 'cli', 'main.ts'), 'worker'], env, (l) =>
        l.includes('"worker.start"'),
      );
      procs.push(w.child);
    }
    const c = await compose(loadConfig({ ...env, LOG_LEVEL: 'silent' }), silentLogger);
    try {
      // The search reader: the dev server's $export makes clients wait a Retry-After of 1 s.
      const deps = await nightlyDeps(c, { reader: searchReader(c.backend) });
      const t0 = performance.now();
      const r = await runNightly(deps, { since: '2000-01-01' });
      const seconds = (performance.now() - t0) / 1000;
      await deps.checkpoints.close();
      if (r.analysed !== N || r.failed !== 0)
        throw new Error(`expected ${N} analysed, got ${JSON.stringify(r)}`);
      return { analysed: r.analysed, seconds };
    } finally {
      await c.close();
    }
  } finally {
    for (const p of procs) await stop(p);
    await stop(server.child);
    if (workers) await flushPrefix(prefix);
  }
}

export async function benchBackfill(): Promise<string[]> {
  const lines = [
    `back-analysis, ${N} × 10-s 12-lead ECGs, FHIR read + analysis + write-back, concurrency ${CONCURRENCY}, ${cpus().length} cores:`,
  ];
  const rate = (m: Measured) => m.analysed / m.seconds;
  const inProcess = await measure(0, '');
  lines.push(`  in-process:         ${rate(inProcess).toFixed(1)} ECG/s (${inProcess.seconds.toFixed(1)} s)`);
  if (!(await redisAnswers())) {
    lines.push(`  BullMQ: skipped (no Redis at ${REDIS_URL})`);
    return lines;
  }
  const prefix = `ecg-cds-bench-${randomUUID().slice(0, 8)}`;
  const one = await measure(1, prefix);
  const two = await measure(2, prefix);
  lines.push(`  BullMQ, 1 worker:   ${rate(one).toFixed(1)} ECG/s (${one.seconds.toFixed(1)} s)`);
  lines.push(
    `  BullMQ, 2 workers:  ${rate(two).toFixed(1)} ECG/s (${two.seconds.toFixed(1)} s); 2 vs 1 worker: ×${(rate(two) / rate(one)).toFixed(2)}`,
  );
  lines.push(
    `  goal ≥ 200 ECG/s: ${Math.max(rate(inProcess), rate(one), rate(two)) >= 200 ? 'met' : 'NOT met'}`,
  );
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await benchBackfill()) process.stdout.write(`${line}\n`);
}
