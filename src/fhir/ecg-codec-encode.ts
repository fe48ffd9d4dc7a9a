/**
 * {@link Ecg} → FHIR R4 Observation with one `valueSampledData` component per lead, shaped like the HL7
 * example "ekg" (https://hl7.org/fhir/R4/observation-example-sample-data.html) with LOINC panel codes.
 */
import type { Ecg } from '../inference/ecg.js';
import {
  LOINC_12_LEAD_PANEL,
  LOINC_EKG_STUDY,
  MDC_ECG_ELEC_POTL,
  MDC_LEAD_CODES,
  MDC_SYSTEM_OID,
  mdcDisplay,
  OBSERVATION_CATEGORY_SYSTEM,
  standardLeadName,
  UCUM_SYSTEM,
} from './ecg-codec-codes.js';

export interface EncodeOptions {
  /** Logical id of the Patient; the subject is `Patient/<patientId>`. */
  readonly patientId: string;
  /** Defaults to the ECG's start time when it has one. */
  readonly effectiveDateTime?: string;
  readonly identifier?: fhir4.Identifier | readonly fhir4.Identifier[];
}

/** Standard leads of a 12-lead ECG; an ECG holding all of them is coded as LOINC 34534-8. */
const TWELVE = Object.keys(MDC_LEAD_CODES);

/**
 * Encode an ECG as an Observation: status final, category procedure, LOINC 11524-6 (34534-8 for
 * 12 leads) plus MDC 131328, one component per lead with its MDC lead code and samples as integer µV
 * (origin 0 µV, `period` in ms, dimensions 1). Invalid samples are written as `E`.
 * Leads that are none of the twelve (CinC 2017's "ECG") get MDC 131328 with the source name as text.
 */
export function encodeEcgObservation(ecg: Ecg, opts: EncodeOptions): fhir4.Observation {
  if (!(ecg.fs > 0) || !Number.isFinite(ecg.fs))
    throw new RangeError(`ECG ${ecg.sourceId}: bad rate ${ecg.fs}`);
  if (ecg.leads.length === 0) throw new RangeError(`ECG ${ecg.sourceId} has no leads`);
  const names = ecg.leads.map((l) => standardLeadName(l.name));
  const isTwelveLead = TWELVE.every((n) => names.includes(n));
  const panel = isTwelveLead ? LOINC_12_LEAD_PANEL : LOINC_EKG_STUDY;
  const effective = opts.effectiveDateTime ?? ecg.startTime?.toISOString();
  const identifier = opts.identifier === undefined ? undefined : [opts.identifier].flat();
  // Period in ms, rounded to the nanosecond so 1000/360 does not print 17 digits.
  const period = Math.round((1000 / ecg.fs) * 1e6) / 1e6;
  return {
    resourceType: 'Observation',
    ...(identifier ? { identifier: identifier as fhir4.Identifier[] } : {}),
    status: 'final',
    category: [
      { coding: [{ system: OBSERVATION_CATEGORY_SYSTEM, code: 'procedure', display: 'Procedure' }] },
    ],
    code: {
      coding: [
        { ...panel },
        { system: MDC_SYSTEM_OID, code: MDC_ECG_ELEC_POTL, display: 'MDC_ECG_ELEC_POTL' },
      ],
      text: panel.display,
    },
    subject: { reference: `Patient/${opts.patientId}` },
    ...(effective ? { effectiveDateTime: effective } : {}),
    component: ecg.leads.map((lead, i) => {
      const std = names[i];
      const coding: fhir4.Coding = std
        ? { system: MDC_SYSTEM_OID, code: MDC_LEAD_CODES[std]!, display: mdcDisplay(std) }
        : { system: MDC_SYSTEM_OID, code: MDC_ECG_ELEC_POTL, display: 'MDC_ECG_ELEC_POTL' };
      return {
        code: { coding: [coding], text: lead.name },
        valueSampledData: {
          origin: { value: 0, unit: 'uV', system: UCUM_SYSTEM, code: 'uV' },
          period,
          dimensions: 1,
          data: microvoltTokens(lead.samples, lead.invalid),
        },
      };
    }),
  };
}

/** Samples (mV) → space-separated integer µV; invalid samples → `E`. Quantisation error ≤ 0.5 µV. */
function microvoltTokens(samples: Float32Array, invalid: Uint8Array | undefined): string {
  const out = new Array<string>(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    out[i] = invalid?.[i] || !Number.isFinite(v) ? 'E' : String(Math.round(v * 1000));
  }
  return out.join(' ');
}
