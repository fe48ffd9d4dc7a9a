import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeEcgObservation,
  ECG_OBSERVATION_CODES,
  encodeEcgObservation,
  MDC_LEAD_CODES,
  standardLeadName,
} from '../../src/fhir/ecg-codec.js';
import type { Ecg } from '../../src/inference/ecg.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { FIXTURES } from '../support/shared-data.js';

/** Largest |a − b| over all samples of all leads, in mV. */
function maxAbsDiff(a: Ecg, b: Ecg): number {
  let worst = 0;
  a.leads.forEach((lead, i) => {
    const other = b.leads[i]!.samples;
    assert.equal(other.length, lead.samples.length);
    for (let j = 0; j < lead.samples.length; j++)
      worst = Math.max(worst, Math.abs(lead.samples[j]! - other[j]!));
  });
  return worst;
}

const codes = (obs: fhir4.Observation) => obs.code.coding!.map((c) => `${c.system}|${c.code}`);

describe('encode → decode round trip', () => {
  it('PTB-XL 12-lead record: LOINC 34534-8, 12 MDC lead codes, samples within quantisation', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'ptbxl', '00003_hr'));
    const obs = encodeEcgObservation(ecg, {
      patientId: 'p1',
      effectiveDateTime: '2020-01-02T03:04:05Z',
      identifier: { system: 'urn:test', value: '00003_hr' },
    });
    assert.equal(obs.status, 'final');
    assert.equal(obs.category?.[0]?.coding?.[0]?.code, 'procedure');
    assert.deepEqual(codes(obs), ['http://loinc.org|34534-8', 'urn:oid:2.16.840.1.113883.6.24|131328']);
    assert.equal(obs.subject?.reference, 'Patient/p1');
    assert.equal(obs.identifier?.[0]?.value, '00003_hr');
    assert.deepEqual(
      obs.component!.map((c) => c.code.coding![0]!.code),
      ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'].map(
        (n) => MDC_LEAD_CODES[n],
      ),
    );
    const sd = obs.component![0]!.valueSampledData!;
    assert.deepEqual(sd.origin, { value: 0, unit: 'uV', system: 'http://unitsofmeasure.org', code: 'uV' });
    assert.equal(sd.period, 2);
    assert.equal(sd.dimensions, 1);
    assert.match(sd.data!, /^-?\d+( -?\d+)*$/);

    // Through JSON, as over the wire.
    const back = decodeEcgObservation(JSON.parse(JSON.stringify(obs)));
    assert.equal(back.fs, 500);
    assert.deepEqual(
      back.leads.map((l) => l.name),
      ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'],
    );
    assert.ok(maxAbsDiff(ecg, back) <= 0.0005 + 1e-6, `max error ${maxAbsDiff(ecg, back)} mV`);
    assert.equal(back.startTime?.toISOString(), '2020-01-02T03:04:05.000Z');
  });

  it('MIT-BIH 2-lead record at 360 Hz: LOINC 11524-6, MLII → II, rate survives the rounded period', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'mitdb', 'mitdb-100-0m-5m'));
    const obs = encodeEcgObservation(ecg, { patientId: 'p2' });
    assert.equal(codes(obs)[0], 'http://loinc.org|11524-6');
    assert.equal(obs.component![0]!.code.text, 'MLII');
    assert.equal(obs.component![0]!.code.coding![0]!.code, MDC_LEAD_CODES['II']);
    const back = decodeEcgObservation(obs);
    assert.equal(back.fs, 360);
    assert.ok(maxAbsDiff(ecg, back) <= 0.0005 + 1e-6);
  });

  it('CinC 2017 single lead "ECG" is coded MDC 131328 with its name as text, and decodes by that name', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'cinc2017', 'A00004'));
    const obs = encodeEcgObservation(ecg, { patientId: 'p3' });
    assert.equal(obs.component![0]!.code.coding![0]!.code, '131328');
    const back = decodeEcgObservation(obs);
    assert.deepEqual(
      back.leads.map((l) => l.name),
      ['ECG'],
    );
    assert.equal(back.fs, 300);
    assert.ok(maxAbsDiff(ecg, back) <= 0.0005 + 1e-6);
  });

  it('invalid samples are written as E and come back masked', () => {
    const samples = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i / 10));
    const invalid = new Uint8Array(300);
    invalid[10] = 1;
    const obs = encodeEcgObservation(
      { leads: [{ name: 'V1', samples, invalid }], fs: 250, sourceId: 'x' },
      { patientId: 'p' },
    );
    assert.equal(obs.component![0]!.valueSampledData!.data!.split(' ')[10], 'E');
    const back = decodeEcgObservation(obs).leads[0]!;
    assert.equal(back.invalid?.[10], 1);
    assert.equal(
      back.invalid?.reduce((a, b) => a + b, 0),
      1,
    );
  });

  it('lead names map to MDC leads: MLII, II, V1, AVR → aVR, lead III', () => {
    assert.equal(standardLeadName('MLII'), 'II');
    assert.equal(standardLeadName('II'), 'II');
    assert.equal(standardLeadName('V1'), 'V1');
    assert.equal(standardLeadName('AVR'), 'aVR');
    assert.equal(standardLeadName('avf'), 'aVF');
    assert.equal(standardLeadName('lead III'), 'III');
    assert.equal(standardLeadName('MV1'), 'V1');
    assert.equal(standardLeadName('ECG'), undefined);
  });

  it('ECG_OBSERVATION_CODES is one comma-joined code= search value naming our codes', () => {
    const parts = ECG_OBSERVATION_CODES.split(',');
    assert.ok(parts.includes('http://loinc.org|11524-6'));
    assert.ok(parts.includes('http://loinc.org|34534-8'));
    assert.ok(parts.includes('urn:oid:2.16.840.1.113883.6.24|131328'));
    assert.ok(parts.every((p) => /^[^|,]+\|[^|,]+$/.test(p)));
  });
});
