/**
 * WFDB header (.hea) parser.
 *
 * Grammar from the WFDB "header(5)" manual page (https://physionet.org/physiotools/wag/header-5.htm):
 *   record line:  name[/nseg] nsig [fs[/counterfreq][(basecounter)] [nsamp [basetime [basedate]]]]
 *   signal line:  file format[xsamp][:skew][+offset] [gain[(baseline)][/units] [adcres [adczero
 *                 [initval [checksum [blocksize [description]]]]]]]
 * Lines starting with '#' are comments. CRLF and LF line endings are both accepted.
 * Written here because no maintained npm package reads WFDB; behaviour mirrors wfdb-python's
 * `_header.py` (defaults: fs 250 Hz, gain 200 adu/unit when 0 or absent, baseline = adczero).
 */
import { RecordReadError } from './errors.js';

export interface WfdbSignalSpec {
  readonly fileName: string;
  readonly format: number;
  readonly samplesPerFrame: number;
  readonly skew: number;
  readonly byteOffset: number;
  /** ADC units per physical unit; 0 in the file means "uncalibrated" and is read as 200. */
  readonly gain: number;
  /** True when the header gave gain 0 (uncalibrated signal). */
  readonly uncalibrated: boolean;
  readonly baseline: number;
  readonly units: string;
  readonly adcResolution: number;
  readonly adcZero: number;
  readonly initialValue: number | undefined;
  readonly checksum: number | undefined;
  readonly blockSize: number;
  readonly description: string;
}

export interface WfdbHeader {
  readonly recordName: string;
  readonly nSignals: number;
  readonly fs: number;
  /** Samples per signal, when the header states it. */
  readonly nSamples: number | undefined;
  readonly baseTime: string | undefined;
  readonly baseDate: string | undefined;
  readonly signals: readonly WfdbSignalSpec[];
  readonly comments: readonly string[];
}

const DEFAULT_FS = 250;
const DEFAULT_GAIN = 200;

/** Parse the text of a WFDB header. `file` is used only in error messages. */
export function parseWfdbHeader(text: string, file: string): WfdbHeader {
  const comments: string[] = [];
  const lines: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      comments.push(line.slice(1).trim());
      continue;
    }
    lines.push(line);
  }
  const recordLine = lines[0];
  if (!recordLine) throw new RecordReadError(file, 'header has no record line');
  const rec = recordLine.split(/\s+/);
  const [nameField = '', nsigField = ''] = rec;
  if (nameField.includes('/')) {
    throw new RecordReadError(file, 'multi-segment records are not supported');
  }
  const nSignals = parseCount(nsigField, file, 'number of signals');
  const fsField = rec[2];
  const fs =
    fsField === undefined
      ? DEFAULT_FS
      : parseFloatStrict(fsField.split(/[/(]/)[0] ?? '', file, 'sampling frequency');
  if (!(fs > 0)) throw new RecordReadError(file, `sampling frequency must be positive, got ${fsField}`);
  const nSamples = rec[3] === undefined ? undefined : parseCount(rec[3], file, 'number of samples');
  if (lines.length - 1 < nSignals) {
    throw new RecordReadError(
      file,
      `header declares ${nSignals} signals but has ${lines.length - 1} signal lines`,
    );
  }
  const signals: WfdbSignalSpec[] = [];
  for (let i = 0; i < nSignals; i++) signals.push(parseSignalLine(lines[i + 1]!, file, i));
  return {
    recordName: nameField,
    nSignals,
    fs,
    nSamples,
    baseTime: rec[4],
    baseDate: rec[5],
    signals,
    comments,
  };
}

function parseSignalLine(line: string, file: string, index: number): WfdbSignalSpec {
  const f = line.split(/\s+/);
  const where = `signal ${index}`;
  const fileName = f[0] ?? '';
  const fmt = /^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$/.exec(f[1] ?? '');
  if (!fmt) throw new RecordReadError(file, `${where}: cannot read format field "${f[1] ?? ''}"`);
  const format = Number(fmt[1]);
  const samplesPerFrame = fmt[2] ? Number(fmt[2]) : 1;
  const skew = fmt[3] ? Number(fmt[3]) : 0;
  const byteOffset = fmt[4] ? Number(fmt[4]) : 0;

  const adcResolution = f[3] === undefined ? 0 : parseIntStrict(f[3], file, `${where} ADC resolution`);
  const adcZero = f[4] === undefined ? 0 : parseIntStrict(f[4], file, `${where} ADC zero`);
  let gain = DEFAULT_GAIN;
  let uncalibrated = true;
  let baseline = adcZero;
  let units = 'mV';
  if (f[2] !== undefined) {
    const g = /^([-+0-9.eE]+)(?:\(([-+0-9]+)\))?(?:\/(\S+))?$/.exec(f[2]);
    if (!g) throw new RecordReadError(file, `${where}: cannot read gain field "${f[2]}"`);
    const parsedGain = parseFloatStrict(g[1] ?? '', file, `${where} gain`);
    if (parsedGain !== 0) {
      gain = parsedGain;
      uncalibrated = false;
    }
    if (g[2] !== undefined) baseline = parseIntStrict(g[2], file, `${where} baseline`);
    if (g[3] !== undefined) units = g[3];
  }
  return {
    fileName,
    format,
    samplesPerFrame,
    skew,
    byteOffset,
    gain,
    uncalibrated,
    baseline,
    units,
    adcResolution,
    adcZero,
    initialValue: f[5] === undefined ? undefined : parseIntStrict(f[5], file, `${where} initial value`),
    checksum: f[6] === undefined ? undefined : parseIntStrict(f[6], file, `${where} checksum`),
    blockSize: f[7] === undefined ? 0 : parseIntStrict(f[7], file, `${where} block size`),
    description: f.slice(8).join(' '),
  };
}

function parseIntStrict(s: string, file: string, what: string): number {
  if (!/^[-+]?\d+$/.test(s)) throw new RecordReadError(file, `${what} is not an integer: "${s}"`);
  return Number(s);
}

/** A non-negative integer: a negative count would later become an invalid array length. */
function parseCount(s: string, file: string, what: string): number {
  const v = parseIntStrict(s, file, what);
  if (v < 0 || !Number.isSafeInteger(v)) {
    throw new RecordReadError(file, `${what} must be a non-negative integer: "${s}"`);
  }
  return v;
}

function parseFloatStrict(s: string, file: string, what: string): number {
  const v = Number(s);
  if (s === '' || !Number.isFinite(v)) throw new RecordReadError(file, `${what} is not a number: "${s}"`);
  return v;
}
