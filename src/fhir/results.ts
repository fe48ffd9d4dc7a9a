/**
 * Our stored results in a DiagnosticReport search Bundle (searched with `_include=DiagnosticReport:result`):
 * each report we wrote, with its included Observations, read back as a StoredResult. Reports from other
 * authors and ones we cannot read are skipped (a damaged report must not break the hook).
 */
import type { ResultRef } from '../cds-hooks/services/ecg-arrhythmia.js';
import { ANALYSIS_IDENTIFIER_SYSTEM } from './write-back/codes.js';
import { parseStoredResult, StoredResultError } from './write-back/parse.js';

export function readStoredResults(bundle: fhir4.Bundle): ResultRef[] {
  const resources = (bundle.entry ?? []).flatMap((e) =>
    e?.resource ? [e.resource as fhir4.FhirResource] : [],
  );
  const out: ResultRef[] = [];
  for (const r of resources) {
    if (r.resourceType !== 'DiagnosticReport') continue;
    // Junk here is input too (issue #11): a non-array identifier is simply not ours.
    const ids: unknown = r.identifier;
    if (!Array.isArray(ids) || !ids.some((i) => i?.system === ANALYSIS_IDENTIFIER_SYSTEM)) continue;
    try {
      const result = parseStoredResult(r, resources);
      out.push({ result, ...(r.id ? { reportId: r.id } : {}) });
    } catch (err) {
      if (!(err instanceof StoredResultError)) throw err;
    }
  }
  return out;
}
