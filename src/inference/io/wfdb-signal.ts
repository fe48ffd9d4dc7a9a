/**
 * WFDB signal file (.dat) decoding: digital samples per signal, and conversion to mV.
 *
 * Formats follow the WFDB "signal(5)" manual page (https://physionet.org/physiotools/wag/signal-5.htm).
 * Supported: 16, 61, 80, 160, 212, 24, 32. Each has an "invalid sample" value (WFDB's WFDB_INVALID_SAMPLE
 * mapped into that format's range), which becomes a mask bit, never a zero.
 */
import { RecordReadError } from './errors.js';
import type { WfdbSignalSpec } from './wfdb-header.js';

/** Formats this reader decodes, with the digital value that marks an invalid sample. */
const FORMATS: Record<number, { bytesPerSample: number; invalid: number }> = {
  16: { bytesPerSample: 2, invalid: -32768 },
  61: { bytesPerSample: 2, invalid: -32768 },
  80: { bytesPerSample: 1, invalid: -128 },
  160: { bytesPerSample: 2, invalid: -32768 },
  212: { bytesPerSample: 1.5, invalid: -2048 },
  24: { bytesPerSample: 3, invalid: -8388608 },
  32: { bytesPerSample: 4, invalid: -2147483648 },
};

export const SUPPORTED_FORMATS: readonly number[] = Object.keys(FORMATS).map(Number);

export interface DecodedSignals {
  /** Digital samples, one array per signal of the file, in header order. */
  readonly digital: Int32Array[];
  readonly nSamples: number;
}

/**
 * Decode the signals stored in one .dat buffer. All `specs` must name the same file and format
 * (WFDB interleaves the signals of one file frame by frame).
 */
export function decodeSignalFile(
  buf: Uint8Array,
  specs: readonly WfdbSignalSpec[],
  nSamplesDeclared: number | undefined,
  file: string,
): DecodedSignals {
  const first = specs[0];
  if (!first) throw new RecordReadError(file, 'no signals to decode');
  const fmt = FORMATS[first.format];
  if (!fmt) {
    throw new RecordReadError(
      file,
      `unsupported WFDB signal format ${first.format} (supported: ${SUPPORTED_FORMATS.join(', ')})`,
    );
  }
  for (const s of specs) {
    if (s.format !== first.format)
      throw new RecordReadError(file, 'signals in one file use different formats');
    if (s.samplesPerFrame !== 1)
      throw new RecordReadError(file, 'multi-frequency records (samples per frame > 1) are not supported');
    if (s.skew !== 0) throw new RecordReadError(file, 'skewed signals are not supported');
  }
  const offset = first.byteOffset;
  const nSig = specs.length;
  const available = buf.length - offset;
  if (available < 0)
    throw new RecordReadError(file, `file is ${buf.length} bytes, shorter than its byte offset ${offset}`);
  const nSamples = nSamplesDeclared ?? Math.floor(available / fmt.bytesPerSample / nSig);
  const expectedBytes = Math.ceil(nSamples * nSig * fmt.bytesPerSample);
  if (available < expectedBytes) {
    throw new RecordReadError(
      file,
      `truncated: header declares ${nSamples} samples x ${nSig} signals (${expectedBytes} bytes of format ${first.format}) but the file holds ${available} bytes`,
    );
  }
  if (available > expectedBytes + 1) {
    throw new RecordReadError(
      file,
      `length mismatch: header declares ${nSamples} samples x ${nSig} signals (${expectedBytes} bytes) but the file holds ${available} bytes`,
    );
  }
  const digital = specs.map(() => new Int32Array(nSamples));
  const view = new DataView(buf.buffer, buf.byteOffset + offset, available);
  const total = nSamples * nSig;
  switch (first.format) {
    case 212: {
      // Two 12-bit samples in three bytes: low byte of s0, high nibbles of s0 (low) and s1 (high), low byte of s1.
      const bytes = buf;
      let p = offset;
      // Walk sample slots with an incremental (signal, time) cursor: no division per sample.
      let sig = 0;
      let t = 0;
      const put = (v: number) => {
        digital[sig]![t] = v > 2047 ? v - 4096 : v;
        if (++sig === nSig) {
          sig = 0;
          t++;
        }
      };
      for (let k = 0; k < total; k += 2) {
        const b1 = bytes[p + 1]!;
        put(bytes[p]! | ((b1 & 0x0f) << 8));
        if (k + 1 < total) put(bytes[p + 2]! | ((b1 & 0xf0) << 4));
        p += 3;
      }
      break;
    }
    default: {
      const read = readerFor(first.format, view);
      for (let t = 0, k = 0; t < nSamples; t++) {
        for (let s = 0; s < nSig; s++, k++) digital[s]![t] = read(k);
      }
    }
  }
  return { digital, nSamples };
}

function readerFor(format: number, v: DataView): (k: number) => number {
  switch (format) {
    case 16:
      return (k) => v.getInt16(2 * k, true);
    case 61:
      return (k) => v.getInt16(2 * k, false);
    case 80:
      return (k) => v.getUint8(k) - 128;
    case 160:
      return (k) => v.getUint16(2 * k, true) - 32768;
    case 24:
      return (k) => {
        const lo = v.getUint16(3 * k, true);
        const hi = v.getInt8(3 * k + 2);
        return hi * 65536 + lo;
      };
    case 32:
      return (k) => v.getInt32(4 * k, true);
    default:
      throw new Error(`no reader for format ${format}`);
  }
}

/** The WFDB 16-bit checksum of a digital signal (sum of samples, wrapped to signed 16 bits). */
export function wfdbChecksum(digital: Int32Array): number {
  let sum = 0;
  for (let i = 0; i < digital.length; i++) sum = (sum + digital[i]!) | 0;
  const wrapped = sum & 0xffff;
  return wrapped >= 0x8000 ? wrapped - 0x10000 : wrapped;
}

/**
 * Convert digital samples to physical units (adu → unit via gain and baseline), masking invalid samples.
 * An invalid sample holds the last valid value (the first valid one at the start) so filters downstream
 * stay finite; the mask, not the value, says it is not a measurement.
 */
export function toPhysical(
  digital: Int32Array,
  spec: WfdbSignalSpec,
): { samples: Float32Array; invalid: Uint8Array | undefined } {
  const invalidValue = FORMATS[spec.format]?.invalid;
  const samples = new Float32Array(digital.length);
  const scale = unitScaleToMillivolts(spec.units) / spec.gain;
  let invalid: Uint8Array | undefined;
  let firstValid = -1;
  let last = 0;
  for (let i = 0; i < digital.length; i++) {
    const d = digital[i]!;
    if (d === invalidValue) {
      invalid ??= new Uint8Array(digital.length);
      invalid[i] = 1;
      samples[i] = last;
    } else {
      last = (d - spec.baseline) * scale;
      samples[i] = last;
      if (firstValid < 0) firstValid = i;
    }
  }
  if (firstValid > 0) samples.fill(samples[firstValid]!, 0, firstValid);
  return { samples, invalid };
}

/** Factor from a WFDB physical unit to mV; non-voltage units are left as they are (factor 1). */
export function unitScaleToMillivolts(units: string): number {
  switch (units.toLowerCase()) {
    case 'uv':
    case 'µv':
    case 'μv':
      return 1e-3;
    case 'v':
      return 1e3;
    default:
      return 1;
  }
}
