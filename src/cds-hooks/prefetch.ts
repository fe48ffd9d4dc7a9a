/**
 * Prefetch resolution per CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#prefetch-template):
 * - key present with a resource → use it;
 * - key present with `null` → the client had no data for it: it exists and is empty, do not re-query;
 * - key present with an OperationOutcome → the client tried and failed; the spec sends it "to prevent
 *   the CDS Service from incurring an unneeded follow-up query", so we do not re-query either;
 * - key absent → the client did not prefetch it: query `fhirServer` with `fhirAuthorization` ourselves.
 * Prefetched data is client input: a value that is no Bundle (nor OperationOutcome), or a Bundle whose
 * entries are not objects, is a 400 naming `prefetch.<key>…`. A Bundle the FHIR server returned that is
 * malformed is a failed query instead (the server's fault, not the caller's).
 */
import { z } from 'zod';
import { firstIssue } from './request.js';
import { CdsError, type CdsRequest } from './types.js';

// The schemas below only check (their parsed copies are not used): plain, stripping objects, so that a
// check does not copy every other key of every entry and resource of a 50 KB prefetch (issue #14).

/** What the hook reads of a search Bundle (https://hl7.org/fhir/R4/bundle.html): entries and their resources. */
const searchBundleSchema = z.object({
  resourceType: z.literal('Bundle'),
  entry: z.array(z.object({ resource: z.object({ resourceType: z.string() }).optional() })).optional(),
});

