/**
 * The embedded server hides `Subscription.channel.header` from readers without the admin token (issue #13
 * item 6): the header carries the Subscription's notify token, which authorises `/fhir/notify` for that
 * Subscription and must not be readable by every client of the FHIR server (R4 lets a server withhold
 * elements from a reader; https://hl7.org/fhir/R4/subscription.html#security says the header may hold
 * secrets). The service's own client carries the admin token, so `subscriptions ensure` and readiness
 * see the whole resource.
 *
 * Applied to every response body sent through express (reads, searches, history, write echoes, bulk
 * export ndjson); bodies that do not mention "Subscription" are passed through without parsing.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

/** True when `header` is `Bearer <adminToken>` (constant time). */
export function isAdminBearer(adminToken: string, header: string | undefined): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(adminToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hideSubscriptionHeaders(adminToken: string): RequestHandler {
  return (req, res, next) => {
    if (isAdminBearer(adminToken, req.headers.authorization)) return next();
    const send = res.send.bind(res);
    res.send = ((body?: unknown) =>
      send(
        typeof body === 'string' && body.includes('"Subscription"') ? redact(body) : body,
      )) as typeof res.send;
    next();
  };
}

/** `text` with every Subscription's channel.header removed (JSON, or ndjson one resource per line). */
export function redact(text: string): string {
  const one = (t: string): string => {
    try {
      const v = JSON.parse(t) as unknown;
      return strip(v) ? JSON.stringify(v) : t;
    } catch {
      return t;
    }
  };
  const whole = one(text);
  if (whole !== text || !text.includes('\n')) return whole;
  return text
    .split('\n')
    .map((line) => (line.includes('"Subscription"') ? one(line) : line))
    .join('\n');
}

/** Remove headers in place; true when something was removed. */
function strip(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  const r = v as { resourceType?: unknown; channel?: { header?: unknown }; entry?: unknown };
  if (
    r.resourceType === 'Subscription' &&
    r.channel &&
    typeof r.channel === 'object' &&
    'header' in r.channel
  ) {
    delete r.channel.header;
    return true;
  }
  if (r.resourceType === 'Bundle' && Array.isArray(r.entry)) {
    let any = false;
    for (const e of r.entry) any = strip((e as { resource?: unknown })?.resource) || any;
    return any;
  }
  return false;
}
