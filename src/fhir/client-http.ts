/**
 * One FHIR REST exchange over `fetch`, bounded: redirects are followed only within the origin the
 * request was made to (a few hops at most), the response body is read up to a byte limit, and the
 * caller's signal bounds the whole exchange (every hop and the body). The bearer token therefore
 * never leaves the origin it was configured for, and a hostile or broken server cannot make us hold
 * an unbounded body. fhir-kit-client, used here before, follows any redirect and reads any body
 * whole, with no hook to change either; hence this small transport.
 * FHIR R4 REST: https://hl7.org/fhir/R4/http.html; redirects: RFC 9110 §15.4.
 */
import { FhirRefusedError, FhirRequestError, parseRetryAfter, withoutQuery } from './client-errors.js';

export interface HttpLimits {
  /** Largest response body read, in bytes (decoded, so a compressed bomb stops here too). */
  readonly maxResponseBytes: number;
  /** Same-origin redirects followed per request. */
  readonly maxRedirects: number;
}

export interface FhirExchange {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal: AbortSignal;
}

export interface FhirHttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body; `{}` for an empty body (a create answered with only `Location`). */
  readonly data: unknown;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Send one request; resolve with a 2xx response's parsed body, throw {@link FhirRequestError} for an
 * HTTP error status and {@link FhirRefusedError} for what we refuse. Transport failures (refused
 * connection, timeout) are thrown as fetch throws them, for the caller to classify.
 */
export async function exchange(x: FhirExchange, limits: HttpLimits): Promise<FhirHttpResponse> {
  const origin = x.url.origin;
  let { method, body } = x;
  let url = x.url;
  for (let hop = 0; ; hop++) {
    const res = await fetch(url, {
      method,
      headers: x.headers,
      ...(body !== undefined ? { body } : {}),
      redirect: 'manual',
      signal: x.signal,
    });
    const location = REDIRECTS.has(res.status) ? res.headers.get('location') : null;
    if (location !== null) {
      await res.body?.cancel().catch(() => undefined);
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      if (!next || next.origin !== origin)
        throw new FhirRefusedError(
          `${x.method} ${withoutQuery(x.url.href)}: redirect to ${next ? next.origin : 'an invalid URL'} refused (the token stays with ${origin})`,
          'cross-origin-redirect',
          x.method,
          withoutQuery(x.url.href),
        );
      if (hop >= limits.maxRedirects)
        throw new FhirRefusedError(
          `${x.method} ${withoutQuery(x.url.href)}: more than ${limits.maxRedirects} redirects`,
          'too-many-redirects',
          x.method,
          withoutQuery(x.url.href),
        );
      // RFC 9110 §15.4.4: 303 → GET; 301/302 after POST → GET as every user agent does; 307/308 keep both.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next;
      continue;
    }
    const text = await readBounded(res, limits.maxResponseBytes, x);
    const data = parseJson(text);
    if (!res.ok) throw httpError(res, data, x);
    if (data === undefined)
      throw new FhirRequestError(
        `${x.method} ${withoutQuery(x.url.href)}: HTTP ${res.status} with a body that is not JSON`,
        res.status,
        undefined,
        x.method,
        withoutQuery(x.url.href),
      );
    return { status: res.status, headers: res.headers, data };
  }
}

/** The body as text, refused beyond `max` bytes (declared or counted while streaming). */
async function readBounded(res: Response, max: number, x: FhirExchange): Promise<string> {
  const tooLarge = () =>
    new FhirRefusedError(
      `${x.method} ${withoutQuery(x.url.href)}: response larger than ${max} bytes`,
      'response-too-large',
      x.method,
      withoutQuery(x.url.href),
    );
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** `{}` for an empty body, the value for JSON, undefined for anything else. */
function parseJson(text: string): unknown {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function httpError(res: Response, data: unknown, x: FhirExchange): FhirRequestError {
  const outcome =
    data &&
    typeof data === 'object' &&
    (data as { resourceType?: unknown }).resourceType === 'OperationOutcome'
      ? (data as fhir4.OperationOutcome)
      : undefined;
  const detail = Array.isArray(outcome?.issue)
    ? outcome.issue
        .map((i) => i?.diagnostics ?? i?.details?.text ?? i?.code)
        .filter((s): s is string => typeof s === 'string' && s !== '')
        .join('; ')
        .slice(0, 500)
    : '';
  return new FhirRequestError(
    `${x.method} ${withoutQuery(x.url.href)}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`,
    res.status,
    outcome,
    x.method,
    withoutQuery(x.url.href),
    parseRetryAfter(res.headers.get('retry-after')),
  );
}
