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
  /** CPU of the whole service process (all threads: HTTP, nightly, analysis workers) per ECG, ms. */
  readonly cpuMsPerEcg?: number;
  /** Time the main thread (event loop) was busy per ECG, ms. */
  readonly mainMsPerEcg?: number;
}

interface Mode {
  /** 'stub': the prepared-bytes FHIR stub (service only); 'server': the embedded FHIR server (end to end). */
  readonly fhir: 'stub' | 'server';
  /** `ecg-cds worker` processes on BullMQ; 0: the in-process queue. */
  readonly workers: number;
  /** The service's settings for this mode (the same-run baseline differs only here). */
  readonly env: Record<string, string>;
}

/** Today's defaults: ECGs wait in the pool while workers are busy and are analysed in batches. */
const OURS = { BATCH_CONCURRENCY: process.env['BENCH_BACKFILL_CONCURRENCY'] ?? '16', ANALYSIS_BATCH: '16' };
/** The settings before cross-ECG batching (issue #14): 2 ECGs in flight, one per analysis task. */
const BASELINE = { BATCH_CONCURRENCY: '2', ANALYSIS_BATCH: '1' };

/** One mode: a fresh FHIR server (or stub) with N ECGs, `workers` worker processes (0: in-process queue). */
async function measure(mode: Mode, prefix: string): Promise<Measured> {
  const server =
    mode.fhir === 'stub'
      ? await start([join('bench', 'fhir-stub.ts'), String(N)], {}, (l) => l.startsWith('{"fhir"'))
      : await start([join('bench', 'serve-fhir.ts')], {}, (l) => l.startsWith('{"fhir"'));
  const fhirBase = (JSON.parse(server.line) as { fhir: string }).fhir;
  const procs: ChildProcess[] = [];
  try {
    if (mode.fhir === 'server') await seedEcgs(createFhirClient({ baseUrl: fhirBase }), N, 'bench');
    const env = {
      FHIR_BASE_URL: fhirBase,
      BATCH_RATE_PER_SEC: '100000',
      LOG_LEVEL: 'info',
      ...mode.env,
      ...(mode.workers ? { REDIS_URL, REDIS_PREFIX: prefix } : {}),
    };
    for (let i = 0; i < mode.workers; i++) {
      const w = await start([join('src', 'cli', 'main.ts'), 'worker'], env, (l) =>
        l.includes('"worker.start"'),
      );
      procs.push(w.child);
    }
    const c = await compose(loadConfig({ ...env, LOG_LEVEL: 'silent' }), silentLogger);
    try {
      // The search reader: the dev server's $export makes clients wait a Retry-After of 1 s.
      const deps = await nightlyDeps(c, { reader: searchReader(c.backend) });
      const profile = process.env['BENCH_BACKFILL_PROFILE'] ? await startProfile() : undefined;
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      const r = await runNightly(deps, { since: '2000-01-01' });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      if (profile) await profile(process.env['BENCH_BACKFILL_PROFILE']!);
      await deps.checkpoints.close();
      if (r.analysed !== N || r.failed !== 0)
        throw new Error(`expected ${N} analysed, got ${JSON.stringify(r)}`);
      return {
        analysed: r.analysed,
        seconds,
        // With worker processes the analysis CPU is theirs: only the in-process queue is measured whole.
        ...(mode.workers
          ? {}
          : { cpuMsPerEcg: (cpu.user + cpu.system) / 1000 / N, mainMsPerEcg: elu.active / N }),
      };
    } finally {
      await c.close();
    }
  } finally {
    for (const p of procs) await stop(p);
    await stop(server.child);
    if (mode.workers) await flushPrefix(prefix);
  }
}

/** Profiling aid: a CPU profile of this (main) thread over the measured run, written to `file`. */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const rate = (m: Measured) => m.analysed / m.seconds;
const describe = (m: Measured) =>
  `${rate(m).toFixed(1).padStart(6)} ECG/s (${m.seconds.toFixed(1)} s)` +
  (m.cpuMsPerEcg !== undefined
    ? `; service CPU ${m.cpuMsPerEcg.toFixed(1)} ms/ECG (main thread ${m.mainMsPerEcg!.toFixed(1)} ms)`
    : '');

export async function benchBackfill(): Promise<string[]> {
  const lines = [
    `back-analysis, ${N} × 10-s 12-lead ECGs, FHIR read + analysis + write-back, ${cpus().length} cores; ` +
      `ours: BATCH_CONCURRENCY ${OURS.BATCH_CONCURRENCY}, ANALYSIS_BATCH ${OURS.ANALYSIS_BATCH}; ` +
      `baseline (same run): BATCH_CONCURRENCY ${BASELINE.BATCH_CONCURRENCY}, ANALYSIS_BATCH ${BASELINE.ANALYSIS_BATCH}`,
  ];
  const pair = async (fhir: Mode['fhir'], label: string) => {
    const base = await measure({ fhir, workers: 0, env: BASELINE }, '');
    const ours = await measure({ fhir, workers: 0, env: OURS }, '');
    lines.push(`  ${label}, in-process, baseline: ${describe(base)}`);
    lines.push(
      `  ${label}, in-process, ours:     ${describe(ours)}; ×${(rate(ours) / rate(base)).toFixed(2)}`,
    );
    return ours;
  };
  const stub = await pair('stub', 'service only (FHIR stub)');
  const e2e = await pair('server', 'end to end (FHIR server)');
  let best = Math.max(rate(stub), rate(e2e));
  if (!(await redisAnswers())) {
    lines.push(`  BullMQ: skipped (no Redis at ${REDIS_URL})`);
  } else {
    const prefix = `ecg-cds-bench-${randomUUID().slice(0, 8)}`;
    const one = await measure({ fhir: 'server', workers: 1, env: OURS }, prefix);
    const two = await measure({ fhir: 'server', workers: 2, env: OURS }, prefix);
    lines.push(`  end to end, BullMQ, 1 worker:   ${describe(one)}`);
    lines.push(
      `  end to end, BullMQ, 2 workers:  ${describe(two)}; 2 vs 1 worker: ×${(rate(two) / rate(one)).toFixed(2)}`,
    );
    best = Math.max(best, rate(one), rate(two));
  }
  lines.push(
    `  goal ≥ 200 ECG/s: ${best >= 200 ? 'met' : 'NOT met'}; goal service CPU ≤ 5 ms/ECG: ${stub.cpuMsPerEcg! <= 5 ? 'met' : 'NOT met'}`,
  );
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}` && process.env['BENCH_BACKFILL_PROFILE']) {
  // Profiling aid: one service-only run with today's settings; the main thread's profile goes to the file
  // named by BENCH_BACKFILL_PROFILE (open it in Chrome DevTools).
  process.stdout.write(`${describe(await measure({ fhir: 'stub', workers: 0, env: OURS }, ''))}\n`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await benchBackfill()) process.stdout.write(`${line}\n`);
}
