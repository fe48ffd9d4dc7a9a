/**
 * The one composition root (STYLE habit 16): read config once, load the models, wire the parts, listen.
 * `compose()` builds everything without listening (integration tests use it with supertest);
 * running this file listens. Without FHIR_BASE_URL it runs demo mode: the embedded FHIR server at /fhir
 * seeded with demo patients whose ECGs are analysed at start-up, and the local dev JWT issuer trusted.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Express } from 'express';
import type { JSONWebKeySet } from 'jose';
import { type AnalysisPool, createAnalysisPool } from './analysis-pool/pool.js';
import { createApp } from './app.js';
import { createAnalysisWorker, createBullQueue, redisDeadLetterStore } from './batch/bullmq.js';
import { type CatchUp, createCatchUp } from './batch/catchup.js';
import { type DeadLetterStore, fhirDeadLetterStore } from './batch/dead-letter.js';
import { watchFhir } from './batch/fhir-watch.js';
import { nightlyDeps } from './batch/job.js';
import { runNightly } from './batch/nightly.js';
import { createJobProcessor } from './batch/process.js';
import { type AnalysisJob, type AnalysisQueue, createInProcessQueue } from './batch/queue.js';
import { scheduleNightly } from './batch/scheduler.js';
import { OriginAllowList } from './cds-hooks/allowlist.js';
import { createJwtVerifier, MemoryJtiCache, requireCdsJwt, type TrustedIssuer } from './cds-hooks/auth.js';
import { cdsCors, fhirCors } from './cds-hooks/cors.js';
import { devIssuer, devJwks, loadOrCreateDevKey } from './cds-hooks/dev-key.js';
import { createFeedbackRecorder } from './cds-hooks/feedback.js';
import { connectJtiRedis, RedisJtiCache } from './cds-hooks/jti-redis.js';
import { ecgArrhythmiaService } from './cds-hooks/services/ecg-arrhythmia.js';
import { type Config, loadConfig, redactedConfig } from './config.js';
import {
  type AnalysedEcg,
  analyzeObservation,
  analyzeReceivedObservation,
  type ObservationAnalyzerDeps,
} from './fhir/analyze-observation.js';
import { createFhirClient, type FhirAccess } from './fhir/client.js';
import { setDefinitionsBase } from './fhir/definitions/canonical.js';
import { definitionsRouter } from './fhir/definitions/routes.js';
import { storeDefinitions } from './fhir/definitions/store.js';
import { type SeededEcg, seedDemo } from './fhir/demo/seed.js';
import { createDevFhirServer, type DevFhirServer } from './fhir/dev-server/index.js';
import { createDevSmart } from './fhir/dev-server/smart.js';
import { ECG_OBSERVATION_CODES } from './fhir/ecg-codec.js';
import { readStoredResults } from './fhir/results.js';
import type { ModelSet } from './fhir/stored-result.js';
import { type ActivationState, activateSubscriptions } from './fhir/subscriptions/activate.js';
import { type SubscriptionParts, wireSubscriptions } from './fhir/subscriptions/wire.js';
import { createLogger, type Logger } from './ops/log.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createMetricsApp } from './ops/metrics-http.js';
import { webRouter } from './viewer/routes.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..');
/** How long seed() waits for the FHIR server to activate our Subscriptions before going on. */
const ACTIVATION_WAIT_MS = 30_000;
const FIXTURES = resolve(REPO_ROOT, 'test', 'fixtures');

