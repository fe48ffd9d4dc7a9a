/**
 * Keyset paging by `_lastUpdated` (https://hl7.org/fhir/R4/search.html#lastUpdated): sort by
 * `_lastUpdated` then `_id`, and ask for the next page with `_lastUpdated=ge<last seen>`, skipping the
 * ids already seen at that instant. Offsets (`_offset`, or `next` links built on them) shift when
 * resources are written while a long pass pages through them, so a pass can skip or repeat ECGs; a
 * keyset cannot skip one that was already there when the pass began.
 *
 * Equal timestamps: a page ending inside a run of resources with the same `_lastUpdated` is followed by
 * a page `ge` that instant, `_count` widened by the number already seen there. When the server caps
 * `_count` below that (more resources share one instant than a page holds), that one instant is read
 * with the server's own paging (`ge t` and `lt t+1 ms`: a set that no longer grows once written), and
 * the keyset goes on after it.
 */
import type { FhirAccess, FhirSearchParams, ResourceOf, ResourceType } from '../fhir/client.js';

export interface KeysetQuery {
  /** Filters and `_elements`; `_sort`, `_count` and `_lastUpdated` are set here. */
  readonly params?: FhirSearchParams;
  /** Lower bound on `meta.lastUpdated`. */
  readonly from?: { readonly instant: string; readonly inclusive: boolean };
  /** Exclusive upper bound on `meta.lastUpdated`. */
  readonly until?: string;
  /** Resources per page (default 200). */
  readonly pageSize?: number;
}

export class KeysetError extends Error {
  override readonly name = 'KeysetError';
}

/** Every resource of `type` matching the query, in (`meta.lastUpdated`, id) order, each once. */
export async function* keysetSearch<K extends ResourceType>(
  fhir: Pick<FhirAccess, 'search' | 'searchAll'>,
  type: K,
  q: KeysetQuery = {},
): AsyncGenerator<ResourceOf<K>> {
  const pageSize = q.pageSize ?? 200;
  let lower = q.from ? `${q.from.inclusive ? 'ge' : 'gt'}${q.from.instant}` : undefined;
  /** The last instant yielded and the ids yielded at it. */
  let boundary: string | undefined;
  const atBoundary = new Set<string>();
  const upper = q.until ? [`lt${q.until}`] : [];

  for (;;) {
    // Room for the boundary's already-seen resources (they come first again) plus a page of new ones.
    const count = pageSize + atBoundary.size;
    const bundle = await fhir.search(type, {
      ...q.params,
      _sort: '_lastUpdated,_id',
      _count: count,
      ...(lower || upper.length ? { _lastUpdated: [...(lower ? [lower] : []), ...upper] } : {}),
    });
    const page = matches<K>(bundle);
    let fresh = 0;
    for (const r of page) {
      const at = r.meta?.lastUpdated;
      if (!r.id || !at) continue; // no key: a server that omits meta.lastUpdated cannot be paged this way
      if (at === boundary && atBoundary.has(r.id)) continue;
      if (boundary !== undefined && Date.parse(at) < Date.parse(boundary))
        throw new KeysetError(`${type} search is not sorted by _lastUpdated (${at} after ${boundary})`);
      if (at !== boundary) {
        boundary = at;
        atBoundary.clear();
      }
      atBoundary.add(r.id);
      fresh++;
      yield r;
    }
    const more = bundle.link?.some((l) => l.relation === 'next') ?? false;
    if (fresh === 0) {
      // Nothing new: either the end, or the server capped `_count` below the run at the boundary.
      if (!more || boundary === undefined) return;
      yield* sameInstant(fhir, type, q, boundary, atBoundary, pageSize);
      lower = `ge${afterInstant(boundary)}`;
      boundary = undefined;
      atBoundary.clear();
      continue;
    }
    if (page.length < count && !more) return;
    lower = `ge${boundary}`;
  }
}

/** The resources at one instant not seen yet, by the server's paging over that fixed set. */
async function* sameInstant<K extends ResourceType>(
  fhir: Pick<FhirAccess, 'searchAll'>,
  type: K,
  q: KeysetQuery,
  instant: string,
  seen: ReadonlySet<string>,
  pageSize: number,
): AsyncGenerator<ResourceOf<K>> {
  for await (const r of fhir.searchAll(type, {
    ...q.params,
    _sort: '_id',
    _count: pageSize,
    _lastUpdated: [`ge${instant}`, `lt${afterInstant(instant)}`],
  })) {
    if (r.id && !seen.has(r.id)) yield r;
  }
}

/** The next millisecond after `instant` (FHIR instants carry at least millisecond precision here). */
function afterInstant(instant: string): string {
  return new Date(Date.parse(instant) + 1).toISOString();
}

function matches<K extends ResourceType>(bundle: fhir4.Bundle): ResourceOf<K>[] {
  return (bundle.entry ?? [])
    .filter((e) => e.resource && (e.search?.mode ?? 'match') === 'match')
    .map((e) => e.resource as ResourceOf<K>);
}
