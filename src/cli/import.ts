/**
 * `ecg-cds import <record-path> --patient <id> [--fhir <url>] [--token <t>]`: read a WFDB record (MIT-BIH,
 * PTB-XL; CinC 2017 through its .hea + .mat), encode it as an ECG Observation, and either create it on a
 * FHIR server (conditional create, so importing the same record twice creates one Observation) or print it.
 */
import { basename } from 'node:path';
import { createFhirClient } from '../fhir/client.js';
import { encodeEcgObservation } from '../fhir/ecg-codec.js';
import { readWfdbRecord, recordBasePath } from '../inference/io/record.js';

/** Identifier system for Observations imported from a record file; the value is the record name. */
export const RECORD_IDENTIFIER_SYSTEM = 'urn:ecg-cds:record';

export interface ImportOptions {
  readonly recordPath: string;
  readonly patientId: string;
  /** FHIR base URL; without it the Observation is printed instead of created. */
  readonly fhir?: string;
  readonly token?: string;
}

/** Run the import; writes the created id (or the Observation JSON) to `out`. */
export async function runImport(
  opts: ImportOptions,
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const { header, ecg } = await readWfdbRecord(opts.recordPath);
  const recordName = header.recordName || basename(recordBasePath(opts.recordPath));
  const identifier = { system: RECORD_IDENTIFIER_SYSTEM, value: recordName };
  const obs = encodeEcgObservation(ecg, { patientId: opts.patientId, identifier });
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
