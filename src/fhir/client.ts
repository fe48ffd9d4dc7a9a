/**
 * FHIR access layer: the small {@link FhirAccess} interface the rest of the service uses, and
 * {@link createFhirClient}, its implementation over `fetch` (client-http.ts: same-origin redirects
 * only, bounded body) with a bearer token, a timeout per attempt, and retries with exponential
 * backoff and jitter. FHIR R4 REST: https://hl7.org/fhir/R4/http.html
 */

import { FhirRefusedError, FhirRequestError, toFhirRequestError, withoutQuery } from './client-errors.js';
import { exchange, type FhirHttpResponse } from './client-http.js';

export { FhirRefusedError, FhirRequestError } from './client-errors.js';

export type ResourceType = fhir4.FhirResource['resourceType'];
export type ResourceOf<K extends ResourceType> = Extract<fhir4.FhirResource, { resourceType: K }>;
export type FhirSearchParams = Readonly<
  Record<string, string | number | boolean | readonly (string | number)[]>
>;

/** What the service needs from a FHIR server; tests and the CDS handlers depend on this, not on HTTP. */
export interface FhirAccess {
  read<K extends ResourceType>(type: K, id: string): Promise<ResourceOf<K>>;
  vread<K extends ResourceType>(type: K, id: string, versionId: string): Promise<ResourceOf<K>>;
  /** One page of a type-level search. */
  search(type: ResourceType, params?: FhirSearchParams): Promise<fhir4.Bundle>;
  /** Every matching resource, following `next` links page by page (entries with search mode `include` are skipped). */
  searchAll<K extends ResourceType>(type: K, params?: FhirSearchParams): AsyncIterable<ResourceOf<K>>;
  /** Create; with `ifNoneExist` (a search query such as `identifier=sys|val`) a conditional create. */
  create<R extends fhir4.FhirResource>(resource: R, opts?: { ifNoneExist?: string }): Promise<R>;
  update<R extends fhir4.FhirResource>(resource: R & { id: string }): Promise<R>;
  transaction(bundle: fhir4.Bundle): Promise<fhir4.Bundle>;
  capabilities(): Promise<fhir4.CapabilityStatement>;
}

