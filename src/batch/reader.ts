/**
 * Readers of the nightly job: they list ECG Observations (id, version, lastUpdated only; never the
 * waveforms) updated in a range, in `meta.lastUpdated` order, which the checkpoint relies on.
 * Two sources: a paged FHIR search, or Bulk Data `$export` when the server advertises it (bulk-export.ts).
 */
import type { FhirAccess } from '../fhir/client.js';
import { ECG_OBSERVATION_CODES } from '../fhir/ecg-codec.js';
import { keysetSearch } from './keyset.js';

export interface EcgRef {
  readonly id: string;
  readonly versionId?: string;
  readonly lastUpdated: string;
}

export interface ReadRange {
  /** Inclusive (a resumed run re-reads the checkpoint's instant; existence checks skip what is done). */
  readonly since?: string;
  /** Exclusive. */
  readonly until?: string;
}

export interface EcgReader {
  readonly kind: 'search' | 'bulk-export';
  read(range: ReadRange): AsyncIterable<EcgRef>;
}

/**
 * ECG Observations by search: `code` in the ECG codes, the `_lastUpdated` range, paged by a
 * `_lastUpdated` keyset (keyset.ts), never by offset.
 */
export function searchReader(fhir: Pick<FhirAccess, 'search' | 'searchAll'>, pageSize = 200): EcgReader {
  return {
    kind: 'search',
    async *read(range) {
      for await (const obs of keysetSearch(fhir, 'Observation', {
        // id and meta come with any _elements (R4 search § _elements): a page is bytes, not megabytes.
        params: { code: ECG_OBSERVATION_CODES, _elements: 'status' },
        ...(range.since ? { from: { instant: range.since, inclusive: true } } : {}),
        ...(range.until ? { until: range.until } : {}),
        pageSize,
      })) {
        const ref = refOf(obs);
        if (ref) yield ref;
      }
    },
  };
}

export function refOf(r: fhir4.Resource): EcgRef | undefined {
  if (!r.id || !r.meta?.lastUpdated) return undefined;
  return {
    id: r.id,
    ...(r.meta.versionId ? { versionId: r.meta.versionId } : {}),
    lastUpdated: r.meta.lastUpdated,
  };
}

/** Whether an Observation carries one of the ECG codes (the bulk reader filters client-side too). */
export function isEcg(obs: fhir4.Observation): boolean {
  const codes = new Set(ECG_OBSERVATION_CODES.split(','));
  return (obs.code?.coding ?? []).some((c) => codes.has(`${c.system}|${c.code}`));
}

/** Picks the bulk reader when the CapabilityStatement advertises `$export`, else search. */
export async function chooseReader(
  fhir: Pick<FhirAccess, 'search' | 'searchAll' | 'capabilities'>,
  bulk: () => EcgReader,
): Promise<EcgReader> {
  try {
    const cs = await fhir.capabilities();
    const ops = cs.rest?.flatMap((r) => r.operation ?? []) ?? [];
    if (ops.some((o) => o.name === 'export' || /bulkdata\/OperationDefinition\/export$/.test(o.definition)))
      return bulk();
  } catch {
    // no CapabilityStatement: search works on every server
  }
  return searchReader(fhir);
}
