/** Small shared builders of the write-back. */
import { AIAST, UCUM_SYSTEM } from './codes.js';

/**
 * `meta` of every resource we write: AI-asserted, per the AI Transparency IG's resource-level tagging
 * ("Observability level 1: Tagging", build.fhir.org/ig/HL7/aitransparency-ig/general_guidance.html).
 */
export function aiMeta(tags?: readonly fhir4.Coding[]): fhir4.Meta {
  return { security: [{ ...AIAST }], ...(tags && tags.length > 0 ? { tag: [...tags] } : {}) };
}

/** A duration in UCUM seconds. */
export function seconds(value: number): fhir4.Quantity {
  return { value, unit: 's', system: UCUM_SYSTEM, code: 's' };
}

/** `Observation/<id>/_history/<v>` when the version is known (Provenance targets are usually versioned). */
export function sourceReference(observationId: string, versionId?: string): fhir4.Reference {
  return {
    reference:
      versionId !== undefined
        ? `Observation/${observationId}/_history/${versionId}`
        : `Observation/${observationId}`,
  };
}
