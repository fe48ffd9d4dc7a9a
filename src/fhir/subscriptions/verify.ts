/**
 * Verifying a notification's sender: the shared secret from `Subscription.channel.header`
 * (`Authorization: Bearer <secret>` or `X-Ecg-Cds-Secret`) or an HMAC-SHA256 `X-Signature` over the raw body.
 * Constant-time comparisons only; the secret is never logged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the request carries the shared secret as a bearer token or in X-Ecg-Cds-Secret. */
export function hasSharedSecret(
  secret: string,
  auth: string | undefined,
  header: string | undefined,
): boolean {
  const want = Buffer.from(secret);
  const bearer = /^Bearer\s+(\S+)$/i.exec(auth ?? '')?.[1];
  return (
    (bearer !== undefined && safeEqual(Buffer.from(bearer), want)) ||
    (header !== undefined && safeEqual(Buffer.from(header), want))
  );
}

/** HMAC-SHA256 of `body` keyed with the secret, hex. */
export function sign(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Checks `X-Signature: <hex>` or `sha256=<hex>` against the raw body. */
export function hasValidSignature(secret: string, signature: string | undefined, body: Buffer): boolean {
  const hex = /^(?:sha256=)?([0-9a-f]{64})$/i.exec(signature?.trim() ?? '')?.[1];
  if (!hex) return false;
  return safeEqual(Buffer.from(hex.toLowerCase(), 'hex'), Buffer.from(sign(secret, body), 'hex'));
}
