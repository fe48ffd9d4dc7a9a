/**
 * Read a PhysioNet record (WFDB header + signal files, or a CinC 2017 MAT v4 file) into an {@link Ecg}.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Ecg, Lead } from '../ecg.js';
import { RecordReadError } from './errors.js';
import { parseMat4 } from './mat4.js';
import { type Annotation, parseAnnotations } from './wfdb-annotation.js';
import { parseWfdbHeader, type WfdbHeader, type WfdbSignalSpec } from './wfdb-header.js';
import { decodeSignalFile, toPhysical, wfdbChecksum } from './wfdb-signal.js';

export interface WfdbRecord {
  readonly header: WfdbHeader;
  readonly ecg: Ecg;
  /** Digital samples per signal, as stored. */
  readonly digital: readonly Int32Array[];
  /** Per signal: whether the header's checksum matches the data (true when the header gives none). */
  readonly checksumOk: readonly boolean[];
}

/** Strip a trailing ".hea" so callers may pass either "dir/100" or "dir/100.hea". */
export function recordBasePath(path: string): string {
  return path.endsWith('.hea') ? path.slice(0, -4) : path;
}

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`;
    throw new RecordReadError(file, why, { cause: err });
  }
}

/** Read a WFDB header file. */
export async function readWfdbHeader(recordPath: string): Promise<WfdbHeader> {
  const file = `${recordBasePath(recordPath)}.hea`;
  return parseWfdbHeader((await readBytes(file)).toString('latin1'), file);
}

/** Read a whole WFDB record: header, every signal file, physical values in mV. */
export async function readWfdbRecord(recordPath: string): Promise<WfdbRecord> {
  const base = recordBasePath(recordPath);
  const header = await readWfdbHeader(base);
  if (header.nSignals === 0) throw new RecordReadError(`${base}.hea`, 'record has no signals');
  const dir = dirname(base);
  const byFile = new Map<string, number[]>();
  header.signals.forEach((s, i) => {
    const list = byFile.get(s.fileName) ?? [];
    list.push(i);
    byFile.set(s.fileName, list);
  });
  const digital: Int32Array[] = new Array(header.nSignals);
  let nSamples = header.nSamples;
  for (const [fileName, indices] of byFile) {
    const file = join(dir, fileName);
    const specs = indices.map((i) => header.signals[i]!);
    const decoded = fileName.toLowerCase().endsWith('.mat')
      ? await readMatSignals(file, specs, header.nSamples)
      : decodeSignalFile(await readBytes(file), specs, header.nSamples, file);
    indices.forEach((sig, k) => {
      digital[sig] = decoded.digital[k]!;
    });
    if (nSamples === undefined) nSamples = decoded.nSamples;
    else if (decoded.nSamples !== nSamples) {
      throw new RecordReadError(
        file,
        `holds ${decoded.nSamples} samples per signal, other files hold ${nSamples}`,
      );
    }
  }
  const leads: Lead[] = header.signals.map((spec, i) => {
    const { samples, invalid } = toPhysical(digital[i]!, spec);
    return invalid
      ? { name: spec.description || `ch${i + 1}`, samples, invalid }
      : { name: spec.description || `ch${i + 1}`, samples };
  });
  const checksumOk = header.signals.map(
    (spec, i) => spec.checksum === undefined || ((spec.checksum - wfdbChecksum(digital[i]!)) & 0xffff) === 0,
  );
  const startTime = parseWfdbDateTime(header.baseTime, header.baseDate);
  const ecg: Ecg = {
    leads,
    fs: header.fs,
    sourceId: header.recordName || basename(base),
    ...(startTime ? { startTime } : {}),
  };
  return { header, ecg, digital, checksumOk };
}

/** CinC 2017: the header names a MAT v4 file; the samples are its single int16 row. */
async function readMatSignals(file: string, specs: readonly WfdbSignalSpec[], nSamples: number | undefined) {
  const mat = parseMat4(await readBytes(file), file);
  const nSig = specs.length;
  const rowsAreSignals = mat.rows === nSig;
  const n = rowsAreSignals ? mat.cols : mat.rows;
  if ((rowsAreSignals ? mat.rows : mat.cols) !== nSig) {
    throw new RecordReadError(file, `matrix is ${mat.rows}x${mat.cols}, header declares ${nSig} signals`);
  }
  if (nSamples !== undefined && n !== nSamples) {
    throw new RecordReadError(
      file,
      `length mismatch: header declares ${nSamples} samples, matrix holds ${n}`,
    );
  }
  const digital = specs.map(() => new Int32Array(n));
  for (let s = 0; s < nSig; s++) {
    for (let t = 0; t < n; t++) {
      // column-major: element (row r, col c) at c * rows + r
      digital[s]![t] = rowsAreSignals ? mat.data[t * mat.rows + s]! : mat.data[s * mat.rows + t]!;
    }
  }
  return { digital, nSamples: n };
}

/** Read an annotation file of a record, e.g. extension "atr". */
export async function readAnnotations(recordPath: string, extension = 'atr'): Promise<Annotation[]> {
  const file = `${recordBasePath(recordPath)}.${extension}`;
  return parseAnnotations(await readBytes(file), file);
}

/** WFDB base time "HH:MM:SS[.sss]" and date "DD/MM/YYYY" → Date (UTC: WFDB records carry no zone). */
export function parseWfdbDateTime(time: string | undefined, date: string | undefined): Date | undefined {
  if (!time || !date) return undefined;
  const t = /^(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(time);
  const d = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(date);
  if (!t || !d) return undefined;
  const ms =
    Date.UTC(Number(d[3]), Number(d[2]) - 1, Number(d[1]), Number(t[1]), Number(t[2]), 0) +
    Number(t[3]) * 1000;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
