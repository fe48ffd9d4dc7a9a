/**
 * The CDS Hooks 2.0 request body (https://cds-hooks.hl7.org/2.0/#http-request_1) checked at the HTTP edge
 * with one zod schema, before any service sees it: hook, hookInstance, fhirServer (an absolute http(s)
 * URL), fhirAuthorization (§ FHIR Resource Access), context (an object) and prefetch (a FHIR resource or
 * `null` per key). What a service reads beyond that (patient-view's `context.patientId`, the Bundles of
 * its prefetch keys) it checks itself. Every refusal is a 400 naming the field; no message echoes a value
 * (a token must never come back in an error).
 */
import { type ZodError, type ZodType, z } from 'zod';
import { CdsError, type CdsRequest } from './types.js';

/** An absolute `http:` or `https:` URL without user info: the only kind of FHIR base we will call. */
export function isAbsoluteHttpUrl(s: string): boolean {
  if (!/^https?:\/\//i.test(s)) return false;
  try {
    const u = new URL(s);
    return (
      (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !u.username && !u.password
    );
  } catch {
    return false;
  }
}

const fhirServer = z
  .string()
  .max(2048)
  .refine(isAbsoluteHttpUrl, 'must be an absolute http(s) URL (no user info)');

/** § FHIR Resource Access: all but `patient` are REQUIRED. OAuth token types are case-insensitive (RFC 6749 §5.1). */
const fhirAuthorization = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i, 'must be "Bearer"'),
  expires_in: z.number().nonnegative(),
  scope: z.string(),
  subject: z.string(),
  patient: z.string().optional(),
});

/** A prefetch value: a FHIR resource, or `null` when the client had nothing (§ Prefetch tokens). */
const prefetchValue = z.custom<Record<string, unknown> | null>(
  (v) =>
    v === null ||
    (typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof (v as { resourceType?: unknown }).resourceType === 'string'),
  'must be a FHIR resource (an object with a resourceType) or null',
);

const cdsRequest = z
  .looseObject({
    hook: z.string().min(1).max(256),
    hookInstance: z.string().min(1).max(256),
    fhirServer: fhirServer.optional(),
    fhirAuthorization: fhirAuthorization.optional(),
    context: z.record(z.string(), z.unknown()),
    prefetch: z.record(z.string(), prefetchValue).optional(),
  })
  .refine((r) => r.fhirAuthorization === undefined || r.fhirServer !== undefined, {
    path: ['fhirServer'],
    message: 'is required when fhirAuthorization is present',
  });

/**
 * Requests this module produced: a service handed the edge's parsed request does not check it again
 * (issue #14: each check walks the whole prefetch's keys). Anything else, such as a test's or another
 * caller's object, is checked.
 */
const parsed = new WeakSet<object>();

/** The request body as a {@link CdsRequest}, or a {@link CdsError} 400 naming the first bad field. */
export function parseCdsRequest(body: unknown): CdsRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new CdsError(400, 'request body must be a JSON object (Content-Type: application/json)');
  if (parsed.has(body)) return body as CdsRequest;
  const request = parseOr400(cdsRequest, body) as CdsRequest;
  parsed.add(request);
  return request;
}

/** `schema.parse(value)`, or a 400 naming the first issue's field under `prefix` (e.g. `prefetch.ecgs`). */
export function parseOr400<T>(schema: ZodType<T>, value: unknown, prefix = ''): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { field, message } = firstIssue(r.error, prefix);
  throw new CdsError(400, message, field || undefined);
}

/** The first issue of a zod error as `field: problem`; the path is FHIRPath-like (`entry[0].resource`). */
export function firstIssue(error: ZodError, prefix = ''): { field: string; message: string } {
  const issue = error.issues[0]!;
  let field = prefix;
  for (const p of issue.path) {
    if (typeof p === 'number') field += `[${p}]`;
    else field += field ? `.${String(p)}` : String(p);
  }
  const problem = issue.message.replace(/^Invalid input: /, '');
  return { field, message: field ? `${field}: ${problem}` : problem };
}
