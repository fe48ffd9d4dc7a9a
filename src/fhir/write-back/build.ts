/**
 * Write-back of one analysed ECG (issue #4, item 6) as ONE transaction Bundle
 * (https://hl7.org/fhir/R4/http.html#transaction): the model Device, the DiagnosticReport, its result
 * Observations and a Provenance. Every entry is a conditional create (`ifNoneExist`) on an identifier
 * derived from source Observation id + version + model version, so a replayed trigger creates nothing new;
 * entries reference each other through deterministic `urn:uuid:` fullUrls, which the server rewrites.
 * `parseStoredResult` (parse.ts) reads the same StoredResult back.
 */
import { formatConfidence } from '../../inference/analysis/calibration.js';
import type { ModelSet, StoredResult } from '../stored-result.js';
import {
  DIAGNOSTIC_SERVICE_SECTION_SYSTEM,
  EXT,
  LOINC_EKG_STUDY,
  NOISE_UNABLE_CODES,
  RHYTHM_CLASS_SYSTEM,
  SNOMED,
  SNOMED_OF_FINDING,
  SNOMED_SYSTEM,
  SUPPORTING_INFO_EXTENSION,
  UNABLE_CODE_SYSTEM,
} from './codes.js';
import { analysisIdentifier, analysisKey, entryFullUrl, identifierQuery, tagQuery } from './identity.js';
import { aiMeta, seconds, sourceReference } from './meta.js';
import { resultObservations } from './observations.js';
import { aiProvenance, modelDevice } from './transparency.js';

export interface BuildOptions {
  /** `issued` and `Provenance.recorded`; default: now. */
  readonly now?: Date;
}

/** Prefix of the report's conclusion when the ECG could not be analysed; parse.ts strips it. */
export const UNABLE_PREFIX = 'Unable to analyse: ';
const AI_NOTICE = 'AI-generated, preliminary — requires clinician review.';

/** The transaction Bundle that stores `result` (see the module comment). */
export function buildWriteBack(
  result: StoredResult,
  models: ModelSet,
  opts: BuildOptions = {},
): fhir4.Bundle {
  const issued = (opts.now ?? new Date()).toISOString();
  const key = analysisKey(result.source, result.modelVersion);
  const source = sourceReference(result.source.observationId, result.source.versionId);

  const device = modelDevice(models);
  const deviceRef = { reference: fullUrlOf(device), display: `${models.name} ${models.version}` };
  const observations = resultObservations(result, {
    key,
    ...(result.source.subject ? { subject: { reference: result.source.subject } } : {}),
    ...(result.source.effective ? { effective: result.source.effective } : {}),
    issued,
    source,
    device: deviceRef,
  });
  const report = diagnosticReport(result, source, issued, observations);
  const provenance = aiProvenance({
    key,
    targets: [report, ...observations].map((r) => ({ reference: fullUrlOf(r) })),
    source,
    device: deviceRef,
    recorded: issued,
  });

  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [device, report, ...observations, provenance].map(entry),
  };
}

function diagnosticReport(
  result: StoredResult,
  source: fhir4.Reference,
  issued: string,
  observations: readonly fhir4.Observation[],
): fhir4.DiagnosticReport {
  const conclusionCode = conclusionCodes(result);
  return {
    resourceType: 'DiagnosticReport',
    meta: aiMeta(),
    extension: reportExtensions(result, source),
    identifier: [analysisIdentifier(result.source, result.modelVersion)],
    status: 'preliminary',
    category: [
      { coding: [{ system: DIAGNOSTIC_SERVICE_SECTION_SYSTEM, code: 'EC', display: 'Electrocardiac' }] },
    ],
    code: { coding: [{ ...LOINC_EKG_STUDY }], text: 'ECG analysis (AI-generated)' },
    ...(result.source.subject ? { subject: { reference: result.source.subject } } : {}),
    ...(result.source.effective ? { effectiveDateTime: result.source.effective } : {}),
    issued,
    ...(observations.length > 0 ? { result: observations.map((o) => ({ reference: fullUrlOf(o) })) } : {}),
    conclusion: conclusion(result),
    ...(conclusionCode.length > 0 ? { conclusionCode } : {}),
  };
}

