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
  /** Interleaved dimensions (one lead each). */
  readonly dims: number;
  readonly origin: number;
  readonly factor: number;
  /** mV per unit of origin + factor × datum. */
  readonly toMv: number;
  /** Largest |sample| in mV; beyond it (or not finite) → `sample-out-of-range`. */
  readonly maxAbsSample: number;
  /** The part's tokens, read by {@link scanTokens}. */
  readonly scan: ScannedTokens;
}

/** A SampledData `data` string read once: its datums and the first bad token of each dimension. */
export interface ScannedTokens {
  /** Tokens read; reading stops once `stopAt` is reached (then `datums` may lack the rest). */
  readonly count: number;
  /** Datum of token k (0-based) at index k, as written (before origin/factor/unit); NaN for E, L, U. */
  readonly datums: Float64Array;
  /** Per dimension, the first token that is no number (its error is raised when that lead is filled). */
  readonly bad: ReadonlyArray<BadToken | undefined>;
}

interface BadToken {
  /** 0-based token index. */
  readonly k: number;
  readonly message: string;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Read `data` in one pass (issue #14: counting first and parsing after read every character twice):
 * counts the tokens, stopping once `stopAt` is reached, and keeps each datum. A token that is no
 * decimal, E, L or U is not thrown here but kept as its dimension's first bad token, so the checks that
 * come before the samples (count, dimensions, rate, units) still come first, as when parsing came last.
 */
export function scanTokens(
  where: string,
  data: string,
  dims: number,
  maxTokenChars: number,
  stopAt: number,
): ScannedTokens {
  // Tokens are at least one character and one separator apart: (length + 1) / 2 bounds their number.
  let datums = new Float64Array(Math.min(stopAt, (data.length + 1) >> 1, 4096));
  const bad: (BadToken | undefined)[] = new Array(dims).fill(undefined);
  let k = 0;
  let dim = 0;
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
    if (k === datums.length) {
      const grown = new Float64Array(Math.min(stopAt, (len + 1) >> 1, datums.length * 2));
      grown.set(datums);
      datums = grown;
    }
    const tokenLen = i - begin;
    if (digits > 0 && digits === tokenLen - signed && digits <= 15) datums[k] = neg ? -acc : acc;
    else if (bad[dim] !== undefined)
      datums[k] = Number.NaN; // its lead fails anyway
    else datums[k] = slowToken(where, data, begin, i, k, maxTokenChars, bad, dim);
    k++;
    if (k >= stopAt) break;
    dim = dim + 1 === dims ? 0 : dim + 1;
  }
  return { count: k, datums, bad };
}

/** A token off the fast path: E/L/U (NaN), a decimal, or the dimension's first bad token (NaN). */
function slowToken(
  where: string,
  data: string,
  begin: number,
  end: number,
  k: number,
  maxTokenChars: number,
  bad: (BadToken | undefined)[],
  dim: number,
): number {
  const tokenLen = end - begin;
  if (tokenLen === 1) {
    const t = data.charCodeAt(begin);
    if (t === 69 || t === 76 || t === 85) return Number.NaN; // E, L, U: stays marked invalid
  }
  const token = data.slice(begin, end);
  if (tokenLen > maxTokenChars || !DECIMAL.test(token)) {
    bad[dim] = {
      k,
      message: `${where}: token #${k + 1} "${token.slice(0, 40)}" is not a decimal, E, L or U`,
    };
    return Number.NaN;
  }
  const v = Number(token);
  if (!Number.isFinite(v)) {
    bad[dim] = { k, message: `${where}: token #${k + 1} is out of range` };
    return Number.NaN;
  }
  return v;
}

/** One part's datums of dimension `dim` as samples in mV into `samples`/`invalid` from index `offset`. */
export function fillPart(
  part: TokenSource,
  dim: number,
  offset: number,
  samples: Float32Array,
  invalid: Uint8Array,
): void {
  const { origin, factor, toMv, maxAbsSample, dims } = part;
  const { count, datums } = part.scan;
  const badAt = part.scan.bad[dim]?.k ?? count;
  for (let k = dim, at = offset; k < count; k += dims, at++) {
    if (k === badAt) {
      throw new DecodeError('bad-token', part.scan.bad[dim]!.message, sdPath(part.where, 'data'));
    }
    const v = datums[k]!;
    if (Number.isNaN(v)) continue; // E, L or U: stays marked invalid
    const x = (origin + factor * v) * toMv;
    // Written so that NaN fails too; no allocation on the per-sample path.
    if (!(x <= maxAbsSample && x >= -maxAbsSample)) outOfRange(part, k + 1);
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
