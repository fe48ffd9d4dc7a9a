/**
 * The inverse of `buildWriteBack`: a stored DiagnosticReport and its result Observations (e.g. from
 * `DiagnosticReport?…&_include=DiagnosticReport:result`) back to the StoredResult cards render, so any
 * instance can answer from the FHIR server alone.
 */
import { AAMI_CLASSES, type AamiClass } from '../../inference/analysis/aami.js';
import type { FindingCode, RhythmClass } from '../../inference/analysis/types.js';
import type { SourceEcg, StoredFinding, StoredResult } from '../stored-result.js';
import { UNABLE_PREFIX } from './build.js';
import {
  AAMI_CLASS_SYSTEM,
  ANALYSIS_IDENTIFIER_SYSTEM,
  ANALYSIS_PART_IDENTIFIER_SYSTEM,
  EXT,
  FINDING_SYSTEM,
  RHYTHM_CLASS_SYSTEM,
  SUPPORTING_INFO_EXTENSION,
  UNABLE_CODE_SYSTEM,
} from './codes.js';

export {
  analysisIdentifier,
  analysisKey,
  reportSearchForAnalysis,
  reportSearchForPatient,
} from './identity.js';

/** A stored report we cannot read as ours (not written by `buildWriteBack`, or damaged). */
export class StoredResultError extends Error {
  override readonly name = 'StoredResultError';
}

/**
 * Read a StoredResult back from our DiagnosticReport and `related` resources (anything else in there is
 * ignored). Observations are matched by their analysis-part identifiers rather than by `result`
 * references, so it works on search results and on a built Bundle's resources alike.
 */
export function parseStoredResult(
  report: fhir4.DiagnosticReport,
  related: readonly fhir4.Resource[],
): StoredResult {
  const key = report.identifier?.find((i) => i.system === ANALYSIS_IDENTIFIER_SYSTEM)?.value;
  if (!key)
    throw new StoredResultError(
      `DiagnosticReport/${report.id ?? '?'} has no ${ANALYSIS_IDENTIFIER_SYSTEM} identifier`,
    );
  const parts = observationParts(key, related);
  const modelVersion = extension(report, EXT.modelVersion)?.valueString;
  if (modelVersion === undefined)
    throw new StoredResultError(`DiagnosticReport/${report.id ?? '?'} has no model version`);

  const unableCode = extension(report, EXT.unable)?.valueCoding;
  const unable =
    unableCode?.system === UNABLE_CODE_SYSTEM && unableCode.code
      ? { code: unableCode.code, reason: stripPrefix(report.conclusion ?? '', UNABLE_PREFIX) }
      : undefined;
  const rhythm = parseRhythm(extension(report, EXT.rhythm));
  const hr = parts.get('hr');
  const counts = parseCounts(parts);
  const lead = extension(report, EXT.lead)?.valueString;
  const duration = extension(report, EXT.duration)?.valueQuantity?.value;
  const abstained = extension(report, EXT.abstainedFraction)?.valueDecimal;

  return {
    ...(report.id ? { reportId: report.id } : {}),
    source: parseSource(report),
    modelVersion,
    status: unable ? 'unable' : 'ok',
    ...(unable ? { unable } : {}),
    ...(hr ? { heartRateBpm: hr.valueQuantity?.value ?? null } : {}),
    ...(rhythm ? { rhythm } : {}),
    ...(counts ? { counts } : {}),
    ...(duration !== undefined ? { durationSeconds: duration } : {}),
    ...(lead !== undefined ? { lead } : {}),
    ...(abstained !== undefined ? { abstainedFraction: abstained } : {}),
    findings: parseFindings(parts),
    limitations: (report.extension ?? []).flatMap((e) =>
      e.url === EXT.limitation && e.valueString !== undefined ? [e.valueString] : [],
    ),
  };
}

/** Our Observations of analysis `key`, by part name (`hr`, `finding-0`, `count-V`, …). */
function observationParts(key: string, related: readonly fhir4.Resource[]): Map<string, fhir4.Observation> {
  const parts = new Map<string, fhir4.Observation>();
  const prefix = `${key}.`;
  for (const r of related) {
    if (r.resourceType !== 'Observation') continue;
    const o = r as fhir4.Observation;
    const value = o.identifier?.find((i) => i.system === ANALYSIS_PART_IDENTIFIER_SYSTEM)?.value;
    if (value?.startsWith(prefix)) parts.set(value.slice(prefix.length), o);
  }
  return parts;
}

const SOURCE_REFERENCE =
  /^(?:.*\/)?Observation\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

function parseSource(report: fhir4.DiagnosticReport): SourceEcg {
  const ref = extension(report, SUPPORTING_INFO_EXTENSION)?.valueReference?.reference ?? '';
  const m = SOURCE_REFERENCE.exec(ref);
  if (!m?.[1]) throw new StoredResultError(`DiagnosticReport/${report.id ?? '?'}: no source ECG Observation`);
  return {
    observationId: m[1],
    ...(m[2] !== undefined ? { versionId: m[2] } : {}),
    ...(report.subject?.reference ? { subject: report.subject.reference } : {}),
    ...(report.effectiveDateTime ? { effective: report.effectiveDateTime } : {}),
  };
}

function parseRhythm(ext: fhir4.Extension | undefined): StoredResult['rhythm'] {
  const label = ext?.extension?.find((e) => e.url === 'label')?.valueCoding;
  const probability = ext?.extension?.find((e) => e.url === 'probability')?.valueDecimal;
  if (label?.system !== RHYTHM_CLASS_SYSTEM || !label.code || probability === undefined) return undefined;
  return { label: label.code as RhythmClass, probability };
}

function parseCounts(parts: ReadonlyMap<string, fhir4.Observation>): Record<AamiClass, number> | undefined {
  const found = AAMI_CLASSES.map((c) => {
    const o = parts.get(`count-${c}`);
    return o?.code.coding?.some((k) => k.system === AAMI_CLASS_SYSTEM && k.code === c)
      ? o.valueInteger
      : undefined;
  });
  if (found.every((n) => n === undefined)) return undefined;
  return Object.fromEntries(AAMI_CLASSES.map((c, i) => [c, found[i] ?? 0])) as Record<AamiClass, number>;
}

function parseFindings(parts: ReadonlyMap<string, fhir4.Observation>): StoredFinding[] {
  const findings: StoredFinding[] = [];
  for (let i = 0; parts.has(`finding-${i}`); i++) {
    const o = parts.get(`finding-${i}`)!;
    const code = o.valueCodeableConcept?.coding?.find((c) => c.system === FINDING_SYSTEM)?.code;
    const confidence = extension(o, EXT.confidence)?.valueDecimal;
    if (!code || confidence === undefined)
      throw new StoredResultError(`Observation/${o.id ?? '?'}: finding without code or confidence`);
    const onset = extension(o, EXT.onset)?.valueQuantity?.value;
    findings.push({
      code: code as FindingCode,
      title: o.valueCodeableConcept?.text ?? code,
      confidence,
      evidence: (o.note ?? []).map((n) => n.text),
      ...(onset !== undefined ? { onset } : {}),
    });
  }
  return findings;
}

function extension(r: { extension?: fhir4.Extension[] }, url: string): fhir4.Extension | undefined {
  return r.extension?.find((e) => e.url === url);
}

function stripPrefix(s: string, prefix: string): string {
  return s.startsWith(prefix) ? s.slice(prefix.length) : s;
}
