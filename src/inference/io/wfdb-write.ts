/**
 * WFDB writers: header text, signal files in format 212 or 16, annotation files.
 *
 * The inverse of the readers in this folder, for fixtures and exports. Layouts follow the WFDB manual
 * pages header(5), signal(5) and annot(5) (https://physionet.org/physiotools/wag/); like wfdb-python's
 * `wrsamp`, the header carries each signal's first value and 16-bit checksum so a reader can verify
 * the samples. Digital values are written as given: nothing is rescaled or clipped.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AnnotationToWrite, encodeAnnotations } from './wfdb-annotation.js';
import { wfdbChecksum } from './wfdb-signal.js';

/** Signal formats this module writes. */
export type WritableFormat = 16 | 212;

/** Digital range of each writable format; the lowest value is WFDB's "invalid sample". */
const RANGE: Record<WritableFormat, { min: number; max: number }> = {
  16: { min: -32768, max: 32767 },
  212: { min: -2048, max: 2047 },
};

/** One signal's calibration and label (a {@link WfdbSignalSpec} from a read record fits). */
export interface SignalToWrite {
  readonly description: string;
  /** ADC units per physical unit. */
  readonly gain: number;
  /** Write gain 0, which readers take as "uncalibrated". */
  readonly uncalibrated?: boolean;
  readonly baseline: number;
  readonly units?: string;
  readonly adcResolution?: number;
  readonly adcZero?: number;
}

export interface RecordToWrite {
  /** Record name; also the base name of the files written. */
  readonly recordName: string;
  readonly fs: number;
  readonly format: WritableFormat;
  readonly signals: readonly SignalToWrite[];
  /** Digital samples, one array per signal, all the same length. */
  readonly digital: readonly Int32Array[];
  readonly baseTime?: string;
  readonly baseDate?: string;
  /** Comment lines, written after the signal lines with a leading "# ". */
  readonly comments?: readonly string[];
  /** Line ending of the header; PhysioNet's MIT-BIH headers use CRLF. Default LF. */
  readonly lineEnding?: '\n' | '\r\n';
}

/** Header text for `rec`, with initial values and checksums computed from its samples. */
export function formatWfdbHeader(rec: RecordToWrite): string {
  const n = checkShape(rec);
  const eol = rec.lineEnding ?? '\n';
  const recordLine = [rec.recordName, rec.signals.length, rec.fs, n];
  if (rec.baseTime) recordLine.push(rec.baseTime);
  if (rec.baseTime && rec.baseDate) recordLine.push(rec.baseDate);
  const lines = [recordLine.join(' ')];
  rec.signals.forEach((s, i) => {
    const d = rec.digital[i]!;
    const gain = `${s.uncalibrated ? 0 : s.gain}(${s.baseline})/${s.units ?? 'mV'}`;
    const resolution = s.adcResolution ?? (rec.format === 212 ? 12 : 16);
    const fields = [
      `${rec.recordName}.dat`,
      rec.format,
      gain,
      resolution,
      s.adcZero ?? 0,
      d[0] ?? 0,
      wfdbChecksum(d),
      0,
    ];
    lines.push(s.description ? `${fields.join(' ')} ${s.description}` : fields.join(' '));
  });
  for (const c of rec.comments ?? []) lines.push(`# ${c}`);
  return lines.map((l) => l + eol).join('');
}

/** The signal file of `rec`: samples interleaved frame by frame (signal(5)). */
export function encodeSignalFile(rec: RecordToWrite): Uint8Array {
  const n = checkShape(rec);
  const nSig = rec.signals.length;
  const total = n * nSig;
  const { min, max } = RANGE[rec.format];
  const sampleAt = (k: number): number => {
    const v = rec.digital[k % nSig]![(k / nSig) | 0]!;
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`sample ${v} (signal ${k % nSig}) does not fit format ${rec.format}`);
    }
    return v;
  };
  if (rec.format === 16) {
    const out = new Uint8Array(2 * total);
    const view = new DataView(out.buffer);
    for (let k = 0; k < total; k++) view.setInt16(2 * k, sampleAt(k), true);
    return out;
  }
  // Format 212: pairs of 12-bit samples in 3 bytes; an odd last sample takes 2 bytes, as wfdb's reader expects.
  const out = new Uint8Array(Math.ceil(total * 1.5));
  for (let k = 0, p = 0; k < total; k += 2, p += 3) {
    const s0 = sampleAt(k) & 0xfff;
    const s1 = k + 1 < total ? sampleAt(k + 1) & 0xfff : 0;
    out[p] = s0 & 0xff;
    out[p + 1] = (s0 >> 8) | ((s1 >> 8) << 4);
    if (k + 1 < total) out[p + 2] = s1 & 0xff;
  }
  return out;
}

/** Write `<dir>/<recordName>.hea` and `.dat`; returns their paths. */
export async function writeWfdbRecord(
  dir: string,
  rec: RecordToWrite,
): Promise<{ header: string; signal: string }> {
  const header = join(dir, `${rec.recordName}.hea`);
  const signal = join(dir, `${rec.recordName}.dat`);
  const text = formatWfdbHeader(rec);
  await writeFile(signal, encodeSignalFile(rec));
  await writeFile(header, text, 'latin1');
  return { header, signal };
}

/** Write `<recordPath>.<extension>` (e.g. "atr") in MIT annotation format; returns its path. */
export async function writeAnnotationFile(
  recordPath: string,
  extension: string,
  anns: readonly AnnotationToWrite[],
): Promise<string> {
  const file = `${recordPath}.${extension}`;
  await writeFile(file, encodeAnnotations(anns));
  return file;
}

function checkShape(rec: RecordToWrite): number {
  if (!/^\w[\w-]*$/.test(rec.recordName)) {
    throw new RangeError(`record name "${rec.recordName}" is not a plain file name`);
  }
  if (!(rec.fs > 0)) throw new RangeError(`sampling frequency must be positive, got ${rec.fs}`);
  if (rec.signals.length === 0) throw new RangeError('a record needs at least one signal');
  if (rec.digital.length !== rec.signals.length) {
    throw new RangeError(`${rec.signals.length} signal specs but ${rec.digital.length} sample arrays`);
  }
  const n = rec.digital[0]!.length;
  if (rec.digital.some((d) => d.length !== n)) throw new RangeError('all signals must have the same length');
  for (const s of rec.signals) {
    if (/\s/.test(s.units ?? '')) throw new RangeError(`units "${s.units}" contain white space`);
    if (/[\r\n]/.test(s.description)) throw new RangeError('a signal description must be one line');
  }
  if (rec.comments?.some((c) => /[\r\n]/.test(c))) throw new RangeError('each comment must be one line');
  return n;
}
