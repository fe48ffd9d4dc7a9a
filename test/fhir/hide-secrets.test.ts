/** redact(): Subscription.channel.header removed from JSON resources, Bundles and ndjson; nothing else touched. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAdminBearer, redact } from '../../src/fhir/dev-server/hide-secrets.js';

const sub = {
  resourceType: 'Subscription',
  id: 's',
  channel: { type: 'rest-hook', header: ['Authorization: Bearer x'] },
};

describe('hide-secrets', () => {
  it('removes the header from a Subscription, a Bundle of them and ndjson lines', () => {
    assert.deepEqual(JSON.parse(redact(JSON.stringify(sub))).channel, { type: 'rest-hook' });
    const bundle = {
      resourceType: 'Bundle',
      entry: [{ resource: sub }, { resource: { resourceType: 'Patient' } }],
    };
    const b = JSON.parse(redact(JSON.stringify(bundle)));
    assert.equal(b.entry[0].resource.channel.header, undefined);
    assert.deepEqual(b.entry[1].resource, { resourceType: 'Patient' });
    const nd = `${JSON.stringify(sub)}\n${JSON.stringify({ resourceType: 'Patient', id: 'p' })}\n`;
    const lines = redact(nd).split('\n');
    assert.equal(JSON.parse(lines[0]!).channel.header, undefined);
    assert.equal(lines[1], JSON.stringify({ resourceType: 'Patient', id: 'p' }));
  });
  it('leaves other text unchanged, including text that is not JSON', () => {
    const cap = JSON.stringify({
      resourceType: 'CapabilityStatement',
      rest: [{ resource: [{ type: 'Subscription' }] }],
    });
    assert.equal(redact(cap), cap);
    assert.equal(redact('"Subscription" not json {'), '"Subscription" not json {');
  });
  it('the admin bearer is compared exactly', () => {
    assert.ok(isAdminBearer('a'.repeat(20), `Bearer ${'a'.repeat(20)}`));
    assert.ok(!isAdminBearer('a'.repeat(20), `Bearer ${'a'.repeat(19)}`));
    assert.ok(!isAdminBearer('a'.repeat(20), undefined));
    assert.ok(!isAdminBearer('a'.repeat(20), `Basic ${'a'.repeat(20)}`));
  });
});
