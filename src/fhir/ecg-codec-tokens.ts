/**
 * SampledData `data` strings: counting tokens without allocating, and parsing them into physical samples.
 * Tokens are decimals or `E` (error), `L` (below lowerLimit), `U` (above upperLimit), separated by spaces
 * (https://hl7.org/fhir/R4/datatypes.html#SampledData); tabs and newlines are tolerated.
 */
import type { Lead } from '../inference/ecg.js';
import { DecodeError } from './ecg-codec-errors.js';
import { sdPath } from './ecg-codec-sampled-data.js';

/** What {@link fillPart} needs from one SampledData element. */
export interface TokenSource {
  readonly where: string;
  readonly data: string;
  /** Interleaved dimensions (one lead each). */
  readonly dims: number;
  readonly origin: number;
  readonly factor: number;
  /** mV per unit of origin + factor × datum. */
  readonly toMv: number;
  /** Longer tokens are refused as `bad-token`. */
  readonly maxTokenChars: number;
  /** Largest |sample| in mV; beyond it (or not finite) → `sample-out-of-range`. */
  readonly maxAbsSample: number;
}

/** Count whitespace-separated tokens, stopping once `stopAt` is reached (no allocation). */
export function countTokens(data: string, stopAt = Number.POSITIVE_INFINITY): number {
  let count = 0;
  let inToken = false;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    const space = c === 32 || c === 9 || c === 10 || c === 13;
    if (!space && !inToken) {
      count++;
      if (count >= stopAt) return count;
    }
    inToken = !space;
  }
  return count;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parse one part's tokens for dimension `dim` into `samples`/`invalid` from index `offset`. */
export function fillPart(
  part: TokenSource,
  dim: number,
  offset: number,
  samples: Float32Array,
  invalid: Uint8Array,
): void {
  const { data, origin, factor, toMv, maxAbsSample } = part;
  const dims = part.dims;
  let x = 0;
  let k = 0;
  let i = 0;
  const len = data.length;
  while (i < len) {
    let c = data.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const begin = i;
    // Fast path: an optional sign and digits, accumulated without slicing.
    const neg = c === 45;
    const signed = neg || c === 43 ? 1 : 0;
    i += signed;
    let acc = 0;
    let digits = 0;
    while (i < len) {
      c = data.charCodeAt(i);
      if (c < 48 || c > 57) break;
      acc = acc * 10 + (c - 48);
      digits++;
      i++;
    }
    while (i < len) {
      c = data.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) break;
      i++;
    }
    const tokenLen = i - begin;
    const mine = k % dims === dim;
    const at = offset + Math.floor(k / dims);
    k++;
    if (!mine) continue;
    if (digits > 0 && digits === tokenLen - signed && digits <= 15) {
      x = (origin + factor * (neg ? -acc : acc)) * toMv;
      // Written so that NaN fails too; no allocation on the per-sample path.
      if (!(x <= maxAbsSample && x >= -maxAbsSample)) outOfRange(part, k);
      samples[at] = x;
      invalid[at] = 0;
      continue;
    }
    if (tokenLen === 1) {
      const t = data.charCodeAt(begin);
      if (t === 69 || t === 76 || t === 85) continue; // E, L, U: stays marked invalid
    }
    const token = data.slice(begin, i);
    if (tokenLen > part.maxTokenChars || !DECIMAL.test(token)) {
      throw new DecodeError(
        'bad-token',
        `${part.where}: token #${k} "${token.slice(0, 40)}" is not a decimal, E, L or U`,
        sdPath(part.where, 'data'),
      );
    }
    const v = Number(token);
    if (!Number.isFinite(v))
      throw new DecodeError(
        'bad-token',
        `${part.where}: token #${k} is out of range`,
        sdPath(part.where, 'data'),
      );
    x = (origin + factor * v) * toMv;
    if (!(x <= maxAbsSample && x >= -maxAbsSample)) outOfRange(part, k);
    samples[at] = x;
    invalid[at] = 0;
  }
}

/** The sample value itself stays out of the message: it is waveform data, and may end up in logs. */
function outOfRange(part: TokenSource, k: number): never {
  throw new DecodeError(
    'sample-out-of-range',
    `${part.where}: token #${k} gives a sample beyond ±${part.maxAbsSample} mV or not finite ` +
      `(origin ${part.origin}, factor ${part.factor}; limit maxAbsSample)`,
    sdPath(part.where, 'factor'),
  );
}

/** Invalid samples hold the last valid value (the first valid one before it); mask kept only if used. */
export function holdInvalid(name: string, samples: Float32Array, invalid: Uint8Array): Lead {
  let first = -1;
  let any = false;
  let last = 0;
  for (let i = 0; i < samples.length; i++) {
    if (invalid[i]) {
      any = true;
      samples[i] = last;
    } else {
      last = samples[i]!;
      if (first < 0) first = i;
    }
  }
  if (first > 0) samples.fill(samples[first]!, 0, first);
  return any ? { name, samples, invalid } : { name, samples };
}
