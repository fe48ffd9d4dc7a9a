/**
 * createApp(deps): the express application, without listen (STYLE habit 16: tests use it with supertest;
 * main.ts wires and listens). Routes: CDS Hooks at /cds-services, the embedded FHIR server at /fhir in
 * demo mode, health at /healthz and /readyz, Prometheus at /metrics, the model card at /models.
 */
import { join } from 'node:path';
import express, { type Express, type Router } from 'express';
import { type CdsRouterDeps, cdsRouter } from './cds-hooks/routes.js';
import type { Logger } from './ops/log.js';
import type { Metrics } from './ops/metrics.js';

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
  readonly modelsDir: string;
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
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  // The model card is public: card `source.url` links here when MODEL_CARD_URL is not configured.
  app.get('/models/MODEL_CARD.md', (_req, res) => {
    res.type('text/markdown').sendFile(join(deps.modelsDir, 'MODEL_CARD.md'));
  });

  app.use('/cds-services', cdsRouter({ ...deps.cds, log: deps.log, metrics: deps.metrics }));
  for (const r of deps.extraRouters ?? []) app.use(r.path, r.router);
  if (deps.devFhir) app.use('/fhir', deps.devFhir);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}
