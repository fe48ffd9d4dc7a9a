/**
 * `ecg-cds import <record-path> --patient <id> [--fhir <url>] [--token <t>]`: read a WFDB record (MIT-BIH,
 * PTB-XL; CinC 2017 through its .hea + .mat), encode it as an ECG Observation, and either create it on a
 * FHIR server (conditional create, so importing the same record twice creates one Observation) or print it.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { loadConfig } from '../config.js';
import { createFhirClient } from '../fhir/client.js';
import { RECORD_IDENTIFIER_SYSTEM, setDefinitionsBase } from '../fhir/definitions/canonical.js';
import { encodeEcgObservation } from '../fhir/ecg-codec.js';
import { parsePtbxlDatabase, parsePtbxlRecordingDate } from '../inference/io/ptbxl.js';
import { readWfdbRecord, recordBasePath } from '../inference/io/record.js';

/** Identifier system for Observations imported from a record file (the value is the record name), under FHIR_DEFINITIONS_BASE. */
export { RECORD_IDENTIFIER_SYSTEM };

export interface ImportOptions {
  readonly recordPath: string;
  readonly patientId: string;
  /** FHIR base URL; without it the Observation is printed instead of created. */
  readonly fhir?: string;
  readonly token?: string;
  /** Base of our canonical URLs (default: FHIR_DEFINITIONS_BASE from the environment). */
  readonly definitionsBase?: string;
  /** The import time (tests fix it). */
  readonly now?: Date;
}

/**
 * When the recording was made: the WFDB header's base date and time, else PTB-XL's `recording_date`
 * from a `ptbxl_database.csv` in the record's folder or up to three folders above it. Neither (MIT-BIH; CinC 2017
 * headers do carry a base date) → no time: the Observation's effective time is then the import time, and a note says so.
 * WFDB and PTB-XL times carry no zone; they are read as UTC and the note says that too.
 */
async function recordingTime(
  recordPath: string,
  startTime: Date | undefined,
): Promise<{ time?: Date; note?: string }> {
  const zone = 'the source states no time zone; read as UTC';
  if (startTime) return { time: startTime, note: `Recording time from the WFDB header (${zone}).` };
  const base = recordBasePath(recordPath);
  const ecgId = /(\d+)_(?:hr|lr)$/.exec(basename(base))?.[1];
  if (ecgId) {
    let dir = dirname(base);
    for (let up = 0; up < 4; up++, dir = dirname(dir)) {
      const csv = join(dir, 'ptbxl_database.csv');
      const text = await readFile(csv, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const row = parsePtbxlDatabase(text, csv).find((r) => r.ecgId === Number(ecgId));
      const time = parsePtbxlRecordingDate(row?.recordingDate);
      if (time) return { time, note: `Recording time from PTB-XL recording_date (${zone}).` };
      break;
    }
  }
  return { note: 'Recording time unknown (the source states none): the effective time is the import time.' };
}

/** Run the import; writes the created id (or the Observation JSON) to `out`. */
export async function runImport(
  opts: ImportOptions,
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  // Our identifier system's base: the caller's, else FHIR_DEFINITIONS_BASE (loadConfig applies it).
  if (opts.definitionsBase) setDefinitionsBase(opts.definitionsBase);
  else loadConfig();
  const { header, ecg } = await readWfdbRecord(opts.recordPath);
  const recordName = header.recordName || basename(recordBasePath(opts.recordPath));
  const identifier = { system: RECORD_IDENTIFIER_SYSTEM, value: recordName };
  const when = await recordingTime(opts.recordPath, ecg.startTime);
  const obs: fhir4.Observation = {
    ...encodeEcgObservation(ecg, {
      patientId: opts.patientId,
      identifier,
      effectiveDateTime: (when.time ?? opts.now ?? new Date()).toISOString(),
    }),
    ...(when.note ? { note: [{ text: when.note }] } : {}),
  };
  if (!opts.fhir) {
    out(`${JSON.stringify(obs, null, 2)}\n`);
    return 0;
  }
  const client = createFhirClient({ baseUrl: opts.fhir, ...(opts.token ? { token: opts.token } : {}) });
  // The same record may be imported for several (demo) patients: the condition names both.
  const ifNoneExist = new URLSearchParams({
    identifier: `${identifier.system}|${identifier.value}`,
    subject: `Patient/${opts.patientId}`,
  }).toString();
  const created = await client.create(obs, { ifNoneExist });
  out(`${created.id ?? ''}\n`);
  return 0;
}
