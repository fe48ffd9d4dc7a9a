/**
 * {@link Ecg} → FHIR R4 Observation with one `valueSampledData` component per lead, shaped like the HL7
 * example "ekg" (https://hl7.org/fhir/R4/observation-example-sample-data.html) with LOINC panel codes.
 *
 * Long recordings (issue #13 item 1): R4 says a string SHALL NOT exceed 1 MB (1024 × 1024 characters,
 * https://hl7.org/fhir/R4/datatypes.html#string), and a 30-min Holter lead is ~3 MB of tokens. A lead whose
 * data would exceed that is written as consecutive parts of at most 5 minutes (shorter when needed to stay
 * under 1 MB), one component each, with the same lead code and the R4 core extension
 * `observation-timeOffset` (context Observation.component: "a specific offset time in milliseconds from the
 * stated time … to allow for representation of sequential recording of sampled data from the same lead",
 * https://hl7.org/fhir/R4/extension-observation-timeoffset.html). The recording stays ONE Observation, so
 * searches, Subscriptions, analysis, write-back and cards see one ECG and make one report; the decoder
 * (ecg-codec-decode.ts) puts the parts back on one timeline. Chosen over a panel of segment Observations
 * (`hasMember`), which every reader would have to reassemble and which each ECG search would find again.
 */
import type { Ecg } from '../inference/ecg.js';
import {
  EXT_TIME_OFFSET,
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
  const tokens = ecg.leads.map((lead) => microvoltTokens(lead.samples, lead.invalid));
  const parts = partsOf(tokens, ecg.fs);
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
    component: parts.flatMap((part) =>
      ecg.leads.map((lead, i) => {
        const std = names[i];
        const coding: fhir4.Coding = std
          ? { system: MDC_SYSTEM_OID, code: MDC_LEAD_CODES[std]!, display: mdcDisplay(std) }
          : { system: MDC_SYSTEM_OID, code: MDC_ECG_ELEC_POTL, display: 'MDC_ECG_ELEC_POTL' };
        return {
          ...(part.offsetMs !== undefined
            ? { extension: [{ url: EXT_TIME_OFFSET, valueInteger: part.offsetMs }] }
            : {}),
          code: { coding: [coding], text: lead.name },
          valueSampledData: {
            origin: { value: 0, unit: 'uV', system: UCUM_SYSTEM, code: 'uV' },
            period,
            dimensions: 1,
            data: tokens[i]!.slice(part.start, part.end).join(' '),
          },
        };
      }),
    ),
  };
}

/** R4: a string SHALL NOT exceed 1 MB, 1024 × 1024 characters (https://hl7.org/fhir/R4/datatypes.html#string). */
export const MAX_STRING_CHARS = 1024 * 1024;
/** Longest part of a long recording, in seconds: 5 min, as Holter software pages a recording. */
export const PART_SECONDS = 300;

interface PartRange {
  readonly start: number;
  readonly end: number;
  /** observation-timeOffset (integer ms) when the part's start is a whole number of ms; else document order. */
  readonly offsetMs?: number;
}

/**
 * One part for recordings whose every lead fits in one string; else parts of whole seconds (≤ 5 min) short
 * enough that the longest token string of any lead stays ≤ {@link MAX_STRING_CHARS}, the same for all leads.
 */
function partsOf(tokens: readonly string[][], fs: number): PartRange[] {
  const n = tokens[0]?.length ?? 0;
  const chars = (t: readonly string[]) => t.reduce((s, x) => s + x.length + 1, 0) - 1;
  if (tokens.every((t) => chars(t) <= MAX_STRING_CHARS)) return [{ start: 0, end: n }];
  let widest = 1;
  for (const t of tokens) for (const x of t) if (x.length > widest) widest = x.length;
  const fit = Math.floor((MAX_STRING_CHARS + 1) / (widest + 1));
  const seconds = Math.min(PART_SECONDS, Math.floor(fit / fs));
  const size = seconds >= 1 ? Math.round(seconds * fs) : fit;
  const out: PartRange[] = [];
  for (let start = 0; start < n; start += size) {
    const ms = (start * 1000) / fs;
    out.push({ start, end: Math.min(n, start + size), ...(Number.isInteger(ms) ? { offsetMs: ms } : {}) });
  }
  return out;
}

/** Samples (mV) → integer µV tokens; invalid samples → `E`. Quantisation error ≤ 0.5 µV. */
function microvoltTokens(samples: Float32Array, invalid: Uint8Array | undefined): string[] {
  const out = new Array<string>(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    out[i] = invalid?.[i] || !Number.isFinite(v) ? 'E' : String(Math.round(v * 1000));
  }
  return out;
}
