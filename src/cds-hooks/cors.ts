/**
 * CORS for the CDS endpoints. CDS Hooks 2.0 says services and browser-based CDS Clients "will require
 * CORS support" and defers the details to the OWASP HTML5 cheat sheet:
 * https://cds-hooks.hl7.org/2.0/#cross-origin-resource-sharing
 *
 * Mount it before `requireCdsJwt`: a browser's preflight carries no Authorization header, and a 401
 * without CORS headers would hide its status from the calling page.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface CdsCorsOptions {
  /**
   * `'*'` (default) or the exact origins allowed, which are then reflected with `Vary: Origin`. A
   * wildcard is safe here because the credential is an explicit bearer header, never a cookie, and
   * `Access-Control-Allow-Credentials` is never sent (OWASP).
   */
  readonly origins?: '*' | readonly string[];
  /** Response headers a page may read (default: `Server-Timing`, `WWW-Authenticate`). */
  readonly exposeHeaders?: readonly string[];
  /** Seconds a browser may cache a preflight answer (default 600). */
  readonly maxAgeSec?: number;
  /** Methods a preflight allows (default GET, POST, OPTIONS: the CDS endpoints). */
  readonly allowMethods?: readonly string[];
  /** Request headers a preflight allows (default Authorization, Content-Type). */
  readonly allowHeaders?: readonly string[];
}

// `Authorization` must be listed by name: the `*` wildcard in Allow-Headers does not cover it (Fetch).
const ALLOW_HEADERS = 'Authorization, Content-Type';
const ALLOW_METHODS = 'GET, POST, OPTIONS';

/** CORS middleware for the CDS endpoints; answers every OPTIONS with 204 itself, without auth. */
export function cdsCors(options: CdsCorsOptions = {}): RequestHandler {
  const origins = options.origins ?? '*';
  const allowed = origins === '*' ? undefined : new Set(origins);
  const expose = (options.exposeHeaders ?? ['Server-Timing', 'WWW-Authenticate']).join(', ');
  const maxAge = String(options.maxAgeSec ?? 600);
  const methods = options.allowMethods?.join(', ') ?? ALLOW_METHODS;
  const headers = options.allowHeaders?.join(', ') ?? ALLOW_HEADERS;

  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    if (allowed) res.vary('Origin');
    // With '*' the header goes on every response, so a shared cache cannot serve a copy without it.
    const permitted = !allowed || (origin !== undefined && allowed.has(origin));
    if (permitted) {
      res.set('Access-Control-Allow-Origin', allowed ? origin : '*');
      if (expose) res.set('Access-Control-Expose-Headers', expose);
    }
    if (req.method === 'OPTIONS') {
      if (permitted) {
        res.set('Access-Control-Allow-Methods', methods);
        res.set('Access-Control-Allow-Headers', headers);
        res.set('Access-Control-Max-Age', maxAge);
      }
      res.status(204).end();
      return;
    }
    next();
  };
}

/**
 * CORS for the embedded development FHIR server at `/fhir` (issue #12: the CDS Hooks sandbox, the demo
 * EHR and the SMART viewer read it from a browser). Same rules as {@link cdsCors} — never credentials, so
 * `*` stays safe for a development server — with the FHIR REST methods and the headers FHIR clients send
 * (https://hl7.org/fhir/R4/http.html: `Prefer`, conditional `If-*`), and the ones they read back.
 */
export function fhirCors(origins: '*' | readonly string[] = '*'): RequestHandler {
  return cdsCors({
    origins,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Accept',
      'Prefer',
      'If-Match',
      'If-None-Match',
      'If-None-Exist',
      'If-Modified-Since',
      'X-Requested-With',
    ],
    exposeHeaders: ['Location', 'Content-Location', 'ETag', 'Last-Modified', 'WWW-Authenticate'],
  });
}