export interface Composed {
  readonly app: Express;
  /** The /metrics listener's app when METRICS_PORT is set (main() listens on METRICS_HOST:METRICS_PORT). */
  readonly metricsApp?: Express;
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly models: ModelSet;
  /** The FHIR server results are written to (the embedded one in demo mode). */
  readonly backend: FhirAccess;
  readonly devFhir?: DevFhirServer;
  /** The worker threads that decode and analyse (results only: no write-back). */
  readonly pool: Pick<AnalysisPool, 'result' | 'queued' | 'size'>;
  readonly analyze: (
    obs: fhir4.Observation,
    trigger: 'hook' | 'subscription' | 'nightly' | 'cli' | 'demo',
  ) => Promise<AnalysedEcg>;
  /** Background analysis: Subscription notifications, the nightly job and the hook's overflow. */
  readonly queue: AnalysisQueue;
  /** One queued job's work (read, analyse, write back): what a BullMQ worker runs. */
  readonly processJob: (job: AnalysisJob) => Promise<unknown>;
  /** The /fhir/notify receiver and, in demo mode, rest-hook delivery by the embedded server. */
  readonly subscriptions: SubscriptionParts;
  /** Jobs that failed every attempt (Redis with REDIS_URL, else FHIR `Basic`); `ecg-cds dlq`. */
  readonly deadLetters: DeadLetterStore;
  /** The catch-up pass (start-up, FHIR recovery); started by seed(). */
  readonly catchUp: CatchUp;
  /**
   * Start-up once the server listens: seed and analyse the demo data (demo mode), register the
   * Subscriptions and wait (up to 30 s) until the FHIR server has them active, then start the catch-up
   * pass and the FHIR outage watch. `/readyz` is 503 until seeding is done and the Subscriptions are active.
   */
  seed(): Promise<SeededEcg[]>;
  close(): Promise<void>;
}

