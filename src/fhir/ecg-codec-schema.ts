/**
 * The wire format the decoder reads: the parts of an R4 Observation (plus R5 `SampledData.interval` /
 * `intervalUnit`) that {@link decodeEcgObservation} touches, as one zod schema (STYLE: one schema per
 * wire format, validated where the input enters). Everything else on the resource passes through
 * unchecked. JSON types only: ranges, units and codes are the decoder's policies, each with its own
 * {@link DecodeError} code; a value of the wrong JSON type (a null, a string where an array belongs, a
 * NaN handed in by a caller) is `malformed`, named by its path.
 * R4 JSON representation: https://hl7.org/fhir/R4/json.html (decimal and integer are JSON numbers).
 */
import { z } from 'zod';
import { DecodeError } from './ecg-codec-errors.js';

// zod 4's z.number() refuses NaN and ±Infinity, which JSON cannot carry but an in-process caller can.
const num = z.number();
const str = z.string();

const coding = z.looseObject({ system: str.optional(), code: str.optional() });
const codeableConcept = z.looseObject({ coding: z.array(coding).optional(), text: str.optional() });
const extension = z.looseObject({
  url: str,
  valueCode: str.optional(),
  valueDecimal: num.optional(),
  valueInteger: z.int().optional(),
});
const quantity = z.looseObject({
  value: num.optional(),
  unit: str.optional(),
  system: str.optional(),
  code: str.optional(),
});

/** R4 SampledData (https://hl7.org/fhir/R4/datatypes.html#SampledData) with R5 interval/intervalUnit. */
export const sampledDataSchema = z.looseObject({
  origin: quantity.optional(),
  period: num.optional(),
  interval: num.optional(),
  intervalUnit: str.optional(),
  factor: num.optional(),
  lowerLimit: num.optional(),
  upperLimit: num.optional(),
  dimensions: num.optional(),
  data: str.optional(),
  extension: z.array(extension).optional(),
});

const component = z.looseObject({
  code: codeableConcept.optional(),
  valueSampledData: sampledDataSchema.optional(),
  extension: z.array(extension).optional(),
});

/** The decoder's view of an ECG Observation. */
export const ecgObservationSchema = z.looseObject({
  resourceType: z.literal('Observation'),
  id: str.optional(),
  code: codeableConcept.optional(),
  valueSampledData: sampledDataSchema.optional(),
  component: z.array(component).optional(),
  effectiveDateTime: str.optional(),
  effectiveInstant: str.optional(),
  effectivePeriod: z.looseObject({ start: str.optional() }).optional(),
});

export type SampledDataIn = z.infer<typeof sampledDataSchema>;
export type EcgObservationIn = z.infer<typeof ecgObservationSchema>;
export type CodeableConceptIn = z.infer<typeof codeableConcept>;
export type ExtensionIn = z.infer<typeof extension>;
export type QuantityIn = z.infer<typeof quantity>;

/**
 * `obs` checked against {@link ecgObservationSchema}; a `malformed` {@link DecodeError} naming the first
 * offending field (e.g. `component[2].valueSampledData.factor`) otherwise.
 */
export function readEcgObservation(obs: unknown): EcgObservationIn {
  const r = ecgObservationSchema.safeParse(obs);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = fieldPath(issue.path);
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : '';
  throw new DecodeError(
    'malformed',
    `${path || 'Observation'}: ${issue.message.replace(/^Invalid input: /, '')}${more}`,
    path || undefined,
  );
}

/** A zod issue path as FHIRPath-like text: `component[2].valueSampledData.factor`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
