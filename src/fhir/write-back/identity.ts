/**
 * Deterministic identity of what the write-back stores: one analysis = one source Observation version ×
 * one model-set version. Every resource gets an identifier (or, for Provenance, a tag) derived from that
 * pair, so a replayed trigger's transaction matches its `ifNoneExist` and creates nothing new
 * (https://hl7.org/fhir/R4/http.html#ccreate).
 */
import { createHash } from 'node:crypto';
import type { ModelSet, SourceEcg } from '../stored-result.js';
import {
  ANALYSIS_IDENTIFIER_SYSTEM,
  ANALYSIS_PART_IDENTIFIER_SYSTEM,
  MODEL_IDENTIFIER_SYSTEM,
  PROVENANCE_TAG_SYSTEM,
} from './codes.js';

/**
 * Hex digest of the analysis' inputs. Hashed rather than spelled out: model versions contain `+` and `@`,
 * which would need escaping in every `identifier=system|value` query string (URLSearchParams reads `+` as
 * a space), and a fixed-length key keeps identifiers short.
 */
export function analysisKey(
  source: Pick<SourceEcg, 'observationId' | 'versionId'>,
  modelVersion: string,
): string {
  return digest(['analysis', source.observationId, source.versionId ?? '', modelVersion]);
}

/** The DiagnosticReport's identifier for one analysis (source Observation id + version + model version). */
export function analysisIdentifier(
  source: Pick<SourceEcg, 'observationId' | 'versionId'>,
  modelVersion: string,
): fhir4.Identifier {
  return { system: ANALYSIS_IDENTIFIER_SYSTEM, value: analysisKey(source, modelVersion) };
}

/** Identifier of one Observation of an analysis, e.g. part `hr`, `finding-0`, `count-V`. */
export function partIdentifier(key: string, part: string): fhir4.Identifier {
  return { system: ANALYSIS_PART_IDENTIFIER_SYSTEM, value: `${key}.${part}` };
}

/** Identifier of the Device standing for one model set: the same for every analysis with that version. */
export function modelIdentifier(models: ModelSet): fhir4.Identifier {
  return { system: MODEL_IDENTIFIER_SYSTEM, value: digest(['model', models.name, models.version]) };
}

/** The Provenance's stand-in for an identifier (R4 Provenance has none): a `meta.tag`. */
export function provenanceTag(key: string): fhir4.Coding {
  return { system: PROVENANCE_TAG_SYSTEM, code: key };
}

/** `ifNoneExist` query for an identifier (token search `system|value`, values percent-encoded). */
export function identifierQuery(identifier: fhir4.Identifier): string {
  return `identifier=${encodeURIComponent(`${identifier.system ?? ''}|${identifier.value ?? ''}`)}`;
}

/** `ifNoneExist` query for a tag. */
export function tagQuery(tag: fhir4.Coding): string {
  return `_tag=${encodeURIComponent(`${tag.system ?? ''}|${tag.code ?? ''}`)}`;
}

/**
 * A deterministic `urn:uuid:` for a transaction entry's fullUrl: an RFC 9562 version-5 (name-based, SHA-1)
 * UUID of the identifier, so building twice gives the same Bundle.
 */
export function entryFullUrl(system: string, value: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${system}|${value}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Search parameters for the DiagnosticReport of one analysis, with its result Observations. */
export function reportSearchForAnalysis(
  source: Pick<SourceEcg, 'observationId' | 'versionId'>,
  modelVersion: string,
): Record<string, string> {
  const id = analysisIdentifier(source, modelVersion);
  return { identifier: `${id.system}|${id.value}`, _include: 'DiagnosticReport:result' };
}

/**
 * Search parameters for a patient's recent reports written by us (any model version): a system-only token
 * `identifier=<system>|` matches every analysis identifier (https://hl7.org/fhir/R4/search.html#token).
 */
export function reportSearchForPatient(patientId: string, count = 5): Record<string, string> {
  return {
    subject: `Patient/${patientId}`,
    identifier: `${ANALYSIS_IDENTIFIER_SYSTEM}|`,
    _sort: '-issued',
    _count: String(count),
    _include: 'DiagnosticReport:result',
  };
}

/** Namespace of our v5 UUIDs (a fixed random UUID's bytes). */
const NAMESPACE = Buffer.from('6f1c2a7e9b3d4c58a0e2d47b91c3f605', 'hex');

function digest(parts: readonly string[]): string {
  // JSON of the array: unambiguous whatever characters the parts contain.
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
