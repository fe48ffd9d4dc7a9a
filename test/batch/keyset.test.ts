/**
 * Keyset paging by `_lastUpdated` (issue #11 item 7) against the embedded FHIR server over HTTP: many
 * ECGs share one `_lastUpdated` across page boundaries, the reader returns each exactly once in
 * (`_lastUpdated`, id) order and never asks for an `_offset`; with a server that caps `_count` below the
 * run of equal timestamps it still returns each once. The Subscription gap state survives a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fhirStateStore } from '../../src/batch/checkpoint.js';
import { keysetSearch } from '../../src/batch/keyset.js';
import { searchReader } from '../../src/batch/reader.js';
import type { StoredVersion } from '../../src/fhir/dev-server/index.js';
import { LOINC_EKG_STUDY } from '../../src/fhir/ecg-codec-codes.js';
import { createGapTracker, type GapState } from '../../src/fhir/subscriptions/gaps.js';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server.js';

const T0 = '2024-05-01T10:00:00.120Z';
const T1 = '2024-05-01T10:00:00.123Z';
const T2 = '2024-05-01T10:00:01.000Z';

/** Stored directly with these `meta.lastUpdated` values (the server stamps its own on HTTP writes). */
function ecgAt(id: string, lastUpdated: string): StoredVersion[] {
  const resource = {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ ...LOINC_EKG_STUDY }] },
    subject: { reference: `Patient/keyset-${id}` },
    meta: { versionId: '1', lastUpdated },
  };
  return [{ resource, deleted: false } as unknown as StoredVersion];
}

/** 1 ECG at T0, 7 at T1 (ids out of order), 3 at T2, and a non-ECG Observation at T1. */
function load(server: TestFhirServer): string[] {
  const ecgs = [
    ecgAt('k-early', T0),
    ...['k-g', 'k-b', 'k-e', 'k-a', 'k-f', 'k-c', 'k-d'].map((id) => ecgAt(id, T1)),
    ...['k-y', 'k-x', 'k-z'].map((id) => ecgAt(id, T2)),
  ];
  const bp = ecgAt('k-bp', T1);
  (bp[0]!.resource as { code: unknown }).code = { text: 'blood pressure' };
  server.dev.repo.importVersions([...server.dev.repo.exportVersions(), ...ecgs, bp]);
  return ['k-early', ...['k-a', 'k-b', 'k-c', 'k-d', 'k-e', 'k-f', 'k-g'], 'k-x', 'k-y', 'k-z'];
}

describe('keyset paging by _lastUpdated', () => {
  let server: TestFhirServer;
  let capped: TestFhirServer;
  let expected: string[];
  before(async () => {
    server = await startFhirServer();
    capped = await startFhirServer({ maxCount: 4 });
    expected = load(server);
    load(capped);
  });
  after(async () => {
    await server?.close();
    await capped?.close();
  });

  test('pages of 3 over 7 equal timestamps: each ECG once, in order, no _offset', async () => {
    server.requests.length = 0;
    const ids: string[] = [];
    for await (const ref of searchReader(server.fhir, 3).read({})) ids.push(ref.id);
    assert.deepEqual(ids, expected);
    const searches = server.requests.filter((r) => r.startsWith('GET /Observation?'));
    assert.ok(searches.length > 3, `several pages (${searches.length})`);
    assert.ok(
      searches.every((r) => !r.includes('_offset')),
      'keyset, not offsets',
    );
    assert.ok(searches.slice(1).every((r) => r.includes('_lastUpdated=ge')));
  });

  test('a range starts inclusive at `since` and stops before `until`', async () => {
    const ids: string[] = [];
    for await (const ref of searchReader(server.fhir, 2).read({ since: T1, until: T2 })) ids.push(ref.id);
    assert.deepEqual(ids, expected.slice(1, 8));
  });

  test('a server capping _count below the run of equal timestamps: still each ECG once', async () => {
    const ids: string[] = [];
    for await (const ref of searchReader(capped.fhir, 3).read({})) ids.push(ref.id);
    assert.deepEqual([...ids].sort(), [...expected].sort());
    assert.equal(new Set(ids).size, ids.length, 'no repeats');
    // The run at T1 was read with the server's own paging, bounded to that one instant.
    assert.ok(capped.requests.some((r) => r.includes('_offset') && r.includes('_lastUpdated=lt')));
  });

  test('exclusive lower bound (gt) skips the instant itself', async () => {
    const ids: string[] = [];
    for await (const r of keysetSearch(server.fhir, 'Observation', {
      params: { code: `${LOINC_EKG_STUDY.system}|${LOINC_EKG_STUDY.code}` },
      from: { instant: T1, inclusive: false },
      pageSize: 2,
    }))
      ids.push(r.id ?? '');
    assert.deepEqual(ids, ['k-x', 'k-y', 'k-z']);
  });
});

describe('Subscription gap state', () => {
  let server: TestFhirServer;
  before(async () => {
    server = await startFhirServer();
  });
  after(async () => {
    await server?.close();
  });

  test('persisted: a gap across a restart is noticed', async () => {
    const store = () => fhirStateStore<GapState>(server.fhir, 'gaps-test-state', 'gaps-test');
    const status = (n: number) => ({
      subscription: 'Subscription/topic-1',
      type: 'event-notification' as const,
      eventsSinceStart: n,
      events: [{ eventNumber: n, focus: 'Observation/x' }],
    });
    const enqueue = async () => true;
    const first = createGapTracker({ fhir: server.fhir, enqueue, state: store() });
    await first.flush();
    assert.equal(first.observe(status(1)), false);
    assert.equal(first.observe(status(2)), false);
    await first.flush();
    assert.deepEqual((await store().load())?.seen, { 'Subscription/topic-1': 2 });

    // A new process: event 3 was never delivered; event 4 reveals it.
    const second = createGapTracker({ fhir: server.fhir, enqueue, state: store() });
    await second.flush();
    assert.equal(second.observe(status(4)), true);
    await second.flush();
    assert.equal((await store().load())?.seen['Subscription/topic-1'], 4);
  });
});
