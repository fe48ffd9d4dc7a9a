/**
 * PTB-XL metadata (`ptbxl_database.csv`, Wagner et al., Sci Data 7:154, 2020): one row per ECG with its
 * SCP-ECG statements (`scp_codes`) and record paths (`filename_hr` for 500 Hz, `filename_lr` for 100 Hz).
 */
import { RecordReadError } from './errors.js';

export interface PtbxlRow {
  readonly ecgId: number;
  /** The `scp_codes` column as written: a Python dict literal, e.g. "{'NORM': 100.0, 'SR': 0.0}". */
  readonly scpCodes: string;
  /** The 500 Hz record path relative to the database folder, without extension, e.g. "records500/00000/00003_hr". */
  readonly filenameHr: string;
  /** The `recording_date` column as written ("1984-11-09 09:17:34", local time of the recorder), when present. */
  readonly recordingDate?: string;
}

/** Parse `ptbxl_database.csv` (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks). */
export function parsePtbxlDatabase(text: string, file: string): PtbxlRow[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new RecordReadError(file, 'empty file');
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new RecordReadError(file, `no "${name}" column`);
    return i;
  };
  const id = col('ecg_id');
  const scp = col('scp_codes');
  const hr = col('filename_hr');
  const date = header.indexOf('recording_date');
  return rows
    .filter((r) => r.length > 1 || (r[0] ?? '') !== '')
    .map((r, k) => {
      const ecgId = Number(r[id]);
      if (!Number.isInteger(ecgId)) throw new RecordReadError(file, `row ${k + 2}: bad ecg_id "${r[id]}"`);
      const recordingDate = date >= 0 ? r[date] : undefined;
      return {
        ecgId,
        scpCodes: r[scp] ?? '',
        filenameHr: r[hr] ?? '',
        ...(recordingDate ? { recordingDate } : {}),
      };
    });
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** PTB-XL `recording_date` ("YYYY-MM-DD HH:MM:SS", no zone) → Date, read as UTC like WFDB base times. */
export function parsePtbxlRecordingDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text?.trim() ?? '');
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
