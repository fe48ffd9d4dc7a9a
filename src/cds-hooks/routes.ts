/**
 * CDS Hooks HTTP edge: thin glue from express to the service registry (STYLE habits 5, 6, 7).
 * Discovery, service calls and feedback; CdsError → its status with a short JSON message; any other
 * error → 500 without details. Auth middleware is injected (JWT in production and demo alike).
 */

/**
 * CDS Hooks HTTP edge: thin glue from express to the service registry (STYLE habits 5, 6, 7).
 * Discovery, service calls and feedback; CdsError → its status with a short JSON message; any other
 * error → 500 without details. Auth middleware is injected (JWT in production and demo alike).
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  Router,
} from 'express';
import type { Logger } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { FeedbackRecorder } from './feedback.js';
import { type CdsService, discovery } from './registry.js';
import { CdsError, type CdsRequest } from './types.js';

export interface CdsRouterDeps {
  readonly services: readonly CdsService[];
  readonly auth: RequestHandler;
  readonly cors: RequestHandler;
  readonly feedback: FeedbackRecorder;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly maxBodyBytes: number;
}

export function cdsRouter(deps: CdsRouterDeps): Router {
  const router = Router();
  const byId = new Map(deps.services.map((s) => [s.definition.id, s]));
  router.use(deps.cors);
  router.use(deps.auth);
  router.use(express.json({ limit: deps.maxBodyBytes, type: ['application/json', 'application/*+json'] }));

  router.get('/', (_req, res) => {
    res.json(discovery(deps.services));
  });

  router.post('/:id', async (req: Request, res: Response, next: NextFunction) => {
    const service = byId.get(String(req.params['id']));
    if (!service) return void res.status(404).json({ error: 'unknown CDS service' });
    const end = deps.metrics.hookLatency.startTimer({ service: service.definition.id });
    const t0 = performance.now();
    try {
      const response = await service.handle(req.body as CdsRequest);
      end({ status: '200' });
      // Server-Timing (STYLE habit 12): lets an EHR integrator see our share of the ~500 ms budget.
      res.set('Server-Timing', `hook;dur=${(performance.now() - t0).toFixed(1)}`);
      res.json(response);
    } catch (err) {
      end({ status: err instanceof CdsError ? String(err.status) : '500' });
      next(err);
    }
  });

  router.post('/:id/feedback', (req: Request, res: Response, next: NextFunction) => {
    const id = String(req.params['id']);
    if (!byId.has(id)) return void res.status(404).json({ error: 'unknown CDS service' });
    try {
      deps.feedback.record(id, req.body);
      res.status(200).end();
    } catch (err) {
      next(err);
    }
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof CdsError) return void res.status(err.status).json({ error: err.message });
    const status = (err as { status?: number; type?: string }).status;
    if (status === 413) return void res.status(413).json({ error: 'request body too large' });
    if (status === 400) return void res.status(400).json({ error: 'request body is not valid JSON' });
    deps.log.error({
      event: 'cds.error',
      err: { name: (err as Error).name, message: (err as Error).message },
    });
    res.status(500).json({ error: 'internal error' });
  });
  return router;
}
