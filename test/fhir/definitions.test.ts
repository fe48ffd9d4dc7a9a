/**
 * Our own definitions, published (issue #13 item 4): every extension, CodeSystem and identifier system we
 * write has a canonical URL under FHIR_DEFINITIONS_BASE, and the service serves the resource that defines
 * it at that URL, read-only, in demo mode (also stored in the embedded server) and with an external
 * FHIR_BASE_URL. The definitions themselves are valid R4 (@medplum/core's validator).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { OVERRIDE_REASON_CODES } from '../../src/cds-hooks/cards.js';
import { loadConfig } from '../../src/config.js';
import * as canonical from '../../src/fhir/definitions/canonical.js';
import { OVERRIDE_REASON_DISPLAY, ourDefinitions } from '../../src/fhir/definitions/resources.js';
import { ensureFhirDefinitions } from '../../src/fhir/dev-server/index.js';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server.js';
import { type RunningService, startService } from '../support/service.js';

const QUIET = { DEMO_DATA: 'false', SUBSCRIPTIONS_ENSURE: 'false', NIGHTLY_ENABLED: 'false' };

/** Every URL-valued export of canonical.ts: our systems, extensions and topic. */
function ourUrls(): string[] {
  const urls = Object.values(canonical).filter((v): v is string => typeof v === 'string' && v.includes('/'));
  return [...urls.filter((u) => u !== canonical.DEFAULT_DEFINITIONS_BASE), ...Object.values(canonical.EXT)];
}

type SearchOrResource = Record<string, unknown> & { entry: { resource: { id: string } }[] };

async function getJson(url: string) {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: (await res.json()) as SearchOrResource,
  };
}

describe('our definitions', () => {
  it('FHIR_DEFINITIONS_BASE sets the base of every canonical URL; PUBLIC_BASE_URL/fhir by default', () => {
    loadConfig({ PUBLIC_BASE_URL: 'https://ecg.example.org/' });
    assert.equal(canonical.definitionsBase(), 'https://ecg.example.org/fhir');
    assert.equal(canonical.FINDING_SYSTEM, 'https://ecg.example.org/fhir/CodeSystem/ecg-cds-finding');
    loadConfig({
      PUBLIC_BASE_URL: 'https://ecg.example.org',
      FHIR_DEFINITIONS_BASE: 'https://defs.example.org/r4/',
    });
    assert.equal(
      canonical.EXT.confidence,
      'https://defs.example.org/r4/StructureDefinition/ecg-cds-confidence',
    );
    assert.equal(
      canonical.ANALYSIS_IDENTIFIER_SYSTEM,
      'https://defs.example.org/r4/NamingSystem/ecg-cds-analysis',
    );
    for (const url of ourUrls()) assert.ok(url.startsWith('https://defs.example.org/r4/'), url);
    canonical.setDefinitionsBase(canonical.DEFAULT_DEFINITIONS_BASE);
  });

  it('each URL we use is defined by exactly one resource (SubscriptionTopic aside: R4 has none)', () => {
    const defs = ourDefinitions();
    for (const url of ourUrls()) {
      if (url === canonical.ECG_TOPIC) continue;
      const by = defs.filter((d) =>
        d.resourceType === 'NamingSystem' ? d.uniqueId.some((u) => u.value === url) : d.url === url,
      );
      assert.ok(by.length >= 1, `${url} has no definition`);
      assert.ok(
        url.endsWith(`/${by[0]!.resourceType}/${by[0]!.id}`),
        `${url} is not where its definition is`,
      );
    }
  });

  it('are valid R4 resources', () => {
    ensureFhirDefinitions();
    for (const d of ourDefinitions()) {
      const errors = validateResource(d as unknown as Resource).filter((i) => i.severity === 'error');
      assert.deepEqual(errors, [], `${d.resourceType}/${d.id}`);
    }
  });

  it("the override-reason CodeSystem has the cards' override reasons", () => {
    assert.deepEqual(
      Object.fromEntries(OVERRIDE_REASON_CODES.map((r) => [r.code, r.display])),
      OVERRIDE_REASON_DISPLAY,
    );
  });
});

/** Every definition at `${base}/fhir/…`, by id and by search, with no token; other ids fall through. */
async function servesAll(base: string, otherId: number): Promise<void> {
  const defs = ourDefinitions();
  for (const d of defs) {
    const key = d.resourceType === 'NamingSystem' ? d.uniqueId[0]!.value : d.url!;
    assert.ok(key.startsWith(`${base}/fhir/`), key);
    const byId = await getJson(`${base}/fhir/${d.resourceType}/${d.id}`);
    assert.equal(byId.status, 200, `${d.resourceType}/${d.id}`);
    assert.match(byId.type, /application\/fhir\+json/);
    assert.deepEqual(byId.body, d);
    // The canonical URL itself resolves (a NamingSystem's uniqueId is its address too, but for the
    // batch-state one, which shares the CodeSystem's URI).
    if (key.endsWith(`/${d.resourceType}/${d.id}`)) assert.deepEqual((await getJson(key)).body, d);
    const param = d.resourceType === 'NamingSystem' ? 'value' : 'url';
    const found = await getJson(`${base}/fhir/${d.resourceType}?${param}=${encodeURIComponent(key)}`);
    assert.equal(found.status, 200);
    assert.equal(found.body.resourceType, 'Bundle');
    assert.deepEqual(
      found.body.entry.map((e) => e.resource.id),
      [d.id],
    );
  }
  const missing = await fetch(`${base}/fhir/StructureDefinition/not-ours`);
  assert.equal(missing.status, otherId);
  assert.equal(((await missing.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
  const write = await fetch(`${base}/fhir/StructureDefinition/${defs[0]!.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(defs[0]),
  });
  assert.ok([401, 404, 405].includes(write.status), `PUT → ${write.status}`);
}

// One service at a time: the canonical base is process-wide (src/fhir/definitions/canonical.ts).
describe('served in demo mode (embedded server behind a token)', { timeout: 120_000 }, () => {
  let demo: RunningService;
  before(async () => {
    demo = await startService(
      { ...QUIET, DEV_FHIR_TOKENS: 'a-dev-token-for-the-fhir-server' },
      { definitionsAtPublicBase: true },
    );
  });
  after(async () => {
    await demo?.stop();
  });

  it('GET by id, by canonical URL and by search, without the token; other ids reach the embedded server (401)', async () => {
    await servesAll(demo.base, 401);
  });

  it('the embedded server holds them too', async () => {
    const repo = demo.c.devFhir!.repo;
    for (const d of ourDefinitions()) {
      const stored = await repo.readResource(d.resourceType, d.id!);
      assert.equal((stored as { id: string }).id, d.id);
    }
  });
});

describe('served with an external FHIR_BASE_URL', { timeout: 120_000 }, () => {
  let prod: RunningService;
  let hospital: TestFhirServer;
  before(async () => {
    hospital = await startFhirServer();
    prod = await startService(
      { ...QUIET, FHIR_BASE_URL: hospital.base, CDS_TRUST_DEV_ISSUER: 'true' },
      { definitionsAtPublicBase: true },
    );
  });
  after(async () => {
    await prod?.stop();
    await hospital?.close();
  });

  it('GET by id, by canonical URL and by search; other ids are our 404 OperationOutcome', async () => {
    assert.equal(prod.c.devFhir, undefined);
    await servesAll(prod.base, 404);
  });
});
