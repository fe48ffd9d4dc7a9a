/**
 * The local development signing key: lets a developer act as the CDS Client (EHR) against a demo
 * service. Trust its issuer only in demo/dev mode — anyone with a checkout can mint these tokens.
 * Tokens follow https://cds-hooks.hl7.org/2.0/#trusting-cds-clients (ES256, kid, typ, iss, aud, exp,
 * iat, jti).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from 'jose';

/** The `iss` of development tokens. */
export const devIssuer = 'urn:ecg-cds:dev-issuer';

/** Where the key lives unless told otherwise, relative to the working directory (git-ignored). */
export const DEFAULT_DEV_KEY_PATH = '.ecg-cds/dev-key.json';

const ALG = 'ES256';

export interface DevKey {
  readonly kid: string;
  /** Public half, with kid / alg / use: what `devJwks` publishes. */
  readonly publicJwk: JWK;
  readonly privateKey: CryptoKey;
}

/** A key file that exists but is not a usable ES256 private JWK. */
export class DevKeyError extends Error {
  override readonly name = 'DevKeyError';
}

/**
 * Reads the private JWK at `path`, or creates one (ES256, file mode 0600) when there is none.
 * Concurrent first runs are safe: the file is created exclusively and the loser reads the winner's key.
 */
export async function loadOrCreateDevKey(path: string = resolve(DEFAULT_DEV_KEY_PATH)): Promise<DevKey> {
  try {
    return await fromFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const file = { ...jwk, kid, alg: ALG, use: 'sig' };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return fromFile(path);
}

async function fromFile(path: string): Promise<DevKey> {
  const text = await readFile(path, 'utf8');
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new DevKeyError(`${path} is not JSON`);
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string')
    throw new DevKeyError(`${path} is not an ES256 private JWK with a kid`);
  const { d: _private, ...pub } = jwk;
  const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
  return { kid: jwk.kid, publicJwk: { ...pub, alg: ALG, use: 'sig' }, privateKey };
}

/** The JWK Set that verifies development tokens (configure it as the dev issuer's local `jwks`). */
export function devJwks(key: DevKey): JSONWebKeySet {
  return { keys: [key.publicJwk] };
}

export interface DevTokenOptions {
  /** The exact CDS endpoint URL the token will be sent to. */
  readonly aud: string;
  readonly sub?: string;
  readonly tenant?: string;
  /** Lifetime in seconds (default 300, the verifier's default maximum). */
  readonly ttlSec?: number;
}

/** Signs a single-use CDS Hooks client JWT (fresh jti) with the development key. */
export async function signDevToken(key: DevKey, opts: DevTokenOptions): Promise<string> {
  const ttl = opts.ttlSec ?? 300;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError(`ttlSec must be a positive integer`);
  const iat = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(opts.tenant === undefined ? {} : { tenant: opts.tenant })
    .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(devIssuer)
    .setAudience(opts.aud)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .setJti(randomUUID());
  if (opts.sub !== undefined) jwt.setSubject(opts.sub);
  return jwt.sign(key.privateKey);
}
