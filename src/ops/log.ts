/**
 * Structured JSON logs (pino). Redaction is a safety net: code never passes tokens, patient identifiers
 * or waveform data to the logger in the first place; these paths catch accidental request dumps.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  'access_token',
  'fhirAuthorization',
  'prefetch',
  'patientId',
  'subject',
  'valueSampledData',
  'data',
];

export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { service: 'ecg-cds' }, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}

/** A logger that drops everything (tests, CLI). */
export const silentLogger: Logger = pino({ level: 'silent' });
