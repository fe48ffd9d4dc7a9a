/**
 * Search over the in-memory store: filter with @medplum/core's matcher, then sort and page.
 * https://hl7.org/fhir/R4/search.html
 *
 * Deliberate deviation from medplum's MemoryRepository (which silently returns nothing for them):
 * parameters this engine cannot evaluate are a 400, so a demo never shows a quietly wrong, empty list.
 */
import type { SearchRequest, SortRule } from '@medplum/core';
import {
  badRequest,
  DEFAULT_MAX_SEARCH_COUNT,
  DEFAULT_SEARCH_COUNT,
  evalFhirPath,
  getSearchParameter,
  matchesSearchRequest,
  OperationOutcomeError,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

/** Search parameter types @medplum/core's `matchesSearchRequest` evaluates (see its match.ts). */
const MATCHABLE_TYPES = new Set(['reference', 'string', 'uri', 'token', 'date']);
const PRESENCE_OPERATORS = new Set(['missing', 'present']);

/** Page size when the client sends no `_count` (medplum's and HAPI's default). */
export const DEFAULT_PAGE_SIZE = DEFAULT_SEARCH_COUNT;
/** Largest page served; a bigger `_count` is reduced to this (FHIR lets servers return fewer). */
export const MAX_PAGE_SIZE = DEFAULT_MAX_SEARCH_COUNT;

export interface Page<T> {
  readonly matches: readonly T[];
  readonly total: number;
}

/** The page size and offset a request asks for, after defaults and limits. */
export function pageOf(request: Pick<SearchRequest, 'count' | 'offset'>): { count: number; offset: number } {
  const count = Number.isFinite(request.count) ? (request.count as number) : DEFAULT_PAGE_SIZE;
  const offset = Number.isFinite(request.offset) ? (request.offset as number) : 0;
  if (count < 0 || offset < 0) throw new OperationOutcomeError(badRequest('_count and _offset must be ≥ 0'));
  return { count: Math.min(count, MAX_PAGE_SIZE), offset };
}

/** Reject what the in-memory matcher cannot evaluate, before matching anything. */
export function assertSupported(request: SearchRequest): void {
  if (request.revInclude?.length) {
    throw new OperationOutcomeError(badRequest('_revinclude is not supported by the dev server'));
  }
  for (const inc of request.include ?? []) {
    if (inc.modifier === 'iterate')
      throw new OperationOutcomeError(badRequest('_include:iterate is not supported'));
    const param = getSearchParameter(inc.resourceType, inc.searchParam);
    if (inc.resourceType !== request.resourceType || param?.type !== 'reference') {
      throw new OperationOutcomeError(
        badRequest(
          `_include=${inc.resourceType}:${inc.searchParam} is not a reference parameter of ${request.resourceType}`,
        ),
      );
    }
  }
  if (request.cursor) throw new OperationOutcomeError(badRequest('_cursor is not supported; use _offset'));
  for (const filter of request.filters ?? []) {
    if (filter.code === '_has' || filter.code.includes('.')) {
      throw new OperationOutcomeError(
        badRequest(`Chained and _has searches are not supported: ${filter.code}`),
      );
    }
    const param = getSearchParameter(request.resourceType, filter.code);
    if (!param) {
      throw new OperationOutcomeError(
        badRequest(`Unknown search parameter for ${request.resourceType}: ${filter.code}`),
      );
    }
    if (!MATCHABLE_TYPES.has(param.type as string) && !PRESENCE_OPERATORS.has(filter.operator)) {
      throw new OperationOutcomeError(
        badRequest(`Search parameter ${filter.code} (type ${param.type}) is not supported by the dev server`),
      );
    }
  }
  for (const rule of request.sortRules ?? []) {
    if (!getSearchParameter(request.resourceType, rule.code)) {
      throw new OperationOutcomeError(
        badRequest(`Unknown sort parameter for ${request.resourceType}: ${rule.code}`),
      );
    }
  }
}

/** Filter, sort and page `resources` (all of `request.resourceType`). */
export function searchIn<T extends Resource>(resources: Iterable<T>, request: SearchRequest): Page<T> {
  assertSupported(request);
  const { count, offset } = pageOf(request);
  const quick = tokenPrefilter(request);
  let matches = narrowBySubject(resources, request).filter(
    (r) => quick(r) && matchesSearchRequest(r, request),
  );
  if (request.sortRules?.length) matches = sortBy(matches, request.resourceType, request.sortRules);
  return { matches: matches.slice(offset, offset + count), total: matches.length };
}

/**
 * A cheap necessary condition for `identifier=` and `code=` token filters (`[system|]value[,…]`), checked
 * before the matcher: FHIRPath over a stored 12-lead ECG costs ~2 ms, and each conditional create of a
 * write-back searches Observations by identifier, so without it a write-back slowed linearly with the
 * stored ECGs (~1 s each at 50 ECGs). Rejects only resources with no identifier value / code (compared
 * case-insensitively) equal to one of the filter's; the matcher decides the rest.
 */
const TOKEN_VALUES: Readonly<Record<string, (r: Resource) => unknown[] | undefined>> = {
  // Identifier[] on most types, a single Identifier on some (Bundle, QuestionnaireResponse).
  identifier: (r) => {
    const ids = (r as { identifier?: unknown }).identifier;
    return ids === undefined ? [] : [ids].flat().map((i) => (i as { value?: unknown })?.value);
  },
  // A CodeableConcept on most types; anything else (SearchParameter.code is a string): undefined.
  code: (r) => {
    const code = (r as { code?: { coding?: unknown } }).code;
    if (code === undefined) return [];
    return Array.isArray(code.coding) ? code.coding.map((c) => (c as { code?: unknown })?.code) : undefined;
  },
};

function tokenPrefilter(request: SearchRequest): (r: Resource) => boolean {
  const checks: Array<(r: Resource) => boolean> = [];
  for (const f of request.filters ?? []) {
    const valuesOf = TOKEN_VALUES[f.code];
    if (!valuesOf || f.operator !== 'eq') continue;
    const wanted = new Set(f.value.split(',').map((v) => v.slice(v.indexOf('|') + 1).toLowerCase()));
    if (wanted.has('')) continue; // `system|` matches any value
    checks.push((r) => {
      const values = valuesOf(r);
      return values === undefined || values.some((v) => typeof v === 'string' && wanted.has(v.toLowerCase()));
    });
  }
  return (r) => checks.every((check) => check(r));
}

type SortKey = number | string | undefined;

function sortBy<T extends Resource>(resources: T[], resourceType: string, rules: readonly SortRule[]): T[] {
  // Decorate once: FHIRPath over a union expression is the costly part.
  const keyed = resources.map((resource) => ({
    resource,
    keys: rules.map((rule) => sortKey(resource, resourceType, rule.code)),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < rules.length; i++) {
      const c = compareKeys(a.keys[i], b.keys[i], rules[i]?.descending ?? false);
      if (c !== 0) return c;
    }
    return 0;
  });
  return keyed.map((k) => k.resource);
}

/** Missing values sort last in either direction. */
function compareKeys(a: SortKey, b: SortKey, descending: boolean): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return descending ? -c : c;
}

