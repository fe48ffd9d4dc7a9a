/**
 * `_elements` on searches (https://hl7.org/fhir/R4/search.html#elements): matched resources keep only
 * the named top-level elements (a choice name such as `effective` keeps `effectiveDateTime` etc.), plus
 * `resourceType`, `id` and `meta`, and are tagged SUBSETTED. Included resources are left whole.
 * The CDS hook asks for ECG Observations without their waveforms this way: a card needs only ids,
 * versions and dates, and a 5-ECG page shrinks from megabytes to a few hundred bytes.
 */
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

export function parseElements(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return names.length ? names : undefined;
}

export function subsetResource(resource: fhir4.Resource, names: readonly string[]): fhir4.Resource {
  const out: Record<string, unknown> = { resourceType: resource.resourceType };
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType') continue;
    const keep =
      key === 'id' ||
      key === 'meta' ||
      names.some((n) => key === n || (key.startsWith(n) && /^[A-Z]/.test(key.slice(n.length))));
    if (keep) out[key] = value;
  }
  const meta = (out['meta'] as fhir4.Meta | undefined) ?? {};
  out['meta'] = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return out as unknown as fhir4.Resource;
}

export function subsetBundle(bundle: fhir4.Bundle, names: readonly string[]): fhir4.Bundle {
  if (!bundle.entry) return bundle;
  return {
    ...bundle,
    entry: bundle.entry.map((e) =>
      e.resource && e.search?.mode !== 'include' ? { ...e, resource: subsetResource(e.resource, names) } : e,
    ),
  };
}
