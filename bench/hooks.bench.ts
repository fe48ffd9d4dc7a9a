/**
 * CDS Hooks latency and memory (issue #4 item 9, issue #14 items 3 and 7): patient-view p50/p99 at 1 and 50
 * concurrent clients against the composed service in demo mode (embedded FHIR server in the same process;
 * results already written, as after Subscription or nightly analysis), with the discovery prefetch and
 * without it, and the service's RSS before, under and after the load and after 10,000 calls (growth).
 *
 * Same-run baseline (issue #14 item 7): the same service at another git ref (BENCH_BASELINE_REF, default
 * the commit before the #14 hook work), checked out with `git worktree add` into a temporary folder that
 * shares this checkout's node_modules, started the same way, and measured interleaved with ours (rounds
 * alternate which goes first) so that a noisy machine weighs on both. Each figure is printed with its
 * ratio ours/baseline. BENCH_BASELINE_REF=none skips the baseline. "Ours" is this working tree, or the
 * commit BENCH_OURS_REF (e.g. HEAD) checked out the same way, which leaves others' unfinished edits out.
 *
 * Also discovery requests/s against a bare express handler returning the same JSON (overhead of JWT
 * verification, CORS, metrics). Goal: p99 ≤ 50 ms at 50 concurrent, 0 errors; RSS ≤ 400 MB under load
 * and after 10,000 calls. Each request carries a fresh JWT (jti replay protection), signed before the run.
 * Env: BENCH_HOOK_SECONDS (per run, 5), BENCH_HOOK_ROUNDS (3), BENCH_HOOK_CALLS (10,000).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import express from 'express';
import { type DevKey, loadOrCreateDevKey, signDevToken } from '../src/cds-hooks/dev-key.js';
import { createFhirClient } from '../src/fhir/client.js';
import { ECG_OBSERVATION_CODES } from '../src/fhir/ecg-codec.js';
import { freePort } from '../test/support/service.js';
import { median } from './stats.js';

const SECONDS = Number(process.env['BENCH_HOOK_SECONDS'] ?? 5);
const ROUNDS = Number(process.env['BENCH_HOOK_ROUNDS'] ?? 3);
const CALLS = Number(process.env['BENCH_HOOK_CALLS'] ?? 10_000);
/** The commit before the #14 hook work (the "current main" the issue compares with). */
const DEFAULT_BASELINE = '0f9aafb';
const HOOK_PATH = '/cds-services/ecg-arrhythmia';
const REPO = resolve(import.meta.dirname, '..');

interface Run {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly requests: number;
  /** The service's peak RSS during the run, MiB. */
  readonly peakRss: number;
  /**
   * The service process's CPU time per request, ms (all its threads; Linux /proc). Steadier than latency on
   * a shared machine: what others run delays our requests but does not add to our CPU time.
   */
  readonly cpuMs: number;
}

/** One service under test: a child process running bench/serve-demo.ts from its own tree. */
interface Target {
  readonly label: string;
  readonly child: ChildProcess;
  readonly info: ServeInfo;
  readonly bodies: { readonly prefetch: string; readonly query: string };
  tokens(n: number): Promise<string[]>;
}

