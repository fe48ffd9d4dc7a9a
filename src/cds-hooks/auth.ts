/**
 * Authentication of CDS Clients: the signed JWT that CDS Hooks 2.0 puts on every call.
 * Spec: https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 *
 * Header: alg (asymmetric only: "SHALL NOT" none, "SHALL NOT" HMAC), kid (REQUIRED), typ, jku (OPTIONAL,
 * allow-listed). Payload: iss (allow-listed), aud (the exact endpoint URL called, string or array),
 * exp, iat, jti (nonce against replay), tenant (OPTIONAL). Every failure becomes an `AuthError` with an
 * internal reason code for logs and metrics; the caller only ever sees a bare 401.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';

/**
 * Asymmetric JWS algorithms we accept (RFC 7518 §3). The spec recommends ES384 and RS384; `none` and
 * every HS* are absent on purpose, so an HMAC "signed" with a public key (alg confusion) is refused.
 */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

/** Internal reason codes: for logs and metrics only, never sent to the caller. */
export type AuthErrorReason =
  | 'missing_token'
  | 'malformed'
  | 'alg_not_allowed'
  | 'missing_kid'
  | 'untrusted_issuer'
  | 'jku_not_allowed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'iat_in_future'
  | 'lifetime_too_long'
  | 'missing_claim'
  | 'invalid_claim'
  | 'replayed'
  | 'replay_cache_full'
  | 'replay_cache_unavailable'
  | 'jwks_unavailable'
  | 'internal';

/** A rejected token. The message names the check that failed, never the token or its claims. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(readonly reason: AuthErrorReason) {
    super(`CDS client authentication failed: ${reason}`);
  }
}

/** The authenticated caller, as the handlers and the logs may see it. */
export interface VerifiedClient {
  readonly iss: string;
  readonly sub?: string;
  readonly jti: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** The spec's optional opaque healthcare-organisation id. */
  readonly tenant?: string;
}

/**
 * Remembers each (iss, jti) until its token expires. `add` resolves false for a replay, and throws
 * `AuthError('replay_cache_full')` when it cannot remember more (or `replay_cache_unavailable` when its
 * store cannot answer: fail closed). Several replicas share `RedisJtiCache` (jti-redis.ts); one
 * process alone may use `MemoryJtiCache`.
 */
export interface JtiCache {
  add(key: string, expiresAtSec: number): Promise<boolean> | boolean;
}

/**
 * In-process jti cache with a hard size bound. When full it first drops expired entries (at most one
 * sweep a second, so a full cache cannot be turned into a CPU sink) and then fails closed: forgetting a
 * live jti would re-open the replay window. Only tokens that passed every other check are stored, so
 * only trusted issuers can fill it.
 */
export class MemoryJtiCache implements JtiCache {
  private readonly expiry = new Map<string, number>();
  private lastSweepMs = 0;

