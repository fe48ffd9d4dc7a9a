/**
 * Readiness and catch-up (issue #11 items 7 and 8) with ecg-cds as a real child process (`src/main.ts`,
 * what `npm start` runs) against a FHIR server that stays up while the service stops and starts:
 * - `/readyz` is a 503 JSON naming the missing condition while the FHIR server has not activated our
 *   Subscription, and 200 once it has; an ECG Observation posted right after that has its
 *   DiagnosticReport within 30 s (the notification, not a batch run, analyses it);
 * - an ECG Observation posted while the service is stopped (the server's deliveries fail and it marks
 *   the Subscription `error`) has its report within 30 s of the restart: the catch-up pass;
 * - one written while the FHIR server was unreachable for the service (and sent no notification) has its
 *   report within 30 s of the server coming back: the outage watch starts a catch-up pass.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_DEFINITIONS_BASE } from '../../src/fhir/definitions/canonical.js';
import { ANALYSIS_IDENTIFIER_SYSTEM } from '../../src/fhir/write-back/codes.js';
import { REPO_ROOT } from '../../src/main.js';
import { seedEcgs, until } from '../support/batch.js';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server.js';
import { freePort } from '../support/service.js';

const SECRET = 'readiness-test-secret-0123456789';

interface Child {
  readonly proc: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<number | null>;
}

function startEcgCds(env: Record<string, string>): Child {
  const { REDIS_URL: _r, FHIR_BASE_URL: _f, ...inherited } = process.env;
  const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')], {
    env: { ...inherited, LOG_LEVEL: 'warn', NIGHTLY_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)));
  return { proc, output, exited };
}

async function readyz(base: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return undefined; // not listening yet
  }
}

describe('readiness and catch-up (ecg-cds as a child process)', { timeout: 180_000 }, () => {
  let fhir: TestFhirServer;
  let dir: string;
  let env: Record<string, string>;
  let base: string;
  let child: Child | undefined;

  const reportFor = async (obsId: string) => {
    const bundle = await fhir.fhir.search('DiagnosticReport', {
      identifier: `${ANALYSIS_IDENTIFIER_SYSTEM}|`,
      _elements: 'identifier,result,extension',
      _count: 1000,
    });
    return (bundle.entry ?? []).some((e) => JSON.stringify(e.resource).includes(`Observation/${obsId}`));
  };
  /** One 10-s 12-lead ECG Observation (PTB-XL 00003_hr) created on the FHIR server. */
  const postEcg = async (tag: string) => (await seedEcgs(fhir.fhir, 1, tag))[0]!;

  before(async () => {
    fhir = await startFhirServer({ deliver: true });
    dir = await mkdtemp(join(tmpdir(), 'ecg-cds-readiness-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: base,
      // The canonical URLs this test process searches with (it loads no config: the default base).
      FHIR_DEFINITIONS_BASE: DEFAULT_DEFINITIONS_BASE,
      FHIR_BASE_URL: fhir.base,
      SUBSCRIPTION_SECRET: SECRET,
      SUBSCRIPTIONS_ENSURE: 'true',
      DEV_KEY_PATH: join(dir, 'dev-key.json'),
    };
  });
  after(async () => {
    if (child && child.proc.exitCode === null) {
      child.proc.kill('SIGTERM');
      await child.exited;
    }
    await fhir?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `body`; on failure the service's output goes to stderr. */
  const showingOutput = (body: () => Promise<void>) => async () => {
    try {
      await body();
    } catch (err) {
      process.stderr.write(child?.output.join('') ?? '');
      throw err;
    }
  };
  let firstEcg: fhir4.Observation | undefined;

  test(
    '503 naming the Subscription until the server activates it; an ECG posted right after 200 is analysed',
    showingOutput(async () => {
      fhir.closeGate(); // the FHIR server will not activate Subscriptions for now
      child = startEcgCds(env);
      let first: Awaited<ReturnType<typeof readyz>>;
      await until(
        async () => {
          first = await readyz(base);
          return (
            first !== undefined && /requested/.test(String((first.body['checks'] as never)?.['subscription']))
          );
        },
        60_000,
        'the service to listen and wait for its Subscription',
      );
      assert.equal(first!.status, 503);
      assert.equal(first!.body['status'], 'not ready');
      assert.match(
        String((first!.body['checks'] as Record<string, string>)['subscription']),
        /waiting for the FHIR server/,
      );
      // Still 503 a moment later: nothing else makes it ready.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await readyz(base))?.status, 503);

      fhir.openGate();
      await until(async () => (await readyz(base))?.status === 200, 30_000, '/readyz 200');
      const obs = await postEcg('readiness-right-after');
      firstEcg = obs;
      const posted = Date.now();
      await until(() => reportFor(obs.id ?? ''), 30_000, 'the report of the ECG posted right after /readyz');
      assert.ok(Date.now() - posted < 30_000);
    }),
  );

  test(
    'an ECG posted while the service is stopped is analysed after the restart',
    showingOutput(async () => {
      assert.ok(child, 'the first test started the service');
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0);

      const obs = await postEcg('posted-while-down');
      // The server gives up on its deliveries: only the catch-up pass can find this ECG now.
      await until(
        async () => {
          const subs = await fhir.fhir.search('Subscription', {});
          return (subs.entry ?? []).some((e) => (e.resource as fhir4.Subscription).status === 'error');
        },
        20_000,
        'the FHIR server to mark the Subscription error',
      );
      assert.equal(await reportFor(obs.id ?? ''), false);

      child = startEcgCds(env);
      await until(async () => (await readyz(base))?.status === 200, 60_000, '/readyz 200 after the restart');
      const ready = Date.now();
      await until(() => reportFor(obs.id ?? ''), 30_000, 'the report of the ECG posted while down');
      assert.ok(Date.now() - ready < 30_000);
    }),
  );

  test(
    'an ECG written while the FHIR server was unreachable is analysed once it is back',
    showingOutput(async () => {
      assert.ok(firstEcg?.id, 'the first test posted an ECG');
      const { id: _id, meta: _meta, ...template } = await fhir.fhir.read('Observation', firstEcg.id);
      fhir.setDown(true);
      // The service notices on its next FHIR call (here the readiness probe's, as an orchestrator's would be).
      await until(
        async () => {
          const r = await readyz(base);
          return r?.status === 503 && /unreachable/.test(String((r.body['checks'] as never)?.['fhir']));
        },
        30_000,
        '/readyz to report the FHIR server unreachable',
      );
      // Written while the service could not reach the server; no notification is ever sent for it.
      const obs = (await fhir.dev.repo.createResource({
        ...template,
        subject: { reference: 'Patient/written-during-outage' },
      } as never)) as fhir4.Observation;
      fhir.setDown(false);
      const back = Date.now();
      await until(() => reportFor(obs.id ?? ''), 30_000, 'the report of the ECG written during the outage');
      assert.ok(Date.now() - back < 30_000);
    }),
  );
});
