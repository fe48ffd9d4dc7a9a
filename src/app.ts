/**
 * createApp(deps): the express application, without listen (STYLE habit 16: tests use it with supertest;
 * main.ts wires and listens). Routes: CDS Hooks at /cds-services, the embedded FHIR server at /fhir in
 * demo mode, health at /healthz and /readyz, the model card at /models, and Prometheus at /metrics only
 * with `metricsToken` (otherwise /metrics lives on its own listener, see ops/metrics-http.ts).
 * The error boundary at the end answers every error with JSON (an OperationOutcome under /fhir), so
 * express's default HTML error page, with its stack trace and file paths, is never reached.
 */
import { join } from 'node:path';
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { type CdsRouterDeps, cdsRouter } from './cds-hooks/routes.js';
import { sendOutcome } from './fhir/http-outcome.js';
import { clientFault, correlationId, errSummary } from './ops/http-errors.js';
import type { Logger } from './ops/log.js';
import type { Metrics } from './ops/metrics.js';
import { metricsEndpoint } from './ops/metrics-http.js';

export interface ReadyCheck {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

export interface AppDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly cds: Omit<CdsRouterDeps, 'log' | 'metrics'>;
  /** Routers mounted before the FHIR server, e.g. the Subscription receiver at /fhir/notify. */
  readonly extraRouters?: ReadonlyArray<{ readonly path: string; readonly router: Router }>;
  /** The embedded development FHIR server (demo mode only). */
  readonly devFhir?: Router;
  /** CORS for everything under `/fhir` (with `devFhir`): answers preflights before any auth (issue #12). */
  readonly devFhirCors?: RequestHandler;
  /** The dev SMART authorization server (demo mode, issue #12): mounted at /fhir before the FHIR server. */
  readonly devSmart?: Router;
  /** The ECG viewer, demo EHR and their bundles (issue #12), mounted at `/`. */
  readonly web?: Router;
  readonly modelsDir: string;
  /**
   * Serve /metrics on this (public) app behind `Authorization: Bearer <metricsToken>`. Unset: /metrics
   * is not served here (404); main.ts serves it on METRICS_PORT instead.
   */
  readonly metricsToken?: string;
  /** Models loaded, FHIR server reachable. */
  ready(): Promise<ReadyCheck>;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await deps.ready().catch((err: Error) => ({ ok: false, checks: { ready: err.message } }));
    res.status(r.ok ? 200 : 503).json({ status: r.ok ? 'ready' : 'not ready', checks: r.checks });
  });
  if (deps.metricsToken)
    app.get('/metrics', metricsEndpoint(deps.metrics.registry, { token: deps.metricsToken }));
  // The model card is public: card `source.url` links here when MODEL_CARD_URL is not configured.
  app.get('/models/MODEL_CARD.md', (_req, res) => {
    res.type('text/markdown').sendFile(join(deps.modelsDir, 'MODEL_CARD.md'));
  });

  app.use('/cds-services', cdsRouter({ ...deps.cds, log: deps.log, metrics: deps.metrics }));
  if (deps.devFhir && deps.devFhirCors) app.use('/fhir', deps.devFhirCors);
  for (const r of deps.extraRouters ?? []) app.use(r.path, r.router);
  if (deps.devFhir && deps.devSmart) app.use('/fhir', deps.devSmart);
  if (deps.devFhir) app.use('/fhir', deps.devFhir);
  if (deps.web) app.use(deps.web);

  app.use((req, res) => {
    if (isFhirPath(req)) return sendOutcome(res, 404, 'not found');
    res.status(404).json({ error: 'not found' });
  });
  app.use(errorBoundary(deps.log));
  return app;
}

const isFhirPath = (req: Request) => /^\/fhir(?:\/|$)/.test(req.path);

/**
 * The one error boundary (STYLE habit 7): client faults keep their 4xx with a fixed message, anything
 * else is a 500 with a correlation id (also in the log line). JSON always; never the error's message,
 * stack or file paths. Routers with their own boundary (CDS Hooks, /fhir/notify) rarely get here.
 */
function errorBoundary(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      // Too late for a status: cut the response short rather than let express append an HTML page.
      log.error({ event: 'http.error-after-headers', err: errSummary(err) });
      req.socket.destroy();
      return;
    }
    const fault = clientFault(err);
    if (fault) {
      if (isFhirPath(req)) return sendOutcome(res, fault.status, fault.message);
      return void res.status(fault.status).json({ error: fault.message });
    }
    const id = correlationId();
    log.error({ event: 'http.error', correlationId: id, method: req.method, err: errSummary(err) });
    res.set('X-Correlation-Id', id);
    if (isFhirPath(req)) return sendOutcome(res, 500, `internal error (correlation id ${id})`);
    res.status(500).json({ error: 'internal error', correlationId: id });
  };
}