  constructor(
    private readonly maxEntries = 500_000,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get size(): number {
    return this.expiry.size;
  }

  add(key: string, expiresAtSec: number): boolean {
    const now = this.nowMs();
    const seen = this.expiry.get(key);
    if (seen !== undefined && seen * 1000 > now) return false;
    if (seen === undefined && this.expiry.size >= this.maxEntries) {
      if (now - this.lastSweepMs >= 1000) this.sweep(now);
      if (this.expiry.size >= this.maxEntries) throw new AuthError('replay_cache_full');
    }
    this.expiry.set(key, expiresAtSec);
    return true;
  }

  private sweep(now: number): void {
    this.lastSweepMs = now;
    for (const [k, exp] of this.expiry) if (exp * 1000 <= now) this.expiry.delete(k);
  }
}

/**
 * One trusted CDS Client (or identity provider) and where its public keys come from. With `jwks` or
 * `jwksUrl` the issuer's keys are pinned: its tokens verify only against them, and a `jku` in their
 * header is checked against the allow-list but never fetched (air-gapped sites, key pinning). With
 * neither, its tokens must carry an allow-listed `jku`, which is then fetched.
 */
export interface TrustedIssuer {
  readonly iss: string;
  /** JWK Set URL, fetched and cached by jose. Use https in production. */
  readonly jwksUrl?: string;
  /** A local JWK Set (the development issuer, or keys exchanged out of band). */
  readonly jwks?: JSONWebKeySet;
}

export interface JwtVerifierOptions {
  readonly issuers: ReadonlyArray<TrustedIssuer>;
  /**
   * Exact `jku` URLs we will fetch keys from. A token with a `jku` outside this list is refused; the
   * list is shared by all issuers (the spec asks for an allow-list of both iss and jku).
   */
  readonly jkuAllowList?: readonly string[];
  /** Leeway for exp / nbf / iat against clock skew, seconds (default 30). */
  readonly clockToleranceSec?: number;
  /**
   * Longest accepted exp − iat, seconds (default 300). The CDS Hooks text sets no number; five minutes
   * follows SMART Backend Services' client assertions and bounds the replay cache.
   */
  readonly maxLifetimeSec?: number;
  /** Default: a `MemoryJtiCache` private to this verifier (one process). */
  readonly replayCache?: JtiCache;
  /** Clock, for tests (default `Date.now`). */
  readonly nowMs?: () => number;
}

/** Verifies one bearer token for the endpoint URL it was presented to; throws `AuthError`. */
export type JwtVerifier = (token: string, expectedAudience: string) => Promise<VerifiedClient>;

/** Compact JWS are three base64url parts; anything longer than this is not a CDS Hooks token. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * Builds the verifier for a fixed trust configuration (issuers, jku allow-list).
 * https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */
export function createJwtVerifier(opts: JwtVerifierOptions): JwtVerifier {
  const tolerance = opts.clockToleranceSec ?? 30;
  const maxLifetime = opts.maxLifetimeSec ?? 300;
  const replayCache = opts.replayCache ?? new MemoryJtiCache();
  const nowMs = opts.nowMs ?? Date.now;
  const jkuAllowList = new Set(opts.jkuAllowList ?? []);

  // Remote key sets are created once per URL: jose caches the fetched JWKS and rate-limits refetches.
  const remote = new Map<string, JWTVerifyGetKey>();
  const remoteSet = (url: string): JWTVerifyGetKey => {
    let set = remote.get(url);
    if (!set) {
      set = createRemoteJWKSet(new URL(url), { timeoutDuration: 3000, cooldownDuration: 30_000 });
      remote.set(url, set);
    }
    return set;
  };

  // Pinned keys per issuer; `undefined` for an issuer trusted with keys from its (allow-listed) `jku`.
  const issuerKeys = new Map<string, JWTVerifyGetKey | undefined>();
  for (const issuer of opts.issuers) {
    if (issuer.jwks) issuerKeys.set(issuer.iss, createLocalJWKSet(issuer.jwks));
    else if (issuer.jwksUrl) issuerKeys.set(issuer.iss, remoteSet(issuer.jwksUrl));
    else issuerKeys.set(issuer.iss, undefined);
  }
  for (const url of jkuAllowList) new URL(url); // fail at start-up on a typo, not at the first request

  return async (token, expectedAudience) => {
    if (typeof token !== 'string' || token.length === 0) throw new AuthError('missing_token');
    if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('malformed');

    // Decoded before the signature check only to pick the key set; nothing here is trusted yet.
    // Deviation: `typ` (REQUIRED "JWT" in the spec) is not enforced; it carries no security and some
    // clients omit it.
    let alg: unknown;
    let kid: unknown;
    let jku: unknown;
    let iss: unknown;
    try {
      ({ alg, kid, jku } = decodeProtectedHeader(token));
      ({ iss } = decodeJwt(token));
    } catch {
      throw new AuthError('malformed');
    }
    if (!(ALLOWED_ALGORITHMS as readonly unknown[]).includes(alg)) throw new AuthError('alg_not_allowed');
    if (typeof kid !== 'string' || kid === '') throw new AuthError('missing_kid');
    if (typeof iss !== 'string') throw new AuthError('missing_claim');
    if (!issuerKeys.has(iss)) throw new AuthError('untrusted_issuer');
    if (jku !== undefined && (typeof jku !== 'string' || !jkuAllowList.has(jku)))
      throw new AuthError('jku_not_allowed');
    // Pinned keys win over the header (issue #12): a `jku` is fetched only for an issuer without them.
    const pinned = issuerKeys.get(iss);
    const keys = pinned ?? (typeof jku === 'string' ? remoteSet(jku) : undefined);
    if (!keys) throw new AuthError('jwks_unavailable');

    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer: iss,
        audience: expectedAudience,
        clockTolerance: tolerance,
        requiredClaims: ['exp', 'iat', 'jti'],
        currentDate: new Date(nowMs()),
      }));
    } catch (err) {
      throw new AuthError(reasonOf(err));
    }

    const now = Math.floor(nowMs() / 1000);
    const { exp, iat, jti, sub, tenant } = payload;
    // jose has checked that exp and iat are numbers, that exp has not passed and aud/iss match.
    if (typeof exp !== 'number' || typeof iat !== 'number') throw new AuthError('missing_claim');
    if (iat > now + tolerance) throw new AuthError('iat_in_future');
    if (exp - iat > maxLifetime) throw new AuthError('lifetime_too_long');
    if (typeof jti !== 'string' || jti === '') throw new AuthError('invalid_claim');
    if (sub !== undefined && typeof sub !== 'string') throw new AuthError('invalid_claim');
    if (tenant !== undefined && typeof tenant !== 'string') throw new AuthError('invalid_claim');

    // Last, so a token that fails any other check never occupies the cache. Kept past exp by the
    // tolerance because the token is still accepted that long.
    if (!(await replayCache.add(`${iss}\u0000${jti}`, exp + tolerance))) throw new AuthError('replayed');

    return {
      iss,
      jti,
      exp,
      ...(sub === undefined ? {} : { sub }),
      ...(tenant === undefined ? {} : { tenant }),
    };
  };
}

