/**
 * Where Prometheus reads /metrics (issue #11): never unauthenticated on the public port. Either a separate
 * listener (`METRICS_PORT`, bound to `METRICS_HOST`, loopback by default) or, with `METRICS_TOKEN`, the
 * public port behind `Authorization: Bearer <token>`; the token, when set, is required on both.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';

/**
 * Constant-time check of `Authorization: Bearer <token>`. Both sides are hashed first so the comparison
 * takes the same time whatever the presented length (timingSafeEqual needs equal lengths).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token)) && presented.length > 0;
}

/** GET /metrics: the registry's text exposition; with `token`, a bare 401 without the bearer token. */
export function metricsEndpoint(registry: Registry, opts: { readonly token?: string } = {}): RequestHandler {
  return async (req, res) => {
    if (opts.token !== undefined && !bearerMatches(req.get('authorization'), opts.token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorised' });
      return;
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/** The separate metrics listener's app: GET /metrics and nothing else (JSON 404, JSON errors). */
export function createMetricsApp(registry: Registry, opts: { readonly token?: string } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsEndpoint(registry, opts));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}
