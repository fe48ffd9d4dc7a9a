/**
 * The ECG Observation codec, both directions (issue #4 item 2): the one import for callers.
 * Decode: ecg-codec-decode.ts; encode: ecg-codec-encode.ts; codes and units: ecg-codec-codes.ts.
 */
export {
  ECG_OBSERVATION_CODES,
  LOINC_12_LEAD_PANEL,
  LOINC_EKG_STUDY,
  MDC_LEAD_CODES,
  MDC_SYSTEM_ISO,
  MDC_SYSTEM_OID,
  standardLeadName,
} from './ecg-codec-codes.js';
export { decodeEcgObservation } from './ecg-codec-decode.js';
export { type EncodeOptions, encodeEcgObservation } from './ecg-codec-encode.js';
export { CODEC_LIMITS, type CodecLimits, DecodeError, type DecodeErrorCode } from './ecg-codec-errors.js';
