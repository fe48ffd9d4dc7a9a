/**
 * Issue #13 item 2: imported ECG Observations carry the recording time from the source — WFDB base
 * date/time (CinC 2017 headers carry one), PTB-XL `recording_date` — and, where the source has none
 * (MIT-BIH), the import time with a note that says so.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runImport } from '../../src/cli/import.js';
import { parsePtbxlRecordingDate } from '../../src/inference/io/ptbxl.js';
import { FIXTURES } from '../support/shared-data.js';

async function imported(record: string, now: Date): Promise<fhir4.Observation> {
  let text = '';
  const code = await runImport({ recordPath: join(FIXTURES, record), patientId: 'p1', now }, (s) => {
    text += s;
  });
  assert.equal(code, 0);
  return JSON.parse(text) as fhir4.Observation;
}

describe('import: the ECG recording time (effective[x])', () => {
  const now = new Date('2026-12-02T10:00:00Z');

  it("PTB-XL: effectiveDateTime from the row's recording_date, with a note on the time zone", async () => {
    const obs = await imported('ptbxl/00003_hr', now);
    assert.equal(obs.effectiveDateTime, '1984-11-15T12:49:10.000Z');
    assert.match(obs.note?.[0]?.text ?? '', /PTB-XL recording_date .*UTC/);
  });

  it('a WFDB header with a base date and time (CinC 2017 A00004: 11:05:48 1/05/2000) gives that time', async () => {
    const obs = await imported('cinc2017/A00004', now);
    assert.equal(obs.effectiveDateTime, '2000-05-01T11:05:48.000Z');
    assert.match(obs.note?.[0]?.text ?? '', /WFDB header .*UTC/);
  });

  it('MIT-BIH (no time in the source): the import time, and a note saying so', async () => {
    const obs = await imported('mitdb/mitdb-100-0m-5m', now);
    assert.equal(obs.effectiveDateTime, now.toISOString());
    assert.match(obs.note?.[0]?.text ?? '', /Recording time unknown .* import time/);
  });

  it('parses recording_date strictly', () => {
    assert.equal(parsePtbxlRecordingDate('1984-11-09 09:17:34')?.toISOString(), '1984-11-09T09:17:34.000Z');
    for (const bad of [undefined, '', '1984-11-09', '1984-13-09 09:17:34x', 'yesterday'])
      assert.equal(parsePtbxlRecordingDate(bad), undefined, String(bad));
  });
});