/**
 * What R4 DiagnosticReport has no element for. The source ECG goes in the core `workflow-supportingInfo`
 * extension: R4 has no `DiagnosticReport.derivedFrom` or `supportingInfo` (R5 added the latter).
 */
function reportExtensions(result: StoredResult, source: fhir4.Reference): fhir4.Extension[] {
  const ext: fhir4.Extension[] = [
    { url: SUPPORTING_INFO_EXTENSION, valueReference: source },
    { url: EXT.modelVersion, valueString: result.modelVersion },
  ];
  if (result.unable)
    ext.push({ url: EXT.unable, valueCoding: { system: UNABLE_CODE_SYSTEM, code: result.unable.code } });
  if (result.rhythm)
    ext.push({
      url: EXT.rhythm,
      extension: [
        { url: 'label', valueCoding: { system: RHYTHM_CLASS_SYSTEM, code: result.rhythm.label } },
        { url: 'probability', valueDecimal: result.rhythm.probability },
      ],
    });
  if (result.lead !== undefined) ext.push({ url: EXT.lead, valueString: result.lead });
  if (result.durationSeconds !== undefined)
    ext.push({ url: EXT.duration, valueQuantity: seconds(result.durationSeconds) });
  if (result.abstainedFraction !== undefined)
    ext.push({ url: EXT.abstainedFraction, valueDecimal: result.abstainedFraction });
  for (const text of result.limitations) ext.push({ url: EXT.limitation, valueString: text });
  return ext;
}

function conclusion(result: StoredResult): string {
  if (result.status === 'unable') return `${UNABLE_PREFIX}${result.unable?.reason ?? 'unknown reason'}`;
  const findings = result.findings.map((f) => `${f.title} (confidence ${formatConfidence(f.confidence)})`);
  const parts = [findings.length > 0 ? findings.join('; ') : 'No arrhythmia finding'];
  if (typeof result.heartRateBpm === 'number')
    parts.push(`heart rate ${Math.round(result.heartRateBpm)}/min`);
  return `${parts.join('; ')}. ${AI_NOTICE}`;
}

/** SNOMED CT per finding (once each); "ECG artifact" for an ECG too noisy to analyse. */
function conclusionCodes(result: StoredResult): fhir4.CodeableConcept[] {
  const concepts =
    result.status === 'unable'
      ? NOISE_UNABLE_CODES.has(result.unable?.code ?? '')
        ? [SNOMED.ecgArtifact]
        : []
      : result.findings.flatMap((f) => SNOMED_OF_FINDING[f.code] ?? []);
  const unique = [...new Map(concepts.map((c) => [c.code, c])).values()];
  return unique.map((c) => ({
    coding: [{ system: SNOMED_SYSTEM, code: c.code, display: c.display }],
    text: c.display,
  }));
}

type Written = fhir4.Device | fhir4.DiagnosticReport | fhir4.Observation | fhir4.Provenance;

/** Deterministic fullUrl of a resource we write: from its identifier, or the Provenance's tag. */
function fullUrlOf(r: Written): string {
  const id = r.resourceType === 'Provenance' ? undefined : r.identifier?.[0];
  if (id?.system && id.value) return entryFullUrl(id.system, id.value);
  const tag = r.meta?.tag?.[0];
  if (tag?.system && tag.code) return entryFullUrl(tag.system, tag.code);
  throw new Error(`write-back: ${r.resourceType} has neither identifier nor tag`);
}

function entry(r: Written): fhir4.BundleEntry {
  const id = r.resourceType === 'Provenance' ? undefined : r.identifier?.[0];
  const tag = r.meta?.tag?.[0];
  const ifNoneExist = id ? identifierQuery(id) : tag ? tagQuery(tag) : undefined;
  return {
    fullUrl: fullUrlOf(r),
    resource: r,
    request: { method: 'POST', url: r.resourceType, ...(ifNoneExist ? { ifNoneExist } : {}) },
  };
}
