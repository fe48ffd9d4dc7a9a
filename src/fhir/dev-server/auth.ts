/** Optional bearer-token gate in front of the dev server (demo mode leaves it open). */
import type { RequestHandler } from 'express';
import { outcome, sendFhir } from './outcomes.js';

/** Middleware factory: requests for which `check(Authorization header)` is false get 401 with an OperationOutcome. */
export function requireTokenMiddleware(check: (authHeader: string | undefined) => boolean): RequestHandler {
  return (req, res, next) => {
    let ok = false;
    try {
      ok = check(req.headers.authorization);
    } catch {
      ok = false; // a throwing checker denies, it never crashes the request
    }
    if (ok) return next();
    res.setHeader('WWW-Authenticate', 'Bearer');
    sendFhir(res, 401, outcome('login', 'Unauthorized: a valid bearer token is required'));
  };
}