export async function compose(config: Config, log: Logger): Promise<Composed> {
  // Our canonical URLs follow FHIR_DEFINITIONS_BASE (loadConfig sets it too; a Config built otherwise counts).
  setDefinitionsBase(config.fhirDefinitionsBase);
  const metrics = createMetrics({ defaultMetrics: true });
  // The worker threads that own the ONNX sessions (STYLE): every analysis below is submitted to them.
  const pool = await createAnalysisPool({
    modelsDir: config.modelsDir,
    provider: config.provider,
    size: config.analysisWorkers,
    maxBatch: config.analysisBatch,
    onWorkerError: (err) => log.error({ event: 'analysis-pool.worker-error', err: err.message }),
  });
  for (const message of pool.info.warnings) log.warn({ event: 'models.provider-fallback' }, message);
  const provider = pool.info.provider;
  metrics.provider.set({ provider }, 1);
  const models: ModelSet = {
    name: 'ecg-cds',
    version: pool.info.version,
    modelCardUrl: config.modelCardUrl,
  };
  log.info(
    { event: 'models.loaded', version: models.version, provider, workers: pool.size },
    'models loaded',
  );

  // The dev SMART authorization server (issue #12): its access tokens open the embedded server too.
  const devSmart = config.demo
    ? createDevSmart({ fhirBaseUrl: config.fhir.baseUrl, appOrigin: config.publicBaseUrl })
    : undefined;
  // The embedded server shows Subscription.channel.header (a notify token) only to this admin token,
  // which the service's own FHIR client carries (issue #13 item 6).
  const devAdminToken = config.demo
    ? (config.devFhir.adminToken ?? `ecgadm-${randomBytes(32).toString('hex')}`)
    : undefined;
  const devFhir = config.demo
    ? await createDevFhirServer({
        baseUrl: config.fhir.baseUrl,
        maxBodyBytes: config.maxBodyBytes,
        ...(devAdminToken ? { adminToken: devAdminToken } : {}),
        ...(config.devFhir.snapshot ? { snapshotPath: config.devFhir.snapshot } : {}),
        ...(config.devFhir.tokens
          ? {
              requireToken: anyOf(
                tokenCheck([...config.devFhir.tokens, ...(devAdminToken ? [devAdminToken] : [])]),
                (h) => devSmart?.accepts(h) ?? false,
              ),
            }
          : {}),
      })
    : undefined;
  // Our StructureDefinitions, CodeSystems and NamingSystems live in the embedded server too (issue #13).
  if (devFhir) await storeDefinitions(devFhir.repo);
  const firstDevToken = config.devFhir.tokens?.[0];
  // Every call to our FHIR server feeds the outage watch; a recovery starts a catch-up pass (issue #11).
  const watch = watchFhir(
    createFhirClient({
      baseUrl: config.fhir.baseUrl,
      timeoutMs: config.fhir.timeoutMs,
      maxResponseBytes: config.fhir.maxResponseBytes,
      ...(config.fhir.token
        ? { token: config.fhir.token }
        : devAdminToken
          ? { token: devAdminToken }
          : firstDevToken
            ? { token: firstDevToken }
            : {}),
    }),
    { log, onRecover: () => void catchUp.trigger('reconnect') },
  );
  const backend = watch.fhir;
  const analyzerDeps: ObservationAnalyzerDeps = {
    // A clinician waits on a hook's ECG: it goes ahead of nightly and Subscription ECGs waiting for a worker.
    analyze: (obs, trigger) => pool.result(obs, { urgent: trigger === 'hook' }),
    models,
    writer: backend,
    log,
    metrics,
  };
  const analyze = (obs: fhir4.Observation, trigger: Parameters<Composed['analyze']>[1]) =>
    analyzeObservation(obs, analyzerDeps, trigger);

  const deadLetters: DeadLetterStore = config.redisUrl
    ? redisDeadLetterStore(config.redisUrl, config.redisPrefix)
    : fhirDeadLetterStore(backend);
  const processJob = createJobProcessor({ fhir: backend, analyze, deadLetters });
  // With REDIS_URL the queue is BullMQ, consumed by `ecg-cds worker` processes (and main()'s own worker).
  const queue = config.redisUrl
    ? createBullQueue({ url: config.redisUrl, prefix: config.redisPrefix })
    : createInProcessQueue(
        async (job) => {
          await processJob(job);
        },
        {
          concurrency: config.nightly.concurrency,
          onDeadLetter: async (job, err, attempts) => {
            log.error({
              event: 'queue.dead-letter',
              observation: job.observationId,
              reason: job.reason,
              err: (err as Error).message,
            });
            await deadLetters
              .record(job, (err as Error).message, attempts)
              .catch((e: Error) => log.error({ event: 'dlq.record-failed', err: e.message }));
          },
        },
      );

  const issuers: TrustedIssuer[] = config.auth.issuers.map((i) => ({
    iss: i.iss,
    ...(i.jwksUrl ? { jwksUrl: i.jwksUrl } : {}),
    // Pinned keys (issue #12): inline, or a local copy of the issuer's JWKS read once at start-up.
    ...(i.jwks ? { jwks: i.jwks as unknown as JSONWebKeySet } : {}),
    ...(i.jwksFile ? { jwks: JSON.parse(readFileSync(resolve(i.jwksFile), 'utf8')) as JSONWebKeySet } : {}),
  }));
  if (config.auth.trustDevIssuer) {
    const key = await loadOrCreateDevKey(resolve(config.auth.devKeyPath));
    issuers.push({ iss: devIssuer, jwks: devJwks(key) });
  }
  // Replicas share REDIS_URL: the jti cache must be shared too, or a token replays once per replica.
  const jtiRedis = config.redisUrl ? connectJtiRedis(config.redisUrl) : undefined;
  const verify = createJwtVerifier({
    issuers,
    jkuAllowList: config.auth.jkuAllowList,
    replayCache: jtiRedis
      ? new RedisJtiCache(jtiRedis, { prefix: config.redisPrefix })
      : new MemoryJtiCache(),
  });
  const auth = requireCdsJwt(verify, {
    publicBaseUrl: config.publicBaseUrl,
    // The reason stays out of metrics (issue #11: it tells a forger which check failed) and out of
    // warn-level logs (a forger could flood them); debug logging shows it when diagnosing a client.
    onReject: (err) => {
      metrics.authFailures.inc();
      log.debug({ event: 'cds.auth-rejected', reason: err.reason }, 'CDS client JWT rejected');
    },
  });

  const fhirServers = new OriginAllowList(config.fhir.serverAllowlist);
  const service = ecgArrhythmiaService({
    fhirServers,
    // The EHR's FHIR server with the token it handed us (CDS Hooks § FHIR Resource Access); the service
    // has checked it against FHIR_SERVER_ALLOWLIST, and the client follows no redirect off that origin.
    fhirFor: (req) =>
      req.fhirServer && fhirServers.allows(req.fhirServer)
        ? createFhirClient({
            baseUrl: req.fhirServer,
            timeoutMs: Math.min(config.hook.budgetMs, config.fhir.timeoutMs),
            maxResponseBytes: config.fhir.maxResponseBytes,
            retries: 0,
            ...(req.fhirAuthorization?.access_token ? { token: req.fhirAuthorization.access_token } : {}),
          })
        : undefined,
    readResults: readStoredResults,
    // Written back only when the Observation is confirmed on our own FHIR server (issue #11).
    analyzeOnDemand: (obs) => analyzeReceivedObservation(obs, { ...analyzerDeps, reader: backend }, 'hook'),
    enqueue: (obs) => {
      if (obs.id)
        void queue.enqueue({
          observationId: obs.id,
          ...(obs.meta?.versionId ? { versionId: obs.meta.versionId } : {}),
          reason: 'hook',
        });
    },
    modelVersion: models.version,
    ecgCodes: ECG_OBSERVATION_CODES,
    reportBaseUrl: config.fhir.baseUrl,
    cards: {
      sourceLabel: `ecg-cds AI ECG analysis (${models.version})`,
      modelCardUrl: config.modelCardUrl,
      policy: config.hook.policy,
      linkOrigins: [config.publicBaseUrl, config.fhir.baseUrl, ...config.fhir.serverAllowlist],
      timeZone: config.hook.timeZone,
      // The SMART ECG viewer (issue #12), launched from each card's "View ECG" link.
      viewerLaunchUrl: `${config.publicBaseUrl}/viewer/launch`,
    },
    budgetMs: config.hook.budgetMs,
    maxEcgs: config.hook.maxEcgs,
  });

  // Subscriptions (issue #5): /fhir/notify, and rest-hook delivery by the embedded server in demo mode.
  const subscriptions = wireSubscriptions({
    config,
    backend,
    queue,
    metrics,
    log,
    ...(devFhir ? { devFhir } : {}),
  });
  const catchUp = createCatchUp({
    parts: { config, backend, queue, log, models, deadLetters },
    batchSize: 50,
    log,
  });
  // Readiness (issue #11): each start-up condition says what it waits for until it holds.
  const startup: { seeding: ActivationState; subscription: ActivationState } = {
    seeding: { ok: false, detail: 'not started' },
    subscription: { ok: false, detail: 'not started' },
  };
  const stopping = new AbortController();

  // The SMART viewer and, in demo mode, the demo EHR with a dev SMART authorization server (issue #12).
  const demoKey =
    config.demo && config.auth.trustDevIssuer
      ? await loadOrCreateDevKey(resolve(config.auth.devKeyPath))
      : undefined;
  const web = webRouter({
    fhirServers,
    fhirFor: (baseUrl, token) =>
      createFhirClient({
        baseUrl,
        token,
        retries: 0,
        timeoutMs: config.fhir.timeoutMs,
        maxResponseBytes: config.fhir.maxResponseBytes,
      }),
    // Decoded and analysed in the pool; the endpoint still bounds its own share (2 at once).
    view: (obs) => pool.view(obs),
    ...(demoKey ? { demoEhr: { devKey: demoKey, publicBaseUrl: config.publicBaseUrl } } : {}),
    onBuildError: (err) => log.error({ event: 'web.bundle-failed', err: err.message }, 'web bundles failed'),
  });

  const app = createApp({
    extraRouters: [
      { path: '/fhir/notify', router: subscriptions.router },
      // Our definitions, public and read-only, at their canonical URLs in both modes (issue #13 item 4).
      { path: '/fhir', router: definitionsRouter() },
    ],
    log,
    metrics,
    modelsDir: config.modelsDir,
    ...(config.metrics.token ? { metricsToken: config.metrics.token } : {}),
    cds: {
      services: [service],
      auth,
      cors: cdsCors(),
      feedback: createFeedbackRecorder({ log, metrics }),
      maxBodyBytes: config.maxBodyBytes,
    },
    ...(devFhir ? { devFhir: devFhir.router, devFhirCors: fhirCors(config.devFhir.corsOrigins) } : {}),
    ...(devSmart ? { devSmart: devSmart.router } : {}),
    web,
    async ready() {
      const checks: Record<string, string> = {
        models: `${models.version} on ${provider}`,
        seeding: startup.seeding.detail,
        subscription: startup.subscription.detail,
      };
      const started = startup.seeding.ok && startup.subscription.ok;
      try {
        await backend.capabilities();
        checks['fhir'] = 'reachable';
        return { ok: started, checks };
      } catch (err) {
        checks['fhir'] = `unreachable (${(err as Error).name})`;
        return { ok: false, checks };
      }
    },
  });

  const metricsApp =
    config.metrics.port !== undefined
      ? createMetricsApp(metrics.registry, config.metrics.token ? { token: config.metrics.token } : {})
      : undefined;

  return {
    app,
    ...(metricsApp ? { metricsApp } : {}),
    pool,
    config,
    log,
    metrics,
    models,
    backend,
    ...(devFhir ? { devFhir } : {}),
    analyze,
    queue,
    processJob,
    subscriptions,
    deadLetters,
    catchUp,
    async seed() {
      startup.seeding = { ok: false, detail: 'seeding and analysing the demo data' };
      const seeded = config.devFhir.demoData ? await seedDemo(backend, FIXTURES) : [];
      for (const s of seeded) await analyze(s.observation, 'demo');
      startup.seeding = {
        ok: true,
        detail: config.devFhir.demoData ? `${seeded.length} demo ECGs analysed` : 'nothing to seed',
      };
      // After seeding, so the demo ECGs (analysed above) are not notified again.
      const active = activateSubscriptions({
        fhir: backend,
        ...(config.subscriptions.ensureAtStart ? { ensure: () => subscriptions.start() } : {}),
        report: (state) => {
          startup.subscription = state;
        },
        signal: stopping.signal,
      });
      watch.start();
      // Catch up once the server notifies us, so nothing falls between the pass and the first
      // notification; if activation takes long, catch up now and once more when it is active.
      const settled = await Promise.race([
        active.then(() => true),
        new Promise<false>((ok) => setTimeout(ok, ACTIVATION_WAIT_MS, false).unref()),
      ]);
      if (!settled) {
        log.warn(
          { event: 'subscriptions.not-active', detail: startup.subscription.detail },
          'Subscriptions not active yet: /readyz stays 503 until they are',
        );
        void active.then(async (ok) => {
          if (ok) await catchUp.trigger('subscription-active');
        });
      }
      void catchUp.trigger('start-up');
      return seeded;
    },
    async close() {
      stopping.abort();
      catchUp.close();
      watch.close();
      subscriptions.close();
      jtiRedis?.disconnect();
      await queue.close();
      // A pass in flight stops at its next FHIR call or drain; do not hold shutdown for it.
      await Promise.race([catchUp.idle(), new Promise((ok) => setTimeout(ok, 2000).unref())]);
      await deadLetters.close();
      await devFhir?.close();
      await pool.close();
    },
  };
}

