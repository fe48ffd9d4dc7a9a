/**
 * The one error type of the FHIR access layer. It carries what a caller needs to decide (status,
 * the server's OperationOutcome, whether a retry may help) and never the request headers, so a
 * logged error cannot leak the bearer token.
 */

export class FhirRequestError extends Error {
  override readonly name = 'FhirRequestError';
  constructor(
    message: string,
    /** HTTP status; undefined when no response came (network error, timeout). */
    readonly status: number | undefined,
    /** The OperationOutcome the server sent with the error, if it sent one. */
    readonly outcome: fhir4.OperationOutcome | undefined,
    /** `GET`, `POST`, … and the URL without its query string (search values may identify a patient). */
    readonly method: string,
    readonly url: string,
    /** Milliseconds the server asked us to wait (`Retry-After`), if it said. */
    readonly retryAfterMs?: number,
    /** Transport failure code such as `ECONNREFUSED`, `ECONNRESET` or `timeout`. */
    readonly transport?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A URL with its query string and fragment removed. */
export function withoutQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut < 0 ? url : url.slice(0, cut);
}

/** Retry-After: delta-seconds or an HTTP-date (RFC 9110 §10.2.3) → ms from `now`, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/**
 * A response we refuse to use: a redirect to another origin (the bearer token stays with the origin it
 * was given for), too many redirects, a body over the size limit, an id that is not a FHIR id. Never
 * retried. `name` stays `FhirRequestError` so callers that handle the family keep working.
 */
export class FhirRefusedError extends FhirRequestError {
  constructor(
    message: string,
    readonly refusal: 'cross-origin-redirect' | 'too-many-redirects' | 'response-too-large' | 'invalid-id',
    method: string,
    url: string,
  ) {
    super(message, undefined, undefined, method, url);
  }
}

/** Turn what fetch threw into a {@link FhirRequestError}; anything else (a programming error) is rethrown. */
export function toFhirRequestError(err: unknown, method: string, url: string): FhirRequestError {
  if (err instanceof FhirRequestError) return err;
  const where = `${method} ${withoutQuery(url)}`;
  const e = err as Error & { cause?: { code?: string } };
  const timedOut = e?.name === 'TimeoutError' || e?.name === 'AbortError';
  // undici reports every transport failure as TypeError('fetch failed') with the socket error as cause;
  // a body stream cut mid-way ("terminated") is one too.
  const network = e instanceof TypeError && (e.message === 'fetch failed' || e.message === 'terminated');
  if (!timedOut && !network) throw err;
  const transport = timedOut ? 'timeout' : (e.cause?.code ?? 'network');
  return new FhirRequestError(
    `${where}: ${transport === 'timeout' ? 'timed out' : `request failed (${transport})`}`,
    undefined,
    undefined,
    method,
    withoutQuery(url),
    undefined,
    transport,
    { cause: err },
  );
}
