import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CODEC_LIMITS,
  DecodeError,
  type DecodeErrorCode,
  decodeEcgObservation,
  MDC_SYSTEM_ISO,
  MDC_SYSTEM_OID,
} from '../../src/fhir/ecg-codec.js';
import { FIXTURES } from '../support/shared-data.js';

const fixture = (name: string): fhir4.Observation =>
  JSON.parse(readFileSync(join(FIXTURES, 'fhir', name), 'utf8')) as fhir4.Observation;

type Sd = Partial<fhir4.SampledData> & Record<string, unknown>;

/** An Observation with one component per entry: [MDC lead code(s), SampledData overrides, component extras]. */
function ecgObs(parts: [string | string[], Sd, Partial<fhir4.ObservationComponent>?][]): fhir4.Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: MDC_SYSTEM_OID, code: '131328' }] },
    effectiveDateTime: '2024-01-01T00:00:00Z',
    component: parts.map(([codes, sd, extra]) => ({
      code: { coding: [codes].flat().map((code) => ({ system: MDC_SYSTEM_OID, code })) },
      valueSampledData: { origin: { value: 0 }, period: 10, dimensions: 1, ...sd } as fhir4.SampledData,
      ...extra,
    })),
  };
}

/** `n` tokens counting up from `from` (100 Hz: 100 tokens = the 1-s minimum). */
const ramp = (n: number, from = 0) => Array.from({ length: n }, (_, i) => String(from + i)).join(' ');

