/**
 * Origin allow-lists: which FHIR servers a CDS hook call may send us to (its `fhirServer`, with the
 * client's access token), and where card links may point. CDS Hooks 2.0 lets the client name any
 * `fhirServer` (https://cds-hooks.hl7.org/2.0/#http-request_1); a service that queries it unchecked is
 * a server-side request forgery relay that also hands the client's token to whoever is named.
 * Origins compare exactly (scheme, host, port), after URL normalisation (case, default ports).
 */

/** The origin of an absolute http(s) URL without credentials, or undefined for anything else. */
export function httpOrigin(url: unknown): string | undefined {
  if (typeof url !== 'string' || !URL.canParse(url)) return undefined;
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username || u.password) return undefined;
  return u.origin;
}

export class OriginAllowList {
  private readonly origins: ReadonlySet<string>;

  /** `origins`: origins or URLs (only their origin counts); entries that are neither are ignored. */
  constructor(origins: Iterable<string>) {
    const set = new Set<string>();
    for (const o of origins) {
      const origin = httpOrigin(o);
      if (origin) set.add(origin);
    }
    this.origins = set;
  }

  /** True for an absolute http(s) URL (no credentials) whose origin is on the list. */
  allows(url: unknown): boolean {
    const origin = httpOrigin(url);
    return origin !== undefined && this.origins.has(origin);
  }

  get list(): readonly string[] {
    return [...this.origins];
  }
}