export interface FhirClientOptions {
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`; never logged, never put in an error. */
  readonly token?: string;
  /** Per attempt (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  readonly retries?: number;
  /** First backoff step (default 250 ms); step n waits up to base × 2^n, capped at `backoffMaxMs`. */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown (default 30 000 ms). */
  readonly maxRetryAfterMs?: number;
  /** Stop `searchAll` after this many pages (default 1000), against servers whose `next` never ends. */
  readonly maxPages?: number;
  /** Largest response body accepted, bytes (default 32 MiB); beyond it a {@link FhirRefusedError}. */
  readonly maxResponseBytes?: number;
  /** Redirects followed within the base URL's origin (default 3); one to another origin is refused. */
  readonly maxRedirects?: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Statuses after which a request that is safe to repeat is retried. */
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Create a {@link FhirAccess} over HTTP. */
export function createFhirClient(opts: FhirClientOptions): FhirAccess {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retries = opts.retries ?? 3;
  const baseMs = opts.backoffBaseMs ?? 250;
  const maxMs = opts.backoffMaxMs ?? 8_000;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 30_000;
  const maxPages = opts.maxPages ?? 1000;
  const limits = {
    maxResponseBytes: opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    maxRedirects: opts.maxRedirects ?? 3,
  };
  const base = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`);
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};

  /**
   * Run one interaction with retries. `repeatable`: the request may be sent twice without harm (GET,
   * PUT, conditional create); otherwise only 429 and a refused connection are retried, since a 5xx or a
   * timeout may come after the server already acted.
   */
  async function send(
    method: string,
    path: string | URL,
    repeatable: boolean,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<FhirHttpResponse> {
    const url = typeof path === 'string' ? new URL(path, base) : path;
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const headers = {
      accept: 'application/fhir+json',
      ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
      ...init.headers,
      ...auth,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        return await exchange(
          { method, url, headers, signal, ...(body !== undefined ? { body } : {}) },
          limits,
        );
      } catch (err) {
        const e = toFhirRequestError(err, method, url.href);
        const retryable =
          !(e instanceof FhirRefusedError) &&
          (e.status === 429 ||
            e.transport === 'ECONNREFUSED' ||
            (repeatable && (e.transport !== undefined || RETRY_STATUS.has(e.status ?? 0))));
        if (!retryable || attempt >= retries) throw e;
        if (e.retryAfterMs !== undefined && e.retryAfterMs > maxRetryAfterMs) throw e;
        // Exponential backoff with "equal jitter" (half fixed, half random), at least what Retry-After asks.
        const step = Math.min(maxMs, baseMs * 2 ** attempt);
        const wait = Math.max(e.retryAfterMs ?? 0, step / 2 + Math.random() * (step / 2));
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
  const data = <T>(p: Promise<FhirHttpResponse>) => p.then((r) => r.data as T);

  // async: an id refused by `checked` rejects the promise rather than throwing at the call.
  const search = async (type: ResourceType, params: FhirSearchParams = {}) => {
    const q = queryString(params);
    return data<fhir4.Bundle>(send('GET', `${checked('type', type)}${q ? `?${q}` : ''}`, true));
  };

  return {
    read: async (type, id) => data(send('GET', `${checked('type', type)}/${checked('id', id)}`, true)),
    vread: async (type, id, version) =>
      data(
        send('GET', `${checked('type', type)}/${checked('id', id)}/_history/${checked('id', version)}`, true),
      ),
    search,
    async *searchAll<K extends ResourceType>(type: K, params?: FhirSearchParams) {
      let bundle = await search(type, params);
      const seen = new Set<string>();
      for (let page = 1; ; page++) {
        for (const entry of bundle.entry ?? []) {
          if (entry.resource && entry.search?.mode !== 'include' && entry.search?.mode !== 'outcome') {
            yield entry.resource as ResourceOf<K>;
          }
        }
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        if (!next) return;
        const nextUrl = new URL(next, base);
        // The token goes only to the server it was issued for: never follow a link elsewhere.
        if (
          nextUrl.origin !== base.origin ||
          !nextUrl.pathname.startsWith(base.pathname.replace(/\/$/, ''))
        ) {
          throw new FhirRequestError(
            `GET ${withoutQuery(nextUrl.href)}: next link leaves ${base.origin}${base.pathname}`,
            undefined,
            undefined,
            'GET',
            withoutQuery(nextUrl.href),
          );
        }
        if (seen.has(nextUrl.href) || page >= maxPages) {
          throw new FhirRequestError(
            `GET ${withoutQuery(nextUrl.href)}: paging stopped after ${page} pages (loop or maxPages)`,
            undefined,
            undefined,
            'GET',
            withoutQuery(nextUrl.href),
          );
        }
        seen.add(nextUrl.href);
        bundle = await data<fhir4.Bundle>(send('GET', nextUrl, true));
      }
    },
    async create(resource, createOpts) {
      const headers: Record<string, string> = { prefer: 'return=representation' };
      if (createOpts?.ifNoneExist) headers['if-none-exist'] = createOpts.ifNoneExist;
      const res = await send('POST', checked('type', resource.resourceType), !!createOpts?.ifNoneExist, {
        body: resource,
        headers,
      });
      return withLocation(res, resource) as typeof resource;
    },
    update: async (resource) =>
      data(
        send('PUT', `${checked('type', resource.resourceType)}/${checked('id', resource.id)}`, true, {
          body: resource,
          headers: { prefer: 'return=representation' },
        }),
      ),
    transaction: (bundle) => data(send('POST', '', transactionRepeatable(bundle), { body: bundle })),
    capabilities: () => data(send('GET', 'metadata', true)),
  };
}

/** FHIR R4 id (https://hl7.org/fhir/R4/datatypes.html#id) and resource type names; `.`/`..` would walk the path. */
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const TYPE = /^[A-Z][A-Za-z]{1,63}$/;

/** A path segment from an id or type, refused unless it is one (input ids must not steer the URL). */
function checked(kind: 'id' | 'type', value: string): string {
  const ok = typeof value === 'string' && (kind === 'id' ? ID : TYPE).test(value) && !/^\.{1,2}$/.test(value);
  if (!ok)
    throw new FhirRefusedError(
      `not a FHIR ${kind}`, // the value itself stays out: it came from outside and may be logged
      'invalid-id',
      'GET',
      '',
    );
  return value;
}

/** Search parameters as a query string; an array repeats the parameter (AND). */
function queryString(params: FhirSearchParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  return q.toString();
}

/**
 * A transaction may be resent when each of its creates is conditional (`ifNoneExist`): the server's
 * rollback on error and the conditions on replay keep it from writing twice.
 */
function transactionRepeatable(bundle: fhir4.Bundle): boolean {
  return (bundle.entry ?? []).every((e) => e.request?.method !== 'POST' || !!e.request.ifNoneExist);
}

/** A server that answers a create with an empty body still names the resource in `Location`. */
function withLocation(res: FhirHttpResponse, sent: fhir4.FhirResource): fhir4.FhirResource {
  const out = res.data as { resourceType?: string };
  if (out.resourceType) return out as fhir4.FhirResource;
  const location = res.headers.get('location') ?? '';
  const m = /(?:^|\/)([A-Za-z]+)\/([^/]+)(?:\/_history\/([^/]+))?\/?$/.exec(location);
  if (!m) return sent;
  return {
    ...sent,
    id: m[2],
    ...(m[3] ? { meta: { ...sent.meta, versionId: m[3] } } : {}),
  } as fhir4.FhirResource;
}
