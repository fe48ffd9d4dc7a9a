/**
 * The Observations of one analysis, each `DiagnosticReport.result` of the report:
 *  - one EKG impression (LOINC 8601-7) per finding: SNOMED CT + our finding code, confidence, evidence;
 *  - heart rate per the R4 vital-signs profile (LOINC 8867-4, UCUM /min, whole beats per minute;
 *    `dataAbsentReason` when the analysis found no reliable rate);
 *  - one beat count per AAMI class (valueInteger): V are the PVCs (also coded MDC_ECG_V_P_C_CNT), S the PACs.
 * All derive from the source ECG Observation (`derivedFrom`) and name the model as their `device`, as the
 * AI Transparency IG's "Oxygen Saturation example with AI device" does.
 */
import { AAMI_CLASSES, type AamiClass } from '../../inference/analysis/aami.js';
import type { StoredFinding, StoredResult } from '../stored-result.js';
import {
  AAMI_CLASS_DISPLAY,
  AAMI_CLASS_SYSTEM,
  DATA_ABSENT_REASON_SYSTEM,
  EXT,
  FINDING_SYSTEM,
  HEART_RATE_PROFILE,
  LOINC_EKG_IMPRESSION,
  LOINC_HEART_RATE,
  MDC_OF_BEAT_COUNT,
  MDC_SYSTEM,
  OBSERVATION_CATEGORY_SYSTEM,
  SNOMED_OF_FINDING,
  SNOMED_SYSTEM,
  UCUM_SYSTEM,
} from './codes.js';
import { partIdentifier } from './identity.js';
import { aiMeta, seconds } from './meta.js';

/** What every Observation of one analysis shares. */
export interface ObservationContext {
  readonly key: string;
  readonly subject?: fhir4.Reference;
  readonly effective?: string;
  readonly issued: string;
  readonly source: fhir4.Reference;
  readonly device: fhir4.Reference;
}

/** Part names, also the suffix of each Observation's identifier (see `partIdentifier`). */
export const PART = {
  finding: (index: number) => `finding-${index}`,
  heartRate: 'hr',
  count: (c: AamiClass) => `count-${c}`,
} as const;

/** All result Observations of `result`, in report order: findings, heart rate, counts. */
export function resultObservations(result: StoredResult, ctx: ObservationContext): fhir4.Observation[] {
  const out = result.findings.map((f, i) => impression(f, PART.finding(i), ctx));
  if (result.heartRateBpm !== undefined) out.push(heartRate(result.heartRateBpm, ctx));
  if (result.counts) for (const c of AAMI_CLASSES) out.push(beatCount(c, result.counts[c], ctx));
  return out;
}

function impression(f: StoredFinding, part: string, ctx: ObservationContext): fhir4.Observation {
  const snomed = SNOMED_OF_FINDING[f.code];
  const extension: fhir4.Extension[] = [{ url: EXT.confidence, valueDecimal: f.confidence }];
  if (f.onset !== undefined) extension.push({ url: EXT.onset, valueQuantity: seconds(f.onset) });
  return {
    ...base(part, ctx),
    extension,
    code: { coding: [{ ...LOINC_EKG_IMPRESSION }], text: 'ECG impression (AI-generated)' },
    valueCodeableConcept: {
      coding: [
        ...(snomed ? [{ system: SNOMED_SYSTEM, code: snomed.code, display: snomed.display }] : []),
        { system: FINDING_SYSTEM, code: f.code, display: f.title },
      ],
      text: f.title,
    },
    ...(f.evidence.length > 0 ? { note: f.evidence.map((text) => ({ text })) } : {}),
  };
}

/**
 * Heart rate per the R4 vital-signs profile (https://hl7.org/fhir/R4/heartrate.html): category
 * `vital-signs` (plus `procedure`: it comes from an electrodiagnostic recording), LOINC 8867-4, UCUM `/min`,
 * in whole beats per minute as an ECG machine reports it and as the report's conclusion and the cards say it
 * (the median RR interval gives the rate to far more digits than it is worth). The profile is claimed in
 * `meta.profile` only when the Observation can meet it: a Patient subject and an effective time (vs-1/2).
 */
function heartRate(bpm: number | null, ctx: ObservationContext): fhir4.Observation {
  const conforms = Boolean(ctx.effective && ctx.subject?.reference?.startsWith('Patient/'));
  const observation = base(PART.heartRate, ctx, [VITAL_SIGNS_CATEGORY, PROCEDURE_CATEGORY]);
  return {
    ...observation,
    ...(conforms ? { meta: { ...observation.meta, profile: [HEART_RATE_PROFILE] } } : {}),
    code: { coding: [{ ...LOINC_HEART_RATE }], text: 'Heart rate (from ECG)' },
    ...(bpm === null
      ? {
          dataAbsentReason: {
            coding: [{ system: DATA_ABSENT_REASON_SYSTEM, code: 'unknown', display: 'Unknown' }],
            text: 'No reliable heart rate in this recording',
          },
        }
      : { valueQuantity: { value: roundBpm(bpm), unit: '/min', system: UCUM_SYSTEM, code: '/min' } }),
  };
}

/** Whole beats per minute (see `heartRate`). */
function roundBpm(bpm: number): number {
  return Math.round(bpm);
}

/** A standard code first where one exists (MDC for PVCs, see `MDC_OF_BEAT_COUNT`), then our beat class. */
function beatCount(c: AamiClass, count: number, ctx: ObservationContext): fhir4.Observation {
  const display = AAMI_CLASS_DISPLAY[c];
  const mdc = MDC_OF_BEAT_COUNT[c];
  const coding: fhir4.Coding[] = [
    ...(mdc ? [{ system: MDC_SYSTEM, code: mdc.code, display: mdc.display }] : []),
    { system: AAMI_CLASS_SYSTEM, code: c, display },
  ];
  return {
    ...base(PART.count(c), ctx),
    code: { coding, text: `${display}, count` },
    valueInteger: count,
  };
}

// "procedure": observations from non-laboratory, non-imaging procedures such as electrodiagnostics.
const PROCEDURE_CATEGORY: fhir4.CodeableConcept = {
  coding: [{ system: OBSERVATION_CATEGORY_SYSTEM, code: 'procedure', display: 'Procedure' }],
};
// The vital-signs profile's VSCat slice: required on heart rate.
const VITAL_SIGNS_CATEGORY: fhir4.CodeableConcept = {
  coding: [{ system: OBSERVATION_CATEGORY_SYSTEM, code: 'vital-signs', display: 'Vital Signs' }],
  text: 'Vital Signs',
};

function base(
  part: string,
  ctx: ObservationContext,
  categories: readonly fhir4.CodeableConcept[] = [PROCEDURE_CATEGORY],
) {
  return {
    resourceType: 'Observation' as const,
    meta: aiMeta(),
    identifier: [partIdentifier(ctx.key, part)],
    status: 'preliminary' as const,
    category: categories.map((c) => structuredClone(c)),
    ...(ctx.subject ? { subject: ctx.subject } : {}),
    ...(ctx.effective ? { effectiveDateTime: ctx.effective } : {}),
    issued: ctx.issued,
    device: ctx.device,
    derivedFrom: [ctx.source],
  };
}