function sortKey(resource: Resource, resourceType: string, code: string): SortKey {
  const param = getSearchParameter(resourceType, code);
  if (!param?.expression) return undefined;
  const first = evalFhirPath(param.expression, resource)[0] as unknown;
  if (first === undefined || first === null) return undefined;
  switch (param.type) {
    case 'date': {
      // dateTime, instant, date or Period (sorted by its start).
      const text = typeof first === 'string' ? first : (first as { start?: string; end?: string }).start;
      const ms = text ? Date.parse(text) : Number.NaN;
      return Number.isNaN(ms) ? undefined : ms;
    }
    case 'number':
    case 'quantity':
      return typeof first === 'number' ? first : (first as { value?: number }).value;
    default:
      return typeof first === 'string' ? first : tokenText(first);
  }
}

function tokenText(value: unknown): string | undefined {
  const v = value as { coding?: { code?: string }[]; code?: string; value?: string; reference?: string };
  return v.coding?.[0]?.code ?? v.code ?? v.value ?? v.reference;
}

/**
 * `_include` (https://hl7.org/fhir/R4/search.html#include): the references that the matches' reference
 * parameter points at, as `Type/id` strings (a versioned reference names its resource too), in order,
 * without duplicates. The caller resolves them against its store.
 */
export function includeReferences(matches: readonly Resource[], request: SearchRequest): string[] {
  const out = new Set<string>();
  for (const inc of request.include ?? []) {
    const param = getSearchParameter(inc.resourceType, inc.searchParam);
    if (!param?.expression) continue;
    for (const resource of matches) {
      for (const v of evalFhirPath(param.expression, resource) as Array<{ reference?: string }>) {
        const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(v?.reference ?? '');
        if (m && (!inc.targetType || inc.targetType === m[1])) out.add(`${m[1]}/${m[2]}`);
      }
    }
  }
  return [...out];
}

/**
 * A cheap pre-filter before medplum's matcher (FHIRPath per resource, ~40 µs each): a plain
 * `subject=Type/id` (or `patient=`) search keeps only resources whose subject reference ends with it.
 * The matcher still decides; this only skips resources that cannot match. Every CDS hook call searches
 * by subject, so this keeps the hook's FHIR queries flat as the demo store grows.
 */
function narrowBySubject<T extends Resource>(resources: Iterable<T>, request: SearchRequest): T[] {
  const all = [...resources];
  const f = request.filters?.find(
    (x) => x.code === 'subject' && x.operator === 'eq' && !x.value.includes(',') && x.value.includes('/'),
  );
  if (!f) return all;
  return all.filter((r) => {
    const ref = (r as { subject?: { reference?: string } }).subject?.reference;
    return ref !== undefined && (ref === f.value || ref.endsWith(`/${f.value}`));
  });
}