async function cannon(
  url: string,
  connections: number,
  body: string | undefined,
  tokens: string[] | undefined,
  pid: number | undefined,
  amount?: number,
): Promise<Run> {
  let i = 0;
  let peakRss = 0;
  const sampler = pid ? setInterval(() => (peakRss = Math.max(peakRss, rssMiB(pid))), 100) : undefined;
  const cpu0 = pid ? cpuMs(pid) : 0;
  try {
    const result = await autocannon({
      url,
      connections,
      ...(amount ? { amount } : { duration: SECONDS }),
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json' },
      ...(body ? { body } : {}),
      requests: [
        {
          setupRequest: (req) =>
            tokens
              ? {
                  ...req,
                  headers: { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` },
                }
              : req,
        },
      ],
    });
    if (pid) peakRss = Math.max(peakRss, rssMiB(pid));
    return {
      p50: result.latency.p50,
      p99: result.latency.p99,
      rps: result.requests.average,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      requests: result.requests.total,
      peakRss,
      cpuMs: pid ? (cpuMs(pid) - cpu0) / Math.max(1, result.requests.total) : 0,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Resident set size of a process, MiB (Linux /proc; 0 elsewhere). */
function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** User + system CPU time of a process, ms (Linux /proc, 100 ticks per second; 0 elsewhere). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Start bench/serve-demo.ts from `root` (this checkout or the baseline's worktree) and build its bodies. */
async function startTarget(label: string, root: string, key: DevKey, keyPath: string): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'serve-demo.ts')], {
    cwd: root,
    env: { ...process.env, BENCH_DEV_KEY: keyPath },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await firstJsonLine(child);
  const pid = info.patients.find((x) => x.record.includes('A00004'))!.id;
  const fhir = createFhirClient({ baseUrl: info.fhir });
  // The discovery prefetch templates, resolved as an EHR would (same queries as the service's definition).
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
  return {
    label,
    child,
    info,
    bodies: {
      prefetch: JSON.stringify({ ...base, prefetch }),
      query: JSON.stringify({ ...base, fhirServer: info.fhir }),
    },
    tokens: (n) =>
      Promise.all(Array.from({ length: n }, () => signDevToken(key, { aud: `${info.base}${HOOK_PATH}` }))),
  };
}

async function stopTarget(t: Target | undefined): Promise<void> {
  if (!t || t.child.exitCode !== null) return;
  t.child.kill('SIGTERM');
  await new Promise((ok) => t.child.once('exit', ok));
}

/** A detached worktree of `ref` under `dir` sharing this checkout's node_modules; undefined for "none". */
function addWorktree(ref: string, dir: string, name: string): string | undefined {
  if (ref === 'none') return undefined;
  const tree = join(dir, name);
  execFileSync('git', ['worktree', 'add', '--detach', '--quiet', tree, ref], { cwd: REPO, stdio: 'inherit' });
  return tree;
}

function removeWorktree(tree: string | undefined): void {
  if (!tree) return;
  try {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: REPO, stdio: 'ignore' });
  } catch {
    // The temporary folder is removed anyway; `git worktree prune` forgets it later.
  }
}

const ratio = (ours: number, base: number) => (base > 0 ? `${(ours / base).toFixed(2)}×` : 'n/a');
const mib = (x: number) => `${x.toFixed(0)} MiB`;

export async function benchHooks(): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ecg-cds-bench-'));
  const keyPath = join(dir, 'dev-key.json');
  const key = await loadOrCreateDevKey(keyPath);
  const ref = process.env['BENCH_BASELINE_REF'] ?? DEFAULT_BASELINE;
  const out: string[] = [];
  let tree: string | undefined;
  let oursTree: string | undefined;
  let ours: Target | undefined;
  let baseline: Target | undefined;
  const bare = express();
  let bareServer: Server | undefined;
  try {
    tree = addWorktree(ref, dir, 'baseline');
    const oursRef = process.env['BENCH_OURS_REF'];
    oursTree = oursRef ? addWorktree(oursRef, dir, 'ours') : undefined;
    for (const t of [tree, oursTree])
      if (t && !existsSync(join(t, 'node_modules')))
        await symlink(join(REPO, 'node_modules'), join(t, 'node_modules'), 'dir');
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: oursTree ?? REPO })
      .toString()
      .trim();
    const baseSha = tree
      ? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: tree }).toString().trim()
      : undefined;
    // One after the other: each start seeds and analyses the demo data, which would skew the other's.
    ours = await startTarget(
      oursTree ? `ours (${oursRef} = ${head})` : `ours (${head}, working tree)`,
      oursTree ?? REPO,
      key,
      keyPath,
    );
    if (tree) baseline = await startTarget(`baseline (${ref} = ${baseSha})`, tree, key, keyPath);
    const targets = baseline ? [ours, baseline] : [ours];
    const idle = targets.map((t) => rssMiB(t.child.pid!));

    out.push(
      `patient-view: ${SECONDS} s per run, ${ROUNDS} rounds, ${targets.map((t) => t.label).join(' vs ')}; ` +
        'each service in its own process, results already stored, fresh JWT per request, discovery prefetch ' +
        `${(ours.bodies.prefetch.length / 1024).toFixed(1)} KB; figures are medians over rounds`,
    );
    for (const [label, which] of [
      ['with prefetch', 'prefetch'],
      ['no prefetch (service queries the FHIR server)', 'query'],
    ] as const) {
      for (const c of [1, 50]) {
        const runs: Run[][] = targets.map(() => []);
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate who goes first, so drift in the machine's load falls on both.
          const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => i).reverse();
          for (const i of order) {
            const t = targets[i]!;
            const tokens = await t.tokens(Math.ceil((c === 1 ? 3_000 : 6_000) * (SECONDS / 5)));
            runs[i]!.push(
              await cannon(`${t.info.base}${HOOK_PATH}`, c, t.bodies[which], tokens, t.child.pid),
            );
          }
        }
        const summary = runs.map((rs) => ({
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          rps: median(rs.map((r) => r.rps)),
          peakRss: Math.max(...rs.map((r) => r.peakRss)),
          cpuMs: median(rs.map((r) => r.cpuMs)),
          errors: rs.reduce((a, r) => a + r.errors, 0),
          non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
          requests: rs.reduce((a, r) => a + r.requests, 0),
        }));
        const [o, b] = summary as [(typeof summary)[0], (typeof summary)[0] | undefined];
        out.push(
          `  ${label}, ${String(c).padStart(2)} concurrent: ours p50 ${o.p50} ms, p99 ${o.p99} ms, ` +
            `${o.rps.toFixed(0)} req/s, CPU ${o.cpuMs.toFixed(2)} ms/request, peak RSS ${mib(o.peakRss)} (${o.requests} requests, ${o.errors} errors, ` +
            `${o.non2xx} non-2xx)` +
            (b
              ? `; baseline p50 ${b.p50} ms, p99 ${b.p99} ms, ${b.rps.toFixed(0)} req/s, CPU ${b.cpuMs.toFixed(2)} ms/request, peak RSS ${mib(b.peakRss)} ` +
                `(${b.errors} errors, ${b.non2xx} non-2xx) → ours/baseline p50 ${ratio(o.p50, b.p50)}, ` +
                `p99 ${ratio(o.p99, b.p99)}, req/s ${ratio(o.rps, b.rps)}, CPU/request ${ratio(o.cpuMs, b.cpuMs)}, ` +
                `peak RSS ${ratio(o.peakRss, b.peakRss)}`
              : ''),
        );
      }
    }

    // Growth: RSS after CALLS more calls at 50 concurrent with the prefetch (one after the other: the
    // figure is each process's own, and interleaving would not change it).
    const growth: string[] = [];
    const after: number[] = [];
    for (const [i, t] of targets.entries()) {
      const before = rssMiB(t.child.pid!);
      const tokens = await t.tokens(CALLS);
      const r = await cannon(`${t.info.base}${HOOK_PATH}`, 50, t.bodies.prefetch, tokens, t.child.pid, CALLS);
      await new Promise((ok) => setTimeout(ok, 1000));
      const end = rssMiB(t.child.pid!);
      after.push(end);
      growth.push(
        `  ${t.label}: RSS idle ${mib(idle[i]!)}, before ${mib(before)}, peak ${mib(r.peakRss)}, after ` +
          `${r.requests} calls ${mib(end)} (growth ${(end - before).toFixed(0)} MiB; p50 ${r.p50} ms, ` +
          `p99 ${r.p99} ms, ${r.errors} errors, ${r.non2xx} non-2xx)`,
      );
    }
    out.push(`RSS after ${CALLS.toLocaleString('en')} calls (50 concurrent, with prefetch; goal ≤ 400 MB):`);
    out.push(...growth);
    if (after.length === 2) out.push(`  ours/baseline RSS after the calls ${ratio(after[0]!, after[1]!)}`);

    const discovery = await mintFor(key, `${ours.info.base}/cds-services`, 60_000);
    const bareBody = await (
      await fetch(`${ours.info.base}/cds-services`, { headers: { authorization: `Bearer ${discovery[0]}` } })
    ).json();
    bare.get('/cds-services', (_req, res) => {
      res.json(bareBody);
    });
    const barePort = await freePort();
    bareServer = bare.listen(barePort, '127.0.0.1');
    const disc = await cannon(`${ours.info.base}/cds-services`, 10, undefined, discovery.slice(1), undefined);
    const bareRun = await cannon(
      `http://127.0.0.1:${barePort}/cds-services`,
      10,
      undefined,
      undefined,
      undefined,
    );
    out.push(
      `discovery, 10 concurrent: ${disc.rps.toFixed(0)} req/s (JWT+CORS+metrics, service process) vs bare express ` +
        `${bareRun.rps.toFixed(0)} req/s (bench process) → overhead ratio ${(bareRun.rps / Math.max(1, disc.rps)).toFixed(2)}× ` +
        `(${disc.non2xx} non-2xx)`,
    );
  } finally {
    bareServer?.close();
    await stopTarget(ours);
    await stopTarget(baseline);
    removeWorktree(tree);
    removeWorktree(oursTree);
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

function mintFor(key: DevKey, aud: string, n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, () => signDevToken(key, { aud })));
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
