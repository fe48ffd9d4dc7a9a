/**
 * Long recordings (issue #13 item 1): a 30-min two-lead MIT-BIH record is imported (`import --fhir`) into
 * the embedded FHIR server over HTTP as one ECG Observation whose leads are split into 5-min parts (every
 * SampledData.data ≤ 1 MB, the R4 string limit the server enforces), decodes back to the record, and gets
 * exactly one DiagnosticReport through the Subscription → queue → analysis → write-back path.
 * Needs ../shared/data/mitdb (skips with a message otherwise); the encoder's split is also tested on a
 * synthetic long ECG, offline.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runImport } from '../../src/cli/import.js';
import { decodeEcgObservation, encodeEcgObservation } from '../../src/fhir/ecg-codec.js';
import { MAX_STRING_CHARS } from '../../src/fhir/ecg-codec-encode.js';
import type { Ecg } from '../../src/inference/ecg.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { type RunningService, startService } from '../support/service.js';
import { SHARED_DATA } from '../support/shared-data.js';

const RECORD = join(SHARED_DATA, 'mitdb', '100');
const skip = existsSync(`${RECORD}.hea`)
  ? false
  : `${RECORD}.hea not found: MIT-BIH absent (../shared/data/mitdb)`;

const dataStrings = (obs: fhir4.Observation) =>
  (obs.component ?? []).map((c) => c.valueSampledData?.data ?? '').filter(Boolean);

/** Largest difference in µV between the record and its decoded copy, per lead. */
function maxErrorUv(a: Ecg, b: Ecg): number {
  let worst = 0;
  a.leads.forEach((lead, i) => {
    const other = b.leads[i]!.samples;
    assert.equal(other.length, lead.samples.length, `lead ${lead.name} length`);
    for (let k = 0; k < lead.samples.length; k++)
      worst = Math.max(worst, Math.abs(lead.samples[k]! - other[k]!) * 1000);
  });
  return worst;
}

describe('long recordings: parts of ≤ 1 MB in one Observation', () => {
  it('a synthetic 32-min 500 Hz lead splits into 5-min parts with observation-timeOffset and decodes back', () => {
    const fs = 500;
    const n = 32 * 60 * fs;
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i++) samples[i] = 2.5 * Math.sin((2 * Math.PI * i) / fs) - 1.234;
    const ecg: Ecg = { fs, leads: [{ name: 'MLII', samples }], sourceId: 'synthetic' } as unknown as Ecg;
    const obs = encodeEcgObservation(ecg, { patientId: 'p' });
    const parts = obs.component ?? [];
    assert.equal(parts.length, 7);
    for (const [k, c] of parts.entries()) {
      assert.ok((c.valueSampledData?.data?.length ?? 0) <= MAX_STRING_CHARS);
      assert.deepEqual(c.extension, [
        { url: 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset', valueInteger: k * 300_000 },
      ]);
    }
    const back = decodeEcgObservation(obs);
    assert.equal(back.fs, fs);
    assert.ok(maxErrorUv(ecg, back) <= 0.5 + 1e-3);
  });

  it('a short ECG stays one component per lead, without offsets', () => {
    const samples = new Float32Array(10 * 360).fill(0.1);
    const ecg = { fs: 360, leads: [{ name: 'MLII', samples }], sourceId: 's' } as unknown as Ecg;
    const obs = encodeEcgObservation(ecg, { patientId: 'p' });
    assert.equal(obs.component?.length, 1);
    assert.equal(obs.component?.[0]?.extension, undefined);
  });
});

describe('a 30-min MIT-BIH record through the embedded FHIR server', { skip, timeout: 300_000 }, () => {
  let s: RunningService;
  before(async () => {
    s = await startService({
      DEMO_DATA: 'false',
      NIGHTLY_ENABLED: 'false',
      SUBSCRIPTION_SECRET: 'long-recording-secret-0123456789',
    });
  });
  after(async () => {
    await s?.stop();
  });

  it('imports as one Observation of ≤ 1 MB strings, round-trips, and gets one report', async () => {
    const fhir = s.c.backend;
    await fhir.update({ resourceType: 'Patient', id: 'holter-1' } as fhir4.Patient & { id: string });
    let out = '';
    const code = await runImport(
      {
        recordPath: RECORD,
        patientId: 'holter-1',
        fhir: `${s.base}/fhir`,
        definitionsBase: s.c.config.fhirDefinitionsBase,
      },
      (text) => {
        out += text;
      },
    );
    assert.equal(code, 0);
    const id = out.trim();
    const stored = await fhir.read('Observation', id);
    const strings = dataStrings(stored);
    assert.equal(strings.length, 2 * 7, '2 leads × 7 parts (30 min 5 s at 360 Hz)');
    for (const d of strings) assert.ok(d.length <= MAX_STRING_CHARS, `${d.length} characters`);

    const { ecg } = await readWfdbRecord(RECORD);
    const back = decodeEcgObservation(stored);
    assert.equal(back.fs, 360);
    assert.ok(maxErrorUv(ecg, back) <= 0.5 + 1e-3);

    let reports: fhir4.DiagnosticReport[] = [];
    for (let i = 0; i < 150 && reports.length === 0; i++) {
      await s.c.subscriptions.delivery?.idle();
      await s.c.queue.drain();
      reports = [];
      for await (const r of fhir.searchAll('DiagnosticReport', { subject: 'Patient/holter-1' }))
        reports.push(r);
      if (reports.length === 0) await new Promise((ok) => setTimeout(ok, 200));
    }
    await s.c.queue.drain();
    reports = [];
    for await (const r of fhir.searchAll('DiagnosticReport', { subject: 'Patient/holter-1' }))
      reports.push(r);
    assert.equal(reports.length, 1, 'one report for the one recording');
    const duration = reports[0]!.extension?.find((e) => e.url.endsWith('/ecg-cds-duration'))?.valueQuantity
      ?.value;
    assert.ok(duration !== undefined && duration > 1800, `analysed ${duration} s`);

    // The hook reads the stored report back for this one ECG: no second analysis, no second report.
    const path = '/cds-services/ecg-arrhythmia';
    const res = await fetch(`${s.base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await s.token(path)}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        hook: 'patient-view',
        hookInstance: randomUUID(),
        fhirServer: s.c.config.fhir.baseUrl,
        context: { userId: 'Practitioner/demo', patientId: 'holter-1' },
      }),
    });
    assert.equal(res.status, 200);
    const cards = ((await res.json()) as { cards: { links?: { url: string }[] }[] }).cards;
    for (const card of cards)
      for (const link of card.links ?? [])
        if (link.url.includes('/DiagnosticReport/'))
          assert.ok(link.url.endsWith(`/DiagnosticReport/${reports[0]!.id}`));
    await s.c.queue.drain();
    let after = 0;
    for await (const _ of fhir.searchAll('DiagnosticReport', { subject: 'Patient/holter-1' })) after++;
    assert.equal(after, 1);
  });
});
