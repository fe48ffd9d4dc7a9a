/**
 * CDS Hooks HTTP edge: thin glue from express to the service registry (STYLE habits 5, 6, 7).
 * Discovery, service calls and feedback. The request body is checked here (request.ts) before a service
 * sees it. Errors are converted once, at the end: CdsError → its status with `{ error, field }`; client
 * faults found by body-parser → their 4xx with a fixed message; anything else is ours → 500
 * `{ error: "internal error", correlationId }`, the id logged with the error's name and message (no
 * stack, no path). Auth middleware is injected (JWT in production and demo alike).
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  Router,
} from 'express';
import { clientFault, correlationId, errSummary } from '../ops/http-errors.js';
import type { Logger } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { FeedbackRecorder } from './feedback.js';
import { type CdsService, discovery } from './registry.js';
import { parseCdsRequest } from './request.js';
import { CdsError } from './types.js';

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
      const response = await service.handle(parseCdsRequest(req.body));
      end({ status: '200' });
      // Server-Timing (STYLE habit 12): lets an EHR integrator see our share of the ~500 ms budget.
      res.set('Server-Timing', `hook;dur=${(performance.now() - t0).toFixed(1)}`);
      sendJson(res, response);
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
    if (err instanceof CdsError)
      return void res
        .status(err.status)
        .json({ error: err.message, ...(err.field ? { field: err.field } : {}) });
    // Only errors http-errors marks `expose` (body-parser's) are the caller's: a FhirRequestError also
    // carries a 4xx `status`, but a 400 from a FHIR server we wrote to is our fault, not the caller's.
    const fault = (err as { expose?: unknown } | null)?.expose === true ? clientFault(err) : undefined;
    if (fault) return void res.status(fault.status).json({ error: fault.message });
    // Ours (a bug, or a downstream failure we did not absorb): the caller gets an id, the log the details.
    const id = correlationId();
    deps.log.error({ event: 'cds.error', correlationId: id, err: errSummary(err) }, 'CDS request failed');
    res.status(500).json({ error: 'internal error', correlationId: id });
  });
  return router;
}

/**
 * `res.json` without the ETag: express hashes every body it sends for one (SHA-1 of the whole response),
 * which only a GET's conditional request can use; a hook call is a POST answered afresh each time.
 */
function sendJson(res: Response, body: unknown): void {
  const text = JSON.stringify(body);
  res.type('application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
