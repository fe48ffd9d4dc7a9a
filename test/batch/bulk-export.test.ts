/**
 * The Bulk Data `$export` reader against the embedded server's export endpoint over HTTP: kick-off,
 * polling with Retry-After, NDJSON download; it returns the same ECGs as the search reader, in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bulkExportReader, retryAfterMs } from '../../src/batch/bulk-export.js';
import { type EcgRef, searchReader } from '../../src/batch/reader.js';
import { seedEcgs } from '../support/batch.js';
import { type RunningService, startService } from '../support/service.js';

async function all(it: AsyncIterable<EcgRef>): Promise<EcgRef[]> {
  const out: EcgRef[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('bulk $export reader', () => {
  let s: RunningService;
  before(async () => {
    s = await startService({ SUBSCRIPTIONS_ENSURE: 'false' });
  });
  after(async () => {
    await s.stop();
  });

  test('the dev server advertises $export in its CapabilityStatement', async () => {
    const cs = await s.c.backend.capabilities();
    assert.ok(cs.rest?.[0]?.operation?.some((o) => o.name === 'export'));
  });

  test('kick-off, poll honouring Retry-After, NDJSON: the same ECGs as search, in lastUpdated order', async () => {
    await seedEcgs(s.c.backend, 5, 'bulk');
    const polls: number[] = [];
    const spy: typeof fetch = async (input, init) => {
      if (String(input).includes('$export-status') && (init?.method ?? 'GET') === 'GET')
        polls.push(Date.now());
      return fetch(input, init);
    };
    const t0 = Date.now();
    const bulk = await all(bulkExportReader({ baseUrl: `${s.base}/fhir`, fetch: spy }).read({}));
    assert.ok(polls.length >= 2, 'a 202 first, then the manifest');
    assert.ok((polls[1] ?? 0) - (polls[0] ?? 0) >= 950, 'waited the Retry-After of 1 s');
    const search = await all(searchReader(s.c.backend, 4).read({}));
    assert.equal(bulk.length, 5 + s.seeded.length);
    assert.deepEqual(bulk.map((r) => r.id).sort(), search.map((r) => r.id).sort());
    const times = bulk.map((r) => Date.parse(r.lastUpdated));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.ok(Date.now() - t0 < 10_000);

    const since = bulk[3]?.lastUpdated ?? '';
    const later = await all(bulkExportReader({ baseUrl: `${s.base}/fhir` }).read({ since }));
    assert.ok(later.every((r) => r.lastUpdated >= since) && later.length <= bulk.length - 3);
  });

  test('kick-off without Prefer: respond-async is refused', async () => {
    const res = await fetch(`${s.base}/fhir/$export`);
    assert.equal(res.status, 400);
  });

  test('Retry-After as seconds or HTTP date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 5_000), 5000);
    assert.equal(retryAfterMs(null), 1000);
  });
});
