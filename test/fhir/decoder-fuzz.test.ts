/**
 * Property: whatever an ECG Observation holds, the decoder either returns an ECG with only finite samples
 * (within ±maxAbsSample) at a rate within 25–10,000 Hz, or throws its typed DecodeError — never a
 * TypeError, RangeError or anything else (issue #11). Inputs are valid ECG Observations (the HL7 example,
 * R4 and R5, and encoder output in several layouts) mutated at every path. `npm run fuzz` runs ≥ 100,000.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CODEC_LIMITS,
  DecodeError,
  decodeEcgObservation,
  encodeEcgObservation,
  MDC_SYSTEM_OID,
} from '../../src/fhir/ecg-codec.js';
import type { Ecg } from '../../src/inference/ecg.js';
import { FUZZ_RUNS, FUZZ_SEED, mutated, Tally } from '../support/fuzz.js';
import { FIXTURES } from '../support/shared-data.js';
import { synth } from '../support/synthetic-ecg.js';

const fixture = (name: string): fhir4.Observation =>
  JSON.parse(readFileSync(join(FIXTURES, 'fhir', name), 'utf8')) as fhir4.Observation;

const TIME_OFFSET = 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset';
const INTERVAL_UNIT = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SampledData.intervalUnit';

/** Valid ECG Observations of every layout the decoder reads; each decodes as it is. */
function bases(): fhir4.Observation[] {
  const fs = 250;
  const beats = [0.3, 1.1];
  const ii = synth(fs, 1.5, beats);
  const v1 = synth(fs, 1.5, beats, 0.6);
  const invalid = new Uint8Array(ii.length);
  invalid[10] = 1;
  const ecg: Ecg = {
    fs,
    sourceId: 'synthetic',
    startTime: new Date('2024-01-01T00:00:00Z'),
    leads: [
      { name: 'II', samples: ii, invalid },
      { name: 'V1', samples: v1 },
    ],
  };
  const encoded = encodeEcgObservation(ecg, { patientId: 'p1' });
  encoded.id = 'enc';
  // One lead in two parts placed by observation-timeOffset.
  const split = structuredClone(encoded);
  const [a, b] = [split.component![0]!, structuredClone(split.component![0]!)];
  const tokens = a.valueSampledData!.data!.split(' ');
  a.valueSampledData!.data = tokens.slice(0, 200).join(' ');
  b.valueSampledData!.data = tokens.slice(200).join(' ');
  a.extension = [{ url: TIME_OFFSET, valueInteger: 0 }];
  b.extension = [{ url: TIME_OFFSET, valueDecimal: 800 }];
  split.component = [a, b, split.component![1]!];
  // Top-level SampledData, two interleaved dimensions, mV, period in s via the R5 unit extension.
  const top: fhir4.Observation = {
    resourceType: 'Observation',
    id: 'top',
    status: 'final',
    code: { coding: [{ system: MDC_SYSTEM_OID, code: '131328' }], text: 'ECG' },
    effectivePeriod: { start: '2024-01-01T00:00:00Z' },
    valueSampledData: {
      origin: { value: 0, system: 'http://unitsofmeasure.org', code: 'mV' },
      period: 0.004,
      factor: 0.001,
      lowerLimit: -5000,
      upperLimit: 5000,
      dimensions: 2,
      extension: [{ url: INTERVAL_UNIT, valueCode: 's' }],
      data: Array.from(ii, (x, i) => `${Math.round(x * 1000)} ${Math.round(v1[i]! * 1000)}`).join(' '),
    },
  };
  const all = [
    fixture('observation-example-sample-data.json'),
    fixture('observation-example-sample-data.r5.json'),
    encoded,
    split,
    top,
  ];
  for (const o of all) decodeEcgObservation(o); // the bases themselves are valid
  return all;
}

/** Element names the decoder reads, added by the fuzzer where they are absent. */
const KEYS = [
  'valueSampledData',
  'component',
  'code',
  'coding',
  'text',
  'system',
  'extension',
  'url',
  'valueInteger',
  'valueDecimal',
  'valueCode',
  'origin',
  'value',
  'unit',
  'period',
  'interval',
  'intervalUnit',
  'factor',
  'lowerLimit',
  'upperLimit',
  'dimensions',
  'data',
  'effectiveDateTime',
  'effectiveInstant',
  'effectivePeriod',
  'start',
  'id',
  'resourceType',
];

/** Checks a decoded ECG against the decoder's guarantees; returns a failure message or undefined. */
function violation(ecg: Ecg): string | undefined {
  if (!Number.isFinite(ecg.fs) || ecg.fs < CODEC_LIMITS.minRateHz || ecg.fs > CODEC_LIMITS.maxRateHz)
    return `rate ${ecg.fs} Hz outside the limits`;
  if (ecg.leads.length < 1 || ecg.leads.length > CODEC_LIMITS.maxLeads) return `${ecg.leads.length} leads`;
  const n = ecg.leads[0]!.samples.length;
  if (!(n / ecg.fs >= CODEC_LIMITS.minDurationSeconds)) return `${n} samples at ${ecg.fs} Hz is too short`;
  if (n > CODEC_LIMITS.maxSamplesPerLead) return `${n} samples per lead`;
  for (const lead of ecg.leads) {
    if (lead.samples.length !== n) return `lead ${lead.name} has ${lead.samples.length} samples, not ${n}`;
    if (lead.invalid && lead.invalid.length !== n) return `lead ${lead.name}: mask length`;
    for (const x of lead.samples)
      if (!Number.isFinite(x) || Math.abs(x) > CODEC_LIMITS.maxAbsSample)
        return `lead ${lead.name} holds a sample of ${x}`;
  }
  if (ecg.startTime && !Number.isFinite(ecg.startTime.getTime())) return 'invalid startTime';
  return undefined;
}

describe('decoder fuzz: typed refusals or finite ECGs at sane rates', { timeout: 30 * 60_000 }, () => {
  const valid = bases();

  it(`${FUZZ_RUNS} mutated ECG Observations`, (t) => {
    const tally = new Tally();
    const t0 = performance.now();
    fc.assert(
      fc.property(mutated(valid, KEYS), ({ doc }) => {
        let ecg: Ecg;
        try {
          ecg = decodeEcgObservation(doc);
        } catch (err) {
          // Anything but the codec's typed error is a bug; so is a refusal without a message.
          if (!(err instanceof DecodeError)) throw err;
          assert.ok(err.message.length > 0);
          tally.add(err.code);
          return;
        }
        const bad = violation(ecg);
        assert.equal(bad, undefined, bad);
        tally.add('decoded');
      }),
      { numRuns: FUZZ_RUNS, ...(FUZZ_SEED !== undefined ? { seed: FUZZ_SEED } : {}) },
    );
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    t.diagnostic(`decoder fuzz: ${tally.total} inputs in ${s} s, 0 failures; ${tally}`);
    assert.equal(tally.total, FUZZ_RUNS);
  });

  it('whole-document junk: non-objects, wrong resourceType, arbitrary JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: true, withMap: true }),
          fc.jsonValue({ maxDepth: 3 }).map((component) => ({ resourceType: 'Observation', component })),
          fc
            .jsonValue({ maxDepth: 3 })
            .map((valueSampledData) => ({ resourceType: 'Observation', valueSampledData })),
        ),
        (doc) => {
          try {
            const ecg = decodeEcgObservation(doc);
            assert.equal(violation(ecg), undefined);
          } catch (err) {
            if (!(err instanceof DecodeError)) throw err;
          }
        },
      ),
      { numRuns: Math.max(200, Math.round(FUZZ_RUNS / 10)) },
    );
  });
});
