/**
 * FHIR access layer: the small {@link FhirAccess} interface the rest of the service uses, and
 * {@link createFhirClient}, its implementation on fhir-kit-client (https://github.com/Vermonster/fhir-kit-client)
 * with a bearer token, a timeout per attempt, and retries with exponential backoff and jitter.
 * FHIR R4 REST: https://hl7.org/fhir/R4/http.html
 */
import { Client, type FhirResource, type RequestOptions, type SearchParams } from 'fhir-kit-client';
import { FhirRequestError, toFhirRequestError, withoutQuery } from './client-errors.js';

export { FhirRequestError } from './client-errors.js';

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
}

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
  const kit = new Client({ baseUrl: opts.baseUrl, ...(opts.token ? { bearerToken: opts.token } : {}) });
  const base = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`);

  /**
   * Run one interaction with retries. `repeatable`: the request may be sent twice without harm (GET,
   * PUT, conditional create); otherwise only 429 and a refused connection are retried, since a 5xx or a
   * timeout may come after the server already acted.
   */
  async function send<T>(
    method: string,
    url: string,
    repeatable: boolean,
    run: (o: RequestOptions) => Promise<FhirResource>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await run({ signal: AbortSignal.timeout(timeoutMs) })) as unknown as T;
      } catch (err) {
        const e = toFhirRequestError(err, method, new URL(url, base).href);
        const retryable =
          e.status === 429 ||
          e.transport === 'ECONNREFUSED' ||
          (repeatable && (e.transport !== undefined || RETRY_STATUS.has(e.status ?? 0)));
        if (!retryable || attempt >= retries) throw e;
        if (e.retryAfterMs !== undefined && e.retryAfterMs > maxRetryAfterMs) throw e;
        // Exponential backoff with "equal jitter" (half fixed, half random), at least what Retry-After asks.
        const step = Math.min(maxMs, baseMs * 2 ** attempt);
        const wait = Math.max(e.retryAfterMs ?? 0, step / 2 + Math.random() * (step / 2));
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  const search = (type: ResourceType, params: FhirSearchParams = {}) =>
    send<fhir4.Bundle>('GET', type, true, (options) =>
      kit.resourceSearch({ resourceType: type, searchParams: params as SearchParams, options }),
    );

  return {
    read: (type, id) =>
      send('GET', `${type}/${id}`, true, (options) => kit.read({ resourceType: type, id, options })),
    vread: (type, id, version) =>
      send('GET', `${type}/${id}/_history/${version}`, true, (options) =>
        kit.vread({ resourceType: type, id, version, options }),
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
        bundle = await send<fhir4.Bundle>('GET', nextUrl.href, true, (options) =>
          kit.request(nextUrl.href, { options }),
        );
      }
    },
    async create(resource, createOpts) {
      const headers: Record<string, string> = { prefer: 'return=representation' };
      if (createOpts?.ifNoneExist) headers['if-none-exist'] = createOpts.ifNoneExist;
      const out = await send<fhir4.FhirResource>(
        'POST',
        resource.resourceType,
        !!createOpts?.ifNoneExist,
        (o) =>
          kit.create({
            resourceType: resource.resourceType,
            body: kitBody(resource),
            options: { ...o, headers },
          }),
      );
      return withLocation(out, resource) as typeof resource;
    },
    update: (resource) =>
      send('PUT', `${resource.resourceType}/${resource.id}`, true, (options) =>
        kit.update({
          resourceType: resource.resourceType,
          id: resource.id,
          body: kitBody(resource),
          options: { ...options, headers: { prefer: 'return=representation' } },
        }),
      ),
    transaction: (bundle) =>
      send('POST', '', transactionRepeatable(bundle), (options) =>
        kit.transaction({ body: kitBody(bundle), options }),
      ),
    capabilities: () => send('GET', 'metadata', true, (options) => kit.capabilityStatement(options)),
  };
}

/** fhir-kit-client types bodies as an open record; @types/fhir resources are closed interfaces. */
const kitBody = (r: fhir4.FhirResource): FhirResource => r as unknown as FhirResource;

/**
 * A transaction may be resent when each of its creates is conditional (`ifNoneExist`): the server's
 * rollback on error and the conditions on replay keep it from writing twice.
 */
function transactionRepeatable(bundle: fhir4.Bundle): boolean {
  return (bundle.entry ?? []).every((e) => e.request?.method !== 'POST' || !!e.request.ifNoneExist);
}

/** A server that answers a create with an empty body still names the resource in `Location`. */
function withLocation(out: fhir4.FhirResource | Record<string, never>, sent: fhir4.FhirResource) {
  if ((out as { resourceType?: string }).resourceType) return out;
  const location = Client.httpFor(out as FhirResource).response?.headers.get('location') ?? '';
  const m = /(?:^|\/)([A-Za-z]+)\/([^/]+)(?:\/_history\/([^/]+))?\/?$/.exec(location);
  if (!m) return sent;
  return { ...sent, id: m[2], ...(m[3] ? { meta: { ...sent.meta, versionId: m[3] } } : {}) };
}