/** Maps jose's errors to our reason codes. */
function reasonOf(err: unknown): AuthErrorReason {
  if (err instanceof AuthError) return err.reason;
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return 'missing_claim';
    if (err.claim === 'aud') return 'wrong_audience';
    if (err.claim === 'iss') return 'untrusted_issuer';
    if (err.claim === 'nbf') return 'not_yet_valid';
    if (err.claim === 'iat' && err.reason === 'check_failed') return 'iat_in_future';
    return 'invalid_claim';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return 'unknown_kid';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return 'alg_not_allowed';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed';
  // JWKSTimeout, JWKSInvalid, network errors: the key set could not be had.
  return 'jwks_unavailable';
}

export interface RequireCdsJwtOptions {
  /**
   * The service's public origin (and path prefix), e.g. `https://cds.example.org`. The audience is
   * this + the request path. Set it in production: without it the audience is rebuilt from
   * `req.protocol` and the Host header, which behind a TLS-terminating reverse proxy are `http` and
   * the proxy's upstream host unless express's `trust proxy` is configured — and a client-chosen Host
   * would let a token minted for another service's URL be replayed here.
   */
  readonly publicBaseUrl?: string;
  /** Called with each rejection (metrics, structured log). Must not throw. */
  readonly onReject?: (err: AuthError, req: Request) => void;
}

/** The `res.locals` key under which `requireCdsJwt` stores the `VerifiedClient`. */
export const CDS_CLIENT_LOCAL = 'cdsClient';

/** The client that `requireCdsJwt` authenticated for this response, if any. */
export function cdsClientOf(res: Response): VerifiedClient | undefined {
  return res.locals[CDS_CLIENT_LOCAL] as VerifiedClient | undefined;
}

/** The exact URL the caller addressed, without query: what the spec requires `aud` to be. */
export function audienceOf(req: Request, publicBaseUrl?: string): string {
  const path = req.originalUrl.split('?')[0] ?? '';
  if (publicBaseUrl !== undefined) return `${publicBaseUrl.replace(/\/+$/, '')}${path}`;
  return `${req.protocol}://${req.host}${path}`;
}

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Express middleware: every request must carry `Authorization: Bearer <JWT>` valid for the URL called;
 * otherwise a bare 401 (no body, no reason). https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */
export function requireCdsJwt(verify: JwtVerifier, options: RequireCdsJwtOptions = {}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    let client: VerifiedClient;
    try {
      const match = BEARER.exec(req.get('authorization') ?? '');
      if (!match?.[1]) throw new AuthError('missing_token');
      client = await verify(match[1], audienceOf(req, options.publicBaseUrl));
    } catch (err) {
      options.onReject?.(err instanceof AuthError ? err : new AuthError('internal'), req);
      res.status(401).set('WWW-Authenticate', 'Bearer').end();
      return;
    }
    res.locals[CDS_CLIENT_LOCAL] = client;
    next();
  };
}
