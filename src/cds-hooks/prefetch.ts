/**
 * Prefetch resolution per CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#prefetch-template):
 * - key present with a resource → use it;
 * - key present with `null` → the client had no data for it: it exists and is empty, do not re-query;
 * - key present with an OperationOutcome → the client tried and failed; the spec sends it "to prevent
 *   the CDS Service from incurring an unneeded follow-up query", so we do not re-query either;
 * - key absent → the client did not prefetch it: query `fhirServer` with `fhirAuthorization` ourselves.
 */
import type { CdsRequest } from './types.js';

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

export async function resolvePrefetch(
  request: CdsRequest,
  key: string,
  query: Query,
  fhir: ResourceSearcher | undefined,
): Promise<Prefetched> {
  const prefetch = request.prefetch;
  if (prefetch && Object.hasOwn(prefetch, key)) {
    const value = prefetch[key];
    if (value === null) return { kind: 'empty', via: 'prefetch' };
    const rt = (value as { resourceType?: unknown } | undefined)?.resourceType;
    if (rt === 'Bundle') return { kind: 'bundle', bundle: value as fhir4.Bundle, via: 'prefetch' };
    if (rt === 'OperationOutcome')
      return { kind: 'failed', via: 'prefetch', why: 'client reported an error' };
    return {
      kind: 'failed',
      via: 'prefetch',
      why: `expected a Bundle, got ${typeof rt === 'string' ? rt : typeof value}`,
    };
  }
  if (!fhir) return { kind: 'unavailable' };
  try {
    return { kind: 'bundle', bundle: await fhir.search(query.resourceType, query.params), via: 'query' };
  } catch (err) {
    return { kind: 'failed', via: 'query', why: (err as Error).message };
  }
}

/** Resources of one type in a search Bundle, in the server's order. */
export function entriesOf<T extends fhir4.FhirResource['resourceType']>(
  bundle: fhir4.Bundle,
  type: T,
): Array<Extract<fhir4.FhirResource, { resourceType: T }>> {
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Extract<fhir4.FhirResource, { resourceType: T }> => r?.resourceType === type);
}
