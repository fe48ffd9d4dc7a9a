/**
 * Verifying a notification's sender: the shared secret from `Subscription.channel.header`
 * (`Authorization: Bearer <secret>` or `X-Ecg-Cds-Secret`) or an HMAC-SHA256 `X-Signature` over the raw body.
 * Constant-time comparisons only; the secret is never logged.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Equal strings, in time independent of where they differ and of the presented length (both hashed). */
function sameSecret(presented: string, secret: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(secret));
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerOf(auth: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(auth ?? '')?.[1];
}

/** True when the request carries the shared secret as a bearer token or in X-Ecg-Cds-Secret. */
export function hasSharedSecret(
  secret: string,
  auth: string | undefined,
  header: string | undefined,
): boolean {
  const bearer = bearerOf(auth);
  // Both checks always run, so the time does not tell which header was tried.
  const byBearer = bearer !== undefined && sameSecret(bearer, secret);
  const byHeader = header !== undefined && sameSecret(header, secret);
  return byBearer || byHeader;
}

/** True when `X-Signature` has the shape of an HMAC-SHA256 (worth reading the body to check it). */
export function looksLikeSignature(signature: string | undefined): boolean {
  return SIGNATURE.test(signature?.trim() ?? '');
}

const SIGNATURE = /^(?:sha256=)?([0-9a-f]{64})$/i;

/** HMAC-SHA256 of `body` keyed with the secret, hex. */
export function sign(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Checks `X-Signature: <hex>` or `sha256=<hex>` against the raw body. */
export function hasValidSignature(secret: string, signature: string | undefined, body: Buffer): boolean {
  const hex = SIGNATURE.exec(signature?.trim() ?? '')?.[1];
  if (!hex) return false;
  return safeEqual(Buffer.from(hex.toLowerCase(), 'hex'), Buffer.from(sign(secret, body), 'hex'));
}
