/**
 * The inverse of `buildWriteBack`: a stored DiagnosticReport and its result Observations (e.g. from
 * `DiagnosticReport?…&_include=DiagnosticReport:result`) back to the StoredResult cards render, so any
 * instance can answer from the FHIR server alone.
 */

import { type ZodType, z } from 'zod';
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
  SNOMED_OF_FINDING,
  SNOMED_OF_RHYTHM,
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

// What parseStoredResult reads, as zod schemas (STYLE: one schema per wire format). A report or part
// that carries our identifier but does not fit is damaged (or forged): a StoredResultError, so the
// caller treats it as "no stored result" and analyses again, never as a crash.
// Plain (stripping) objects: only the fields below are read, and a loose object's copy of every other
// key was half the cost of reading a patient's reports in the hook (issue #14). Unknown keys pass unchecked either way.
const str = z.string();
const num = z.number();
const fhirId = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a FHIR id');
const coding = z.object({ system: str.optional(), code: str.optional() });
const identifier = z.object({ system: str.optional(), value: str.optional() });
const leafExtension = z.object({
  url: str,
  valueString: str.optional(),
  valueDecimal: num.optional(),
  valueCoding: coding.optional(),
  valueReference: z.object({ reference: str.optional() }).optional(),
  valueQuantity: z.object({ value: num.optional() }).optional(),
});
const reportExtension = leafExtension.extend({ extension: z.array(leafExtension).optional() });

const reportSchema = z.object({
  resourceType: z.literal('DiagnosticReport'),
  id: fhirId.optional(),
  identifier: z.array(identifier).optional(),
  extension: z.array(reportExtension).optional(),
  subject: z.object({ reference: str.optional() }).optional(),
  effectiveDateTime: str.optional(),
  conclusion: str.optional(),
});

const partSchema = z.object({
  resourceType: z.literal('Observation'),
  id: str.optional(),
  code: z.object({ coding: z.array(coding).optional() }).optional(),
  valueQuantity: z.object({ value: num.min(0).optional() }).optional(),
  valueInteger: z.int().min(0).optional(),
  valueCodeableConcept: z
    .looseObject({ coding: z.array(coding).optional(), text: str.optional() })
    .optional(),
  extension: z.array(leafExtension).optional(),
  note: z.array(z.object({ text: str })).optional(),
});

type ReportIn = z.infer<typeof reportSchema>;
type PartIn = z.infer<typeof partSchema>;

function checked<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  throw new StoredResultError(`${what}${path}: ${issue.message.replace(/^Invalid input: /, '')}`);
}

/** A probability, confidence or fraction: a number in 0..1. */
function unit(v: number | undefined, what: string): number | undefined {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new StoredResultError(`${what} outside 0..1`);
  return v;
}

/**
 * Read a StoredResult back from our DiagnosticReport and `related` resources (anything else in there is
 * ignored). Observations are matched by their analysis-part identifiers rather than by `result`
 * references, so it works on search results and on a built Bundle's resources alike.
 */
export function parseStoredResult(
  reportIn: fhir4.DiagnosticReport,
  related: readonly fhir4.Resource[],
): StoredResult {
  const report = checked(reportSchema, reportIn, 'DiagnosticReport');
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
  if (duration !== undefined && !(duration >= 0))
    throw new StoredResultError(`DiagnosticReport/${report.id ?? '?'}: negative duration`);
  const abstained = unit(
    extension(report, EXT.abstainedFraction)?.valueDecimal,
    `DiagnosticReport/${report.id ?? '?'}: abstained fraction`,
  );

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

/**
 * Our Observations of analysis `key`, by part name (`hr`, `finding-0`, `count-V`, …). Resources that do
 * not carry our part identifier are not ours and are skipped whatever they hold; ours must fit the schema.
 */
function observationParts(key: string, related: readonly unknown[]): Map<string, PartIn> {
  const parts = new Map<string, PartIn>();
  const prefix = `${key}.`;
  for (const r of related) {
    if ((r as { resourceType?: unknown } | null)?.resourceType !== 'Observation') continue;
    const ids: unknown = (r as { identifier?: unknown }).identifier;
    const value = Array.isArray(ids)
      ? ids.find(
          (i): i is { value: string } =>
            i?.system === ANALYSIS_PART_IDENTIFIER_SYSTEM && typeof i?.value === 'string',
        )?.value
      : undefined;
    if (value?.startsWith(prefix))
      parts.set(value.slice(prefix.length), checked(partSchema, r, `Observation (part ${value})`));
  }
  return parts;
}

const SOURCE_REFERENCE =
  /^(?:.*\/)?Observation\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

function parseSource(report: ReportIn): SourceEcg {
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

function parseRhythm(ext: z.infer<typeof reportExtension> | undefined): StoredResult['rhythm'] {
  const label = ext?.extension?.find((e) => e.url === 'label')?.valueCoding;
  const probability = ext?.extension?.find((e) => e.url === 'probability')?.valueDecimal;
  if (label?.system !== RHYTHM_CLASS_SYSTEM || !label.code || probability === undefined) return undefined;
  if (!Object.hasOwn(SNOMED_OF_RHYTHM, label.code))
    throw new StoredResultError(`unknown rhythm class "${label.code.slice(0, 20)}"`);
  return { label: label.code as RhythmClass, probability: unit(probability, 'rhythm probability')! };
}

function parseCounts(parts: ReadonlyMap<string, PartIn>): Record<AamiClass, number> | undefined {
  const found = AAMI_CLASSES.map((c) => {
    const o = parts.get(`count-${c}`);
    return o?.code?.coding?.some((k) => k.system === AAMI_CLASS_SYSTEM && k.code === c)
      ? o.valueInteger
      : undefined;
  });
  if (found.every((n) => n === undefined)) return undefined;
  return Object.fromEntries(AAMI_CLASSES.map((c, i) => [c, found[i] ?? 0])) as Record<AamiClass, number>;
}

function parseFindings(parts: ReadonlyMap<string, PartIn>): StoredFinding[] {
  const findings: StoredFinding[] = [];
  for (let i = 0; parts.has(`finding-${i}`); i++) {
    const o = parts.get(`finding-${i}`)!;
    const code = o.valueCodeableConcept?.coding?.find((c) => c.system === FINDING_SYSTEM)?.code;
    const confidence = unit(extension(o, EXT.confidence)?.valueDecimal, `finding-${i} confidence`);
    if (!code || confidence === undefined)
      throw new StoredResultError(`Observation/${o.id ?? '?'}: finding without code or confidence`);
    // Cards look findings up by code (policy, SNOMED topic): only our own codes are accepted.
    if (!Object.hasOwn(SNOMED_OF_FINDING, code))
      throw new StoredResultError(`finding-${i}: unknown finding code "${code.slice(0, 40)}"`);
    const onset = extension(o, EXT.onset)?.valueQuantity?.value;
    if (onset !== undefined && !(onset >= 0)) throw new StoredResultError(`finding-${i}: negative onset`);
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

function extension<E extends { url: string }>(
  r: { extension?: E[] | undefined },
  url: string,
): E | undefined {
  return r.extension?.find((e) => e.url === url);
}

function stripPrefix(s: string, prefix: string): string {
  return s.startsWith(prefix) ? s.slice(prefix.length) : s;
}