const anyOf =
  (...checks: ((header: string | undefined) => boolean)[]) =>
  (header: string | undefined): boolean =>
    checks.some((c) => c(header));

/** Constant-time-ish check of a bearer token against the configured dev tokens. */
function tokenCheck(tokens: readonly string[]): (header: string | undefined) => boolean {
  return (header) => {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    return m !== null && tokens.includes(m[1]!);
  };
}

function banner(c: Composed, seeded: readonly SeededEcg[]): string {
  const base = c.config.publicBaseUrl;
  const hook = `${base}/cds-services/ecg-arrhythmia`;
  const lines = [
    '',
    `ecg-cds listening on ${base}  (models ${c.models.version})`,
    ...(c.config.demo && c.config.auth.trustDevIssuer
      ? [`  Demo EHR:        ${base}/   (start here: patients, their CDS cards, the SMART ECG viewer)`]
      : []),
    `  CDS discovery:   ${base}/cds-services   (needs a JWT, see below)`,
    `  JWT audience:    a CDS client's JWT aud must be exactly ${base}/cds-services/<id> (the URL called; base = PUBLIC_BASE_URL)`,
    `  FHIR server:     ${c.config.fhir.baseUrl}${c.config.demo ? '   (embedded development server, demo data)' : ''}`,
    `  health:          ${base}/readyz`,
    `  metrics:         ${metricsWhere(c.config)}`,
  ];
  if (c.config.auth.trustDevIssuer) {
    lines.push(
      '',
      'Development JWTs (each token works once: CDS Hooks JWTs carry a jti that must not be replayed):',
      `  npm run --silent ecg-cds -- dev-token --aud ${hook}`,
    );
  }
  if (seeded.length) {
    lines.push('', 'Demo patients (their ECGs were analysed at start-up):');
    for (const s of seeded) lines.push(`  ${s.patient.id.padEnd(38)} ${s.patient.shows}`);
    const af = seeded.find((s) => s.patient.record.includes('A00004')) ?? seeded[0]!;
    lines.push(
      '',
      'Cards for a demo patient:',
      `  curl -s -X POST ${hook} \\`,
      `    -H "Authorization: Bearer $(npm run --silent ecg-cds -- dev-token --aud ${hook})" \\`,
      '    -H "Content-Type: application/json" \\',
      `    -d '{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea","fhirServer":"${c.config.fhir.baseUrl}","context":{"userId":"Practitioner/demo","patientId":"${af.patient.id}"}}'`,
    );
  }
  return `${lines.join('\n')}\n\n`;
}

