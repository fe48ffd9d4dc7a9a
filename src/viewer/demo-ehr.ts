/**
 * The demo EHR's one server-side helper (demo mode only): a browser cannot hold the development signing
 * key, so it asks here for a short-lived CDS client JWT for the exact endpoint it is about to call
 * (CDS Hooks 2.0 § Trusting CDS Clients: `aud` is that URL). Only our own CDS endpoints are signed for.
 */
import type { RequestHandler } from 'express';
import { type DevKey, signDevToken } from '../cds-hooks/dev-key.js';

export interface DemoEhrDeps {
  readonly devKey: DevKey;
  /** `PUBLIC_BASE_URL`: tokens are signed only for `<base>/cds-services[/<id>[/feedback]]`. */
  readonly publicBaseUrl: string;
}

/** Lifetime of a demo EHR token: long enough for one call. */
const TTL_SEC = 60;

export function demoEhrTokenEndpoint(deps: DemoEhrDeps): RequestHandler {
  const prefix = `${deps.publicBaseUrl.replace(/\/+$/, '')}/cds-services`;
  return async (req, res) => {
    const aud: unknown = (req.body as { aud?: unknown } | undefined)?.aud;
    const rest = typeof aud === 'string' && aud.startsWith(prefix) ? aud.slice(prefix.length) : undefined;
    if (rest === undefined || !/^(?:\/[a-z0-9][a-z0-9-]{0,63}(?:\/feedback)?)?$/.test(rest))
      return void res
        .status(400)
        .json({ error: `aud: must be ${prefix} or one of its services`, field: 'aud' });
    const token = await signDevToken(deps.devKey, { aud: aud as string, ttlSec: TTL_SEC, sub: 'demo-ehr' });
    res.set('Cache-Control', 'no-store').json({ token, expiresIn: TTL_SEC });
  };
}
