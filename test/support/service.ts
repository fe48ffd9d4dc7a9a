/**
 * A real, listening ecg-cds in demo mode for integration tests: compose() from src/main.ts (the real
 * composition root) on a free port, with the embedded FHIR server, real ONNX sessions and demo data.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { type DevKey, loadOrCreateDevKey, signDevToken } from '../../src/cds-hooks/dev-key.js';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_DEFINITIONS_BASE } from '../../src/fhir/definitions/canonical.js';
import type { SeededEcg } from '../../src/fhir/demo/seed.js';
import { type Composed, compose } from '../../src/main.js';
import { type Logger, silentLogger } from '../../src/ops/log.js';

export interface RunningService {
  readonly c: Composed;
  readonly base: string;
  /** The separate /metrics listener's origin, when METRICS_PORT was given. */
  readonly metricsBase?: string;
  readonly seeded: readonly SeededEcg[];
  /** A fresh dev JWT for `path` (e.g. "/cds-services/ecg-arrhythmia"). */
  token(path: string): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export async function startService(
  env: Record<string, string> = {},
  opts: {
    readonly log?: Logger;
    /**
     * Canonical URLs under this service's own PUBLIC_BASE_URL (the production default). Otherwise they are
     * under the default base, as in every other process of a test run (CLI and worker children, composes
     * without PUBLIC_BASE_URL), which must write and search the same systems as this service.
     */
    readonly definitionsAtPublicBase?: boolean;
  } = {},
): Promise<RunningService> {
  const dir = await mkdtemp(join(tmpdir(), 'ecg-cds-test-'));
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    DEV_KEY_PATH: join(dir, 'dev-key.json'),
    LOG_LEVEL: 'silent',
    HOOK_BUDGET_MS: '10000',
    ...(opts.definitionsAtPublicBase ? {} : { FHIR_DEFINITIONS_BASE: DEFAULT_DEFINITIONS_BASE }),
    ...env,
  });
  const c = await compose(config, opts.log ?? silentLogger);
  const server: Server = c.app.listen(port, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  const metricsServer =
    c.metricsApp && config.metrics.port !== undefined
      ? c.metricsApp.listen(config.metrics.port, config.metrics.host)
      : undefined;
  if (metricsServer) await new Promise((ok) => metricsServer.once('listening', ok));
  const seeded = await c.seed();
  const key: DevKey = await loadOrCreateDevKey(config.auth.devKeyPath);
  return {
    c,
    base: config.publicBaseUrl,
    ...(metricsServer ? { metricsBase: `http://${config.metrics.host}:${config.metrics.port}` } : {}),
    seeded,
    token: (path) => signDevToken(key, { aud: `${config.publicBaseUrl}${path}` }),
    async stop() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
      metricsServer?.closeAllConnections();
      if (metricsServer) await new Promise((ok) => metricsServer.close(ok));
      await c.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * POST a signed `patient-view` call for `patientId` to the running service's ECG service, as an EHR
 * does; `extra` adds request fields (e.g. `fhirServer`, `prefetch`). Resolves to the supertest response.
 */
export async function postPatientView(
  s: RunningService,
  patientId: string,
  extra: Record<string, unknown> = {},
): Promise<request.Response> {
  const path = '/cds-services/ecg-arrhythmia';
  return request(s.base)
    .post(path)
    .set('Authorization', `Bearer ${await s.token(path)}`)
    .send({
      hook: 'patient-view',
      hookInstance: randomUUID(),
      context: { userId: 'Practitioner/demo', patientId },
      ...extra,
    });
}