function assertDecodeError(obs: fhir4.Observation, code: DecodeErrorCode, limits?: object) {
  assert.throws(
    () => decodeEcgObservation(obs, limits),
    (e: unknown) => {
      assert.ok(e instanceof DecodeError, `expected DecodeError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.ok(e.message.length > 10);
      return true;
    },
  );
}

describe('decode the HL7 FHIR example Observation "ekg"', () => {
  for (const file of ['observation-example-sample-data.json', 'observation-example-sample-data.r5.json']) {
    it(`${file}: 3 leads I/II/III, 100 Hz, 116 samples, literal origin + factor × datum`, () => {
      const obs = fixture(file);
      const ecg = decodeEcgObservation(obs);
      assert.equal(ecg.fs, 100);
      assert.deepEqual(
        ecg.leads.map((l) => l.name),
        ['I', 'II', 'III'],
      );
      const first = obs.component![0]!.valueSampledData!.data!.split(' ').map(Number);
      for (const lead of ecg.leads) {
        assert.equal(lead.samples.length, 116);
        assert.equal(lead.invalid, undefined);
        // Unitless origin → literal values (the example's own range lies above its upperLimit; see specs README).
        assert.ok(Math.abs(lead.samples[0]! - (2048 + 1.612 * 2041)) < 1e-3, String(lead.samples[0]));
        for (let i = 0; i < 116; i++)
          assert.ok(Math.abs(lead.samples[i]! - (2048 + 1.612 * first[i]!)) < 1e-3);
      }
      assert.equal(ecg.startTime?.toISOString(), '2015-02-19T08:30:35.000Z');
      assert.equal(ecg.sourceId, 'Observation/ekg');
    });
  }

  it('R4 with the R5 intervalUnit cross-version extension reads period in that unit', () => {
    const obs = ecgObs([
      [
        '131330',
        {
          period: 0.004,
          extension: [
            {
              url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SampledData.intervalUnit',
              valueCode: 's',
            },
          ],
          data: ramp(500),
        },
      ],
    ]);
    const ecg = decodeEcgObservation(obs);
    assert.equal(ecg.fs, 250);
    assert.equal(ecg.leads[0]!.samples.length, 500);
  });
});

describe('decode: units, codes, masks, layout', () => {
  it('UCUM uV / µV / mV origins normalise to mV; unitless stays literal', () => {
    const data = ramp(100, 1000);
    const mv = (origin: fhir4.Quantity) =>
      decodeEcgObservation(ecgObs([['131329', { origin, data }]])).leads[0]!;
    assert.ok(
      Math.abs(mv({ value: 0, system: 'http://unitsofmeasure.org', code: 'uV' }).samples[0]! - 1) < 1e-6,
    );
    assert.ok(Math.abs(mv({ value: 0, unit: 'µV' }).samples[0]! - 1) < 1e-6);
    assert.ok(
      Math.abs(mv({ value: 500, system: 'http://unitsofmeasure.org', code: 'uV' }).samples[0]! - 1.5) < 1e-6,
    );
    assert.ok(Math.abs(mv({ value: 0, code: 'mV' }).samples[0]! - 1000) < 1e-3);
    assert.equal(mv({ value: 0 }).samples[0], 1000);
  });

  it('both MDC systems name leads; one lead coded in both systems is one lead', () => {
    const obs = ecgObs([['131329', { data: ramp(100) }]]);
    obs.component!.push({
      code: {
        coding: [
          { system: MDC_SYSTEM_ISO, code: '131390' },
          { system: MDC_SYSTEM_OID, code: '131390' },
        ],
      },
      valueSampledData: { origin: { value: 0 }, period: 10, dimensions: 1, data: ramp(100) },
    });
    assert.deepEqual(
      decodeEcgObservation(obs).leads.map((l) => l.name),
      ['I', 'aVR'],
    );
  });

  it('E, L and U tokens are masked, not zeroed: they hold the last valid value', () => {
    const tokens = ramp(100, 10).split(' ');
    tokens[0] = 'E';
    tokens[5] = 'L';
    tokens[6] = 'U';
    tokens[50] = 'E';
    const lead = decodeEcgObservation(
      ecgObs([['131330', { data: tokens.join(' '), lowerLimit: -5, upperLimit: 500 }]]),
    ).leads[0]!;
    assert.ok(lead.invalid);
    const masked = [...lead.invalid].flatMap((v, i) => (v ? [i] : []));
    assert.deepEqual(masked, [0, 5, 6, 50]);
    assert.equal(lead.samples[0], 11); // first valid value held at the start
    assert.equal(lead.samples[5], 14);
    assert.equal(lead.samples[6], 14);
    assert.equal(lead.samples[50], 59);
    assert.equal(lead.samples[51], 61);
    assert.ok(![...lead.samples].includes(0));
  });

  it('decimal and exponent tokens decode; factor applies', () => {
    const data = `1.5 -2.25 3e2 ${ramp(97)}`;
    const lead = decodeEcgObservation(ecgObs([['131329', { data, factor: 2, origin: { value: 1 } }]]))
      .leads[0]!;
    assert.deepEqual([...lead.samples.slice(0, 3)], [4, -3.5, 601]);
  });

  it('dimensions 2: tokens interleave two leads named by the two lead codes in order', () => {
    const data = Array.from({ length: 100 }, (_, i) => `${i} ${-i}`).join(' ');
    const ecg = decodeEcgObservation(ecgObs([[['131329', '131330'], { dimensions: 2, data }]]));
    assert.deepEqual(
      ecg.leads.map((l) => l.name),
      ['I', 'II'],
    );
    assert.equal(ecg.leads[0]!.samples.length, 100);
    assert.equal(ecg.leads[0]!.samples[7], 7);
    assert.equal(ecg.leads[1]!.samples[7], -7);
  });

  it('one lead split over components is reassembled by lead code and time', () => {
    // Sequential recording (ISO 22077): II in two halves out of order, I whole; offsets in ms.
    const ext = (ms: number) => ({
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset', valueInteger: ms },
      ],
    });
    const ecg = decodeEcgObservation(
      ecgObs([
        ['131330', { data: ramp(100, 100) }, ext(1000)],
        ['131329', { data: ramp(200, 1000) }, ext(0)],
        ['131330', { data: ramp(100, 0) }, ext(0)],
      ]),
    );
    assert.deepEqual(
      ecg.leads.map((l) => l.name),
      ['II', 'I'],
    );
    const ii = ecg.leads[0]!;
    assert.equal(ii.samples.length, 200);
    assert.deepEqual(
      [...ii.samples],
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(ii.invalid, undefined);
    // Without offsets, parts follow each other in document order.
    const seq = decodeEcgObservation(
      ecgObs([
        ['131330', { data: ramp(60, 0) }],
        ['131330', { data: ramp(60, 60) }],
      ]),
    );
    assert.deepEqual(
      [...seq.leads[0]!.samples],
      Array.from({ length: 120 }, (_, i) => i),
    );
  });

  it('a gap between parts of a lead is masked, and a lead that starts later is padded invalid', () => {
    const ext = (ms: number) => ({
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset', valueInteger: ms },
      ],
    });
    const ecg = decodeEcgObservation(
      ecgObs([
        ['131329', { data: ramp(100) }, ext(0)],
        ['131330', { data: ramp(100) }, ext(500)],
      ]),
    );
    assert.equal(ecg.leads[0]!.samples.length, 150);
    assert.equal(
      ecg.leads[0]!.invalid?.slice(100).every((v) => v === 1),
      true,
    );
    assert.equal(
      ecg.leads[1]!.invalid?.slice(0, 50).every((v) => v === 1),
      true,
    );
    assert.equal(ecg.leads[1]!.invalid?.[50], 0);
  });

  it('a top-level valueSampledData decodes as one unspecified lead', () => {
    const obs: fhir4.Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '11524-6' }] },
      valueSampledData: { origin: { value: 0, code: 'mV' }, period: 4, dimensions: 1, data: ramp(300) },
    };
    const ecg = decodeEcgObservation(obs);
    assert.equal(ecg.fs, 250);
    assert.deepEqual(
      ecg.leads.map((l) => l.name),
      ['unspecified'],
    );
  });
});

describe('decode: every error code', () => {
  const cases: [DecodeErrorCode, fhir4.Observation, object?][] = [
    [
      'no-sampled-data',
      { resourceType: 'Observation', status: 'final', code: {}, valueQuantity: { value: 1 } },
    ],
    ['no-sampled-data', ecgObs([['131329', { data: '  ' }]])],
    ['bad-sampled-data', ecgObs([['131329', { data: ramp(100), period: 0 }]])],
    ['bad-sampled-data', ecgObs([['131329', { data: ramp(100), origin: undefined }]])],
    ['bad-sampled-data', ecgObs([['131329', { data: ramp(100), lowerLimit: 5, upperLimit: -5 }]])],
    ['bad-token', ecgObs([['131329', { data: `${ramp(99)} 12abc` }]])],
    ['bad-token', ecgObs([['131329', { data: `${ramp(99)} X` }]])],
    ['bad-token', ecgObs([['131329', { data: `${ramp(99)} 0x10` }]])],
    ['too-many-samples', ecgObs([['131329', { data: ramp(101) }]]), { maxSamplesPerLead: 100 }],
    [
      'too-many-samples',
      ecgObs([
        ['131329', { data: ramp(100) }],
        ['131330', { data: ramp(100) }],
      ]),
      { maxTotalTokens: 150 },
    ],
    [
      'too-many-leads',
      ecgObs(['131329', '131330', '131389'].map((c) => [c, { data: ramp(100) }] as [string, Sd])),
      { maxLeads: 2 },
    ],
    ['too-short', ecgObs([['131329', { data: ramp(99) }]])],
    ['dimension-mismatch', ecgObs([[['131329', '131330'], { dimensions: 2, data: ramp(201) }]])],
    ['dimension-mismatch', ecgObs([['131329', { dimensions: 2, data: ramp(200) }]])],
    ['unknown-unit', ecgObs([['131329', { data: ramp(100), origin: { value: 0, code: 'mmHg' } }]])],
    [
      'unknown-unit',
      ecgObs([['131329', { data: ramp(100), origin: { value: 0, system: 'http://snomed.info/sct' } }]]),
    ],
    [
      'unknown-unit',
      ecgObs([['131329', { data: ramp(100), period: undefined, interval: 10, intervalUnit: 'fortnight' }]]),
    ],
    ['unknown-lead-code', ecgObs([['999999', { data: ramp(100) }]])],
    // Issue #11: wrong JSON types are refused by the schema, naming the field (see malformed paths below).
    ['malformed', { ...ecgObs([]), component: 'x' } as unknown as fhir4.Observation],
    ['malformed', { ...ecgObs([]), component: [null] } as unknown as fhir4.Observation],
    ['malformed', ecgObs([['131329', { data: ramp(100), factor: Number.NaN }]])],
    ['malformed', ecgObs([['131329', { data: ramp(100), extension: {} as never }]])],
    // Absurd rates: 1e-300 ms (1e303 Hz), 1e300 s, 10 Hz, 20 kHz.
    ['rate-out-of-range', ecgObs([['131329', { data: ramp(100), period: 1e-300 }]])],
    [
      'rate-out-of-range',
      ecgObs([['131329', { data: ramp(100), period: undefined, interval: 1e300, intervalUnit: 's' }]]),
    ],
    ['rate-out-of-range', ecgObs([['131329', { data: ramp(100), period: 100 }]])],
    ['rate-out-of-range', ecgObs([['131329', { data: ramp(100), period: 0.05 }]])],
    // factor / origin overflow: finite inputs whose samples are not.
    ['sample-out-of-range', ecgObs([['131329', { data: ramp(100), factor: 1e308 }]])],
    [
      'sample-out-of-range',
      ecgObs([['131329', { data: ramp(100), origin: { value: -1.7e308 }, factor: -1e308 }]]),
    ],
    ['sample-out-of-range', ecgObs([['131329', { data: ramp(100), factor: 1e30 }]])],
    [
      'inconsistent-rate',
      ecgObs([
        ['131329', { data: ramp(100) }],
        ['131330', { data: ramp(200), period: 5 }],
      ]),
    ],
    [
      'overlapping-segments',
      ecgObs([
        [
          '131329',
          { data: ramp(100) },
          {
            extension: [
              { url: 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset', valueInteger: 0 },
            ],
          },
        ],
        [
          '131329',
          { data: ramp(100) },
          {
            extension: [
              { url: 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset', valueInteger: 500 },
            ],
          },
        ],
      ]),
    ],
  ];
  for (const [code, obs, limits] of cases) {
    it(`${code}${limits ? ` (limits ${JSON.stringify(limits)})` : ''}`, () =>
      assertDecodeError(obs, code, limits));
  }

  it('a 10^8-sample data string is refused quickly, before it is read', () => {
    const data = '1 '.repeat(1e8); // 200 MB of tokens; V8 keeps it as an unflattened rope
    const t = performance.now();
    assertDecodeError(ecgObs([['131329', { data }]]), 'too-many-samples');
    assert.ok(performance.now() - t < 50, `took ${performance.now() - t} ms`);
  });

  it('a huge timeOffset cannot make the decoder allocate a huge timeline', () => {
    const obs = ecgObs([
      ['131329', { data: ramp(100) }],
      [
        '131330',
        { data: ramp(100) },
        {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset', valueInteger: 1e12 },
          ],
        },
      ],
    ]);
    assertDecodeError(obs, 'too-many-samples');
  });

  it('malformed input names the field path', () => {
    const cases: [unknown, string][] = [
      [{ ...ecgObs([]), component: 'x' }, 'component'],
      [{ ...ecgObs([]), component: [null] }, 'component[0]'],
      [
        ecgObs([['131329', { data: ramp(100), factor: '2' as never }]]),
        'component[0].valueSampledData.factor',
      ],
      [{ ...ecgObs([['131329', { data: ramp(100) }]]), code: { coding: 'x' } }, 'code.coding'],
      [
        ecgObs([['131329', { data: ramp(100) }, { extension: [null] as never }]]),
        'component[0].extension[0]',
      ],
    ];
    for (const [obs, path] of cases) {
      assert.throws(
        () => decodeEcgObservation(obs),
        (e: unknown) => e instanceof DecodeError && e.code === 'malformed' && e.path === path,
        path,
      );
    }
  });

  it('non-objects are refused as typed errors, not TypeErrors', () => {
    for (const v of [null, undefined, 'x', 5, [], { resourceType: 5 }]) {
      assert.throws(
        () => decodeEcgObservation(v),
        (e: unknown) => e instanceof DecodeError,
      );
    }
  });

  it('default limits are explicit', () => {
    assert.deepEqual(Object.keys(CODEC_LIMITS).sort(), [
      'maxAbsSample',
      'maxLeads',
      'maxRateHz',
      'maxSamplesPerLead',
      'maxTokenChars',
      'maxTotalTokens',
      'minDurationSeconds',
      'minRateHz',
    ]);
    assert.ok(Object.isFrozen(CODEC_LIMITS));
  });
});
