/**
 * Bundle paging links and `fullUrl`s, absolute under the server's public base URL.
 * https://hl7.org/fhir/R4/http.html#paging and https://hl7.org/fhir/R4/bundle.html#bundle-link
 */
import { parseSearchRequest } from '@medplum/core';
import { pageOf } from './search.js';

export type Query = Record<string, string | string[] | undefined>;

/** `self`, `first`, `previous` and `next` links for one searchset page, keeping the client's other parameters. */
export function searchLinks(
  baseUrl: string,
  resourceType: string,
  query: Query,
  total: number,
): fhir4.BundleLink[] {
  const { count, offset } = pageOf(parseSearchRequest(resourceType, query));
  const at = (newOffset: number): string => `${baseUrl}/${resourceType}?${withPage(query, count, newOffset)}`;
  const links: fhir4.BundleLink[] = [
    { relation: 'self', url: at(offset) },
    { relation: 'first', url: at(0) },
  ];
  if (offset > 0 && count > 0) links.push({ relation: 'previous', url: at(Math.max(0, offset - count)) });
  if (count > 0 && offset + count < total) links.push({ relation: 'next', url: at(offset + count) });
  return links;
}

/** Adds `fullUrl` to each entry that carries a resource with an id. */
export function withFullUrls(baseUrl: string, bundle: fhir4.Bundle): fhir4.Bundle {
  if (!bundle.entry) return bundle;
  return {
    ...bundle,
    entry: bundle.entry.map((e) =>
      e.resource?.id && !e.fullUrl
        ? { fullUrl: `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`, ...e }
        : e,
    ),
  };
}

function withPage(query: Query, count: number, offset: number): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key === '_count' || key === '_offset' || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  params.set('_count', String(count));
  params.set('_offset', String(offset));
  return params.toString();
}
