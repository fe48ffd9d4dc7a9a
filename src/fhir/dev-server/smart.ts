/**
 * A minimal SMART App Launch authorization server for the embedded FHIR server — demo mode only, never
 * in production (the hospital's EHR is the authorization server there). It lets the demo EHR launch the
 * waveform viewer exactly as a real EHR does (https://hl7.org/fhir/smart-app-launch/app-launch.html):
 *   EHR: POST /auth/launch {patient, appContext} → launch id; opens <app>/launch?iss=<fhir base>&launch=<id>
 *   app: GET /.well-known/smart-configuration → GET /auth/authorize (code, PKCE S256) → POST /auth/token
 *   token response: access_token (5 min), patient, appContext (CDS Hooks 2.0 § Link: the card's string).
 * Approval is automatic (there is no user to ask); what is still checked is what keeps a launch honest:
 * a known, unexpired launch id, `aud` = this FHIR server, redirect URIs on our own origin only, the PKCE
 * S256 challenge, single-use codes bound to client and redirect URI.
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';

export interface DevSmartOptions {
  /** The FHIR server's public base URL (`iss`, and the `aud` a client must ask for). */
  readonly fhirBaseUrl: string;
  /** Apps may only be redirected to this origin (the viewer is ours). */
  readonly appOrigin: string;
  /** Lifetime of access tokens, seconds (default 300). */
  readonly tokenTtlSec?: number;
  readonly now?: () => number;
}

export interface DevSmart {
  /** Mount at the FHIR server's path (`/fhir`), before the FHIR server: it passes on what it does not serve. */
  readonly router: Router;
  /** True when the header carries an unexpired access token this server issued. */
  accepts(authorization: string | undefined): boolean;
}

interface Launch {
  readonly patient: string;
  readonly appContext?: string;
  readonly expires: number;
}
interface Code {
  readonly launch: Launch;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly scope: string;
  readonly expires: number;
}

const LAUNCH_TTL_MS = 5 * 60_000;
const CODE_TTL_MS = 60_000;
/** Bounds on what the store holds, so unauthenticated demo calls cannot grow it without limit. */
const MAX_ENTRIES = 1000;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const SCOPES = ['openid', 'fhirUser', 'launch', 'patient/*.read', 'patient/*.rs', 'user/*.read'];

const token = () => randomBytes(32).toString('base64url');
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/** The dev authorization server (see the module comment). */
export function createDevSmart(opts: DevSmartOptions): DevSmart {
  const base = opts.fhirBaseUrl.replace(/\/+$/, '');
  const ttlMs = (opts.tokenTtlSec ?? 300) * 1000;
  const now = opts.now ?? Date.now;
  const launches = new Map<string, Launch>();
  const codes = new Map<string, Code>();
  const tokens = new Map<string, number>();
  const put = <V extends { expires: number } | number>(m: Map<string, V>, k: string, v: V) => {
    const t = now();
    for (const [key, e] of m) if ((typeof e === 'number' ? e : e.expires) < t) m.delete(key);
    if (m.size >= MAX_ENTRIES) m.delete(m.keys().next().value as string);
    m.set(k, v);
  };

  const router = express.Router();
  router.get('/.well-known/smart-configuration', (_req, res) => {
    res.json({
      issuer: base,
      authorization_endpoint: `${base}/auth/authorize`,
      token_endpoint: `${base}/auth/token`,
      grant_types_supported: ['authorization_code'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: SCOPES,
      capabilities: [
        'launch-ehr',
        'client-public',
        'context-ehr-patient',
        'permission-patient',
        'permission-v1',
      ],
    });
  });

  router.post('/auth/launch', express.json({ limit: '16kb' }), (req, res) => {
    const body = (req.body ?? {}) as { patient?: unknown; appContext?: unknown };
    if (typeof body.patient !== 'string' || !FHIR_ID.test(body.patient))
      return fail(res, 400, 'invalid_request', 'patient: must be a FHIR id');
    if (
      body.appContext !== undefined &&
      (typeof body.appContext !== 'string' || body.appContext.length > 4096)
    )
      return fail(res, 400, 'invalid_request', 'appContext: must be a string of at most 4096 characters');
    const id = token();
    put(launches, id, {
      patient: body.patient,
      ...(typeof body.appContext === 'string' ? { appContext: body.appContext } : {}),
      expires: now() + LAUNCH_TTL_MS,
    });
    res.status(201).json({ launch: id });
  });

  router.get('/auth/authorize', (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');
    const redirectUri = q('redirect_uri');
    // Before anything is redirected: an unknown redirect target gets a plain 400, never a redirect.
    if (!URL.canParse(redirectUri) || new URL(redirectUri).origin !== new URL(opts.appOrigin).origin)
      return fail(res, 400, 'invalid_request', 'redirect_uri: must be on this server');
    const problem =
      q('response_type') !== 'code'
        ? 'response_type: must be code'
        : !q('client_id')
          ? 'client_id: required'
          : q('aud').replace(/\/+$/, '') !== base
            ? 'aud: must be this FHIR server'
            : q('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43,128}$/.test(q('code_challenge'))
              ? 'code_challenge: PKCE S256 is required'
              : undefined;
    const launch = launches.get(q('launch'));
    const target = new URL(redirectUri);
    if (q('state')) target.searchParams.set('state', q('state'));
    if (problem || !launch || launch.expires < now()) {
      target.searchParams.set('error', problem ? 'invalid_request' : 'access_denied');
      target.searchParams.set('error_description', problem ?? 'launch: unknown or expired');
      return res.redirect(302, target.href);
    }
    const code = token();
    put(codes, code, {
      launch,
      clientId: q('client_id'),
      redirectUri,
      challenge: q('code_challenge'),
      scope: q('scope'),
      expires: now() + CODE_TTL_MS,
    });
    target.searchParams.set('code', code);
    res.redirect(302, target.href);
  });

  router.post(
    '/auth/token',
    express.urlencoded({ extended: false, limit: '16kb' }),
    (req: Request, res: Response) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : '');
      if (str('grant_type') !== 'authorization_code')
        return fail(res, 400, 'unsupported_grant_type', 'grant_type: must be authorization_code');
      const code = codes.get(str('code'));
      codes.delete(str('code')); // single use, whatever happens next
      if (!code || code.expires < now()) return fail(res, 400, 'invalid_grant', 'code: unknown or expired');
      if (
        code.redirectUri !== str('redirect_uri') ||
        (str('client_id') && code.clientId !== str('client_id'))
      )
        return fail(res, 400, 'invalid_grant', 'redirect_uri or client_id: does not match the authorization');
      if (s256(str('code_verifier')) !== code.challenge)
        return fail(res, 400, 'invalid_grant', 'code_verifier: does not match the PKCE challenge');
      const access = token();
      put(tokens, access, now() + ttlMs);
      res.set('Cache-Control', 'no-store').json({
        access_token: access,
        token_type: 'Bearer',
        expires_in: Math.round(ttlMs / 1000),
        scope: code.scope,
        patient: code.launch.patient,
        ...(code.launch.appContext !== undefined ? { appContext: code.launch.appContext } : {}),
        need_patient_banner: false,
      });
    },
  );

  return {
    router,
    accepts(header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
      const expires = m ? tokens.get(m[1]!) : undefined;
      return expires !== undefined && expires >= now();
    },
  };
}

function fail(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}
