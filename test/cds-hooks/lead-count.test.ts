/** leadCountOf reads unvalidated prefetched Observations: hostile shapes give undefined, never a throw. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leadCountOf } from '../../src/cds-hooks/services/ecg-arrhythmia.js';

const lead = (code: string) => ({
  code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.24', code }] },
  valueSampledData: { origin: { value: 0 }, period: 2, dimensions: 1, data: '0 1' },
});

describe('leadCountOf', () => {
  it('counts distinct lead codes; parts of one lead count once', () => {
    const obs = { resourceType: 'Observation', component: [lead('131329'), lead('131330'), lead('131330')] };
    assert.equal(leadCountOf(obs as fhir4.Observation), 2);
  });
  it('hostile shapes (fuzz counterexample: "coding": "", "code": []) do not throw', () => {
    const forged = [
      { resourceType: 'Observation', code: [], component: [{ ...lead('131329'), code: { coding: '' } }] },
      {
        resourceType: 'Observation',
        code: { coding: 'x' },
        component: [{ valueSampledData: {}, code: null }],
      },
      { resourceType: 'Observation', code: { coding: [null] }, component: 'nope' },
    ];
    for (const obs of forged) assert.doesNotThrow(() => leadCountOf(obs as unknown as fhir4.Observation));
    assert.equal(leadCountOf(forged[0] as unknown as fhir4.Observation), 1);
  });
});
