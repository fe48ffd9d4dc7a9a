/**
 * What the ECG Observation codec refuses, and the limits it enforces. The FHIR and CDS edges map
 * {@link DecodeError} codes to one status table (STYLE habit 7); the codes are stable API.
 */

export type DecodeErrorCode =
  /**
   * Not R4 JSON where the decoder reads: a field of the wrong type, a null, a string or object where an
   * array belongs, a NaN or infinite number. {@link DecodeError.path} names the field.
   */
  | 'malformed'
  /** No `valueSampledData` on the Observation or any component, or one without `data`. */
  | 'no-sampled-data'
  /** A SampledData element that makes no sense: no origin, period ≤ 0, dimensions not ≥ 1, lowerLimit > upperLimit… */
  | 'bad-sampled-data'
  /** A data token that is neither a decimal nor one of `E`, `L`, `U`. */
  | 'bad-token'
  /** More samples per lead, or more tokens in all, than {@link CodecLimits} allows. */
  | 'too-many-samples'
  | 'too-many-leads'
  /** Shorter than {@link CodecLimits.minDurationSeconds}. */
  | 'too-short'
  /** Token count not a multiple of `dimensions`, or `dimensions` ≠ the number of lead codes. */
  | 'dimension-mismatch'
  /** A voltage unit (origin) or time unit (intervalUnit) the codec does not know. */
  | 'unknown-unit'
  /** A component with sampled data whose code is no MDC lead code the codec knows. */
  | 'unknown-lead-code'
  /** Leads (or parts of one lead) sampled at different rates. */
  | 'inconsistent-rate'
  /** A sample spacing that gives a rate outside {@link CodecLimits.minRateHz}..{@link CodecLimits.maxRateHz}. */
  | 'rate-out-of-range'
  /** A sample (origin + factor × datum, in mV) not finite or beyond {@link CodecLimits.maxAbsSample}. */
  | 'sample-out-of-range'
  /** Two parts of one lead cover the same time (`observation-timeOffset`). */
  | 'overlapping-segments';

/**
 * The Observation cannot be decoded into an ECG; `code` is stable, `message` is for people and starts
 * with the element it concerns; `path` names the offending field where one field is at fault.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
    /** FHIRPath-like location, e.g. `component[2].valueSampledData.period`. */
    readonly path?: string,
  ) {
    super(message);
  }
}

/** Limits applied while decoding; all are checked before the samples they guard are allocated. */
export interface CodecLimits {
  /** Samples per lead after reassembly (default 1,000,000: 33 min at 500 Hz). */
  readonly maxSamplesPerLead: number;
  /** Leads (default 16: 12 standard leads plus right-sided/posterior extras). */
  readonly maxLeads: number;
  /** Minimum record length in seconds (default 1 s; the HL7 example is 1.16 s). */
  readonly minDurationSeconds: number;
  /** Data tokens over all SampledData elements (default 12,000,000: 12 leads × 1e6). */
  readonly maxTotalTokens: number;
  /** Longest accepted token in characters (default 32); bounds the data string length check. */
  readonly maxTokenChars: number;
  /**
   * Sampling rates accepted, in Hz (default 25..10,000). Diagnostic ECGs are sampled at 250–1,000 Hz
   * (AHA 2007 recommendations: ≥ 500 Hz for diagnostic, 150 Hz bandwidth), Holter and patch recorders
   * at 125–250 Hz, pacemaker-spike capture at up to 10 kHz; below 25 Hz a QRS complex (≈ 100 ms) is
   * not sampled at all.
   */
  readonly minRateHz: number;
  readonly maxRateHz: number;
  /**
   * Largest |sample| accepted, in mV (literal units for a unitless origin); default 1e6. ECG amplifiers
   * span tens of mV, so anything near this is a broken factor/origin; the bound also keeps every sample
   * finite in Float32 and squares of samples finite in the DSP.
   */
  readonly maxAbsSample: number;
}

export const CODEC_LIMITS: CodecLimits = Object.freeze({
  maxSamplesPerLead: 1_000_000,
  maxLeads: 16,
  minDurationSeconds: 1,
  maxTotalTokens: 12_000_000,
  maxTokenChars: 32,
  minRateHz: 25,
  maxRateHz: 10_000,
  maxAbsSample: 1e6,
});