function metricsWhere(config: Config): string {
  const { port, host, token } = config.metrics;
  const auth = token ? '  (Authorization: Bearer $METRICS_TOKEN)' : '';
  if (port !== undefined) return `http://${host}:${port}/metrics${auth}`;
  if (token) return `${config.publicBaseUrl}/metrics${auth}`;
  return 'not served (set METRICS_PORT or METRICS_TOKEN)';
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  log.info({ event: 'start', config: redactedConfig(config) }, 'ecg-cds starting');
  const c = await compose(config, log);
  const server = c.app.listen(config.port, config.host);
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  const metricsServer =
    c.metricsApp && config.metrics.port !== undefined
      ? c.metricsApp.listen(config.metrics.port, config.metrics.host)
      : undefined;
  if (metricsServer)
    await new Promise<void>((ok, fail) => {
      metricsServer.once('listening', ok);
      metricsServer.once('error', fail);
    });
  // The worker first: the start-up catch-up pass queues on BullMQ and waits for its jobs.
  const worker = config.redisUrl
    ? createAnalysisWorker(c.processJob, {
        url: config.redisUrl,
        prefix: config.redisPrefix,
        concurrency: config.nightly.concurrency,
        log,
      })
    : undefined;
  const seeded = await c.seed();
  process.stdout.write(banner(c, seeded));
  const nightly = config.nightly.enabled
    ? scheduleNightly({
        cron: config.nightly.cron,
        timezone: config.nightly.timezone,
        log,
        run: async () => {
          const deps = await nightlyDeps(c);
          // Several replicas share one schedule: the run lock (Redis) lets one of them run it.
          const release = await deps.checkpoints.lock();
          try {
            if (release) await runNightly(deps);
            else log.info({ event: 'nightly.skipped', why: 'another replica holds the run lock' });
          } finally {
            await release?.();
            await deps.checkpoints.close();
          }
        },
      })
    : undefined;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stop', signal }, 'shutting down');
    server.close();
    server.closeAllConnections();
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    await nightly?.stop();
    await worker?.close();
    await c.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: Error) => {
    process.stderr.write(`ecg-cds: cannot start: ${err.message}\n`);
    process.exit(1);
  });
}
