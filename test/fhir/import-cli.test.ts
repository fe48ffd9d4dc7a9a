import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { RECORD_IDENTIFIER_SYSTEM } from '../../src/fhir/definitions/canonical.js';
import { decodeEcgObservation } from '../../src/fhir/ecg-codec.js';
import { cli } from '../support/cli.js';
import { FIXTURES } from '../support/shared-data.js';

describe('ecg-cds import', () => {
  let server: Server;
  let base: string;
  const store = new Map<string, fhir4.Observation>();
  const seen: { ifNoneExist: string | undefined; auth: string | undefined }[] = [];
  before(async () => {
    const app = express();
    app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '50mb' }));
    // Conditional create keyed by the If-None-Exist query string: enough to show idempotence.
    app.post('/fhir/Observation', (req, res) => {
      const cond = req.get('if-none-exist');
      seen.push({ ifNoneExist: cond, auth: req.get('authorization') });
      const existing = cond ? store.get(cond) : undefined;
      if (existing) {
        res.status(200).json(existing);
        return;
      }
      const obs = { ...req.body, id: `obs${store.size + 1}` };
      store.set(cond ?? obs.id, obs);
      res.status(201).set('Location', `/fhir/Observation/${obs.id}/_history/1`).json(obs);
    });
    await new Promise<void>((r) => {
      server = app.listen(0, '127.0.0.1', () => r());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('without --fhir prints an Observation that decodes back to the record', async () => {
    const r = await cli('import', join(FIXTURES, 'ptbxl', '00003_hr'), '--patient', 'p1');
    assert.equal(r.code, 0, r.stderr);
    const obs = JSON.parse(r.stdout) as fhir4.Observation;
    assert.equal(obs.subject?.reference, 'Patient/p1');
    assert.equal(obs.code.coding?.[0]?.code, '34534-8');
    assert.deepEqual(obs.identifier, [{ system: RECORD_IDENTIFIER_SYSTEM, value: '00003_hr' }]);
    assert.equal(RECORD_IDENTIFIER_SYSTEM, 'http://localhost:8080/fhir/NamingSystem/ecg-cds-record');
    const ecg = decodeEcgObservation(obs);
    assert.equal(ecg.leads.length, 12);
    assert.equal(ecg.fs, 500);
  });

  it('with --fhir creates conditionally and prints the id; a second import creates nothing new', async () => {
    const record = join(FIXTURES, 'cinc2017', 'A00004');
    const first = await cli('import', record, '--patient', 'p9', '--fhir', base, '--token', 'tok-abc');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), 'obs1');
    const second = await cli('import', record, '--patient', 'p9', '--fhir', base, '--token', 'tok-abc');
    assert.equal(second.stdout.trim(), 'obs1');
    assert.equal(store.size, 1);
    const cond = new URLSearchParams(seen[0]!.ifNoneExist);
    assert.equal(cond.get('identifier'), `${RECORD_IDENTIFIER_SYSTEM}|A00004`);
    assert.equal(cond.get('subject'), 'Patient/p9');
    assert.equal(seen[0]!.auth, 'Bearer tok-abc');
    assert.doesNotMatch(first.stderr + first.stdout, /tok-abc/);
  });

  it('usage errors exit 2 with a message', async () => {
    const r = await cli('import', '--patient', 'p1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /record-path/);
    const missing = await cli('import', join(FIXTURES, 'nope'), '--patient', 'p1');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /not found/);
  });
});