/** R4 `id` (https://hl7.org/fhir/R4/datatypes.html#id). */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** R4 `dateTime` and `instant` (https://hl7.org/fhir/R4/datatypes.html#dateTime), the spec's regexes. */
const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const TIME =
  'T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const DATE_TIME = new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(${TIME})?)?)?$`);
const INSTANT = new RegExp(`^${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])${TIME}$`);
const dateTime = z.string().regex(DATE_TIME, 'must be a FHIR dateTime');

/**
 * The parts of an ECG Observation the hook itself reads or writes back (id, version, tags, subject,
 * effective time) and the shape of its waveform elements; the waveform's contents are the decoder's
 * (ecg-codec-schema.ts). `id` is checked apart: see {@link ecgObservationId}.
 */
const ecgEnvelopeSchema = z.object({
  meta: z
    .object({
      versionId: z.string().regex(FHIR_ID, 'must be a FHIR id').optional(),
      tag: z.array(z.object({ system: z.string().optional(), code: z.string().optional() })).optional(),
    })
    .optional(),
  subject: z.object({ reference: z.string().optional() }).optional(),
  effectiveDateTime: dateTime.optional(),
  effectiveInstant: z.string().regex(INSTANT, 'must be a FHIR instant').optional(),
  effectivePeriod: z.object({ start: dateTime.optional() }).optional(),
  valueSampledData: z.object({}).optional(),
  component: z.array(z.object({})).optional(),
});

/**
 * The Observation's logical id: undefined when it has none (nothing to link or analyse: skipped); a
 * 400 naming `field` when it is not a FHIR id (it goes into URLs and card links).
 */
export function ecgObservationId(obs: { id?: unknown }, field: string): string | undefined {
  if (obs.id === undefined) return undefined;
  if (typeof obs.id !== 'string' || !FHIR_ID.test(obs.id))
    throw new CdsError(400, `${field}.id: must be a FHIR id`, `${field}.id`);
  return obs.id;
}

/** Why the hook cannot use this ECG Observation as it stands (`field: problem`), or undefined. */
export function ecgEnvelopeProblem(obs: unknown): string | undefined {
  const r = ecgEnvelopeSchema.safeParse(obs);
  return r.success ? undefined : firstIssue(r.error).message;
}

/** The slice of a FHIR client the hook needs (src/fhir/client.ts implements it). */
export interface ResourceSearcher {
  search(resourceType: string, params: Record<string, string>): Promise<fhir4.Bundle>;
  /** Read one resource (the full ECG when the search returned it without its waveform). */
  read(resourceType: 'Observation', id: string): Promise<fhir4.Observation>;
}

export type Prefetched =
  | { readonly kind: 'bundle'; readonly bundle: fhir4.Bundle; readonly via: 'prefetch' | 'query' }
  | { readonly kind: 'empty'; readonly via: 'prefetch' }
  | { readonly kind: 'failed'; readonly via: 'prefetch' | 'query'; readonly why: string }
  | { readonly kind: 'unavailable' };

export interface Query {
  readonly resourceType: string;
  readonly params: Record<string, string>;
}

/**
 * How long our own query may take (issue #13): each attempt gets at most `attemptMs`, and a failed or
 * late attempt is retried once while `now()` is before `until` (an absolute time on the same clock).
 * Without it the query is tried once, bounded only by the FHIR client's own timeout.
 */
export interface QueryTiming {
  readonly attemptMs: number;
  readonly until: number;
  readonly now: () => number;
}

export async function resolvePrefetch(
  request: CdsRequest,
  key: string,
  query: Query,
  fhir: ResourceSearcher | undefined,
  timing?: QueryTiming,
): Promise<Prefetched> {
  const prefetch = request.prefetch;
  if (prefetch && Object.hasOwn(prefetch, key)) {
    const value = prefetch[key];
    if (value === null) return { kind: 'empty', via: 'prefetch' };
    const rt = (value as { resourceType?: unknown } | undefined)?.resourceType;
    if (rt === 'OperationOutcome')
      return { kind: 'failed', via: 'prefetch', why: 'client reported an error' };
    const field = `prefetch.${key}`;
    if (rt !== 'Bundle')
      throw new CdsError(400, `${field}: must be a search Bundle, an OperationOutcome or null`, field);
    const r = searchBundleSchema.safeParse(value);
    if (!r.success) {
      const { field: at, message } = firstIssue(r.error, field);
      throw new CdsError(400, message, at);
    }
    return { kind: 'bundle', bundle: value as fhir4.Bundle, via: 'prefetch' };
  }
  if (!fhir) return { kind: 'unavailable' };
  let bundle: fhir4.Bundle;
  try {
    bundle = await searchTimed(fhir, query, timing);
  } catch (err) {
    return { kind: 'failed', via: 'query', why: (err as Error).message };
  }
  const r = searchBundleSchema.safeParse(bundle);
  if (!r.success)
    return { kind: 'failed', via: 'query', why: `search Bundle ${firstIssue(r.error).message}` };
  return { kind: 'bundle', bundle, via: 'query' };
}

/** The search, within `timing`: a second attempt after a failure or a late answer, while time is left. */
async function searchTimed(
  fhir: ResourceSearcher,
  query: Query,
  timing: QueryTiming | undefined,
): Promise<fhir4.Bundle> {
  if (!timing) return fhir.search(query.resourceType, query.params);
  for (let attempt = 1; ; attempt++) {
    const ms = Math.min(timing.attemptMs, timing.until - timing.now());
    try {
      return await withTimeout(fhir.search(query.resourceType, query.params), ms);
    } catch (err) {
      if (attempt >= 2 || !isWorthRetrying(err) || timing.until - timing.now() <= 0) throw err;
    }
  }
}

/** A refusal (4xx other than 408/429) answers the same the second time; anything else may not. */
function isWorthRetrying(err: unknown): boolean {
  const status = (err as { status?: unknown } | undefined)?.status;
  return !(typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429);
}

/**
 * `p`, or a rejection after `ms`. The late request is not aborted (the searcher takes no signal): it
 * ends at the FHIR client's own timeout, and its outcome is ignored.
 */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) {
    p.catch(() => {});
    return Promise.reject(new Error('no time left for the query'));
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`query took longer than ${Math.round(ms)} ms`)), ms);
  });
  p.catch(() => {});
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

type ResourceOf<T> = Extract<fhir4.FhirResource, { resourceType: T }>;

/** Resources of one type in a search Bundle with their entry index (for field paths), in the server's order. */
export function indexedEntriesOf<T extends fhir4.FhirResource['resourceType']>(
  bundle: fhir4.Bundle,
  type: T,
): Array<[number, ResourceOf<T>]> {
  const out: Array<[number, ResourceOf<T>]> = [];
  (bundle.entry ?? []).forEach((e, i) => {
    if (e?.resource?.resourceType === type) out.push([i, e.resource as ResourceOf<T>]);
  });
  return out;
}
