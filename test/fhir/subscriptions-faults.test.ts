/**
 * Fault injection (issue #5 item 4): the service's FHIR traffic goes through a proxy that fails 20 % of
 * requests (5xx or no answer) while 1,000 notifications arrive (200 Observation versions, each notified
 * 5 times, shuffled) → once the queue drains, every version has exactly one DiagnosticReport.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createFhirClient } from '../../src/fhir/client.js';
import { ANALYSIS_IDENTIFIER_SYSTEM } from '../../src/fhir/definitions/canonical.js';
import { type Composed, compose } from '../../src/main.js';
import { silentLogger } from '../../src/ops/log.js';
import { type FaultyProxy, startFaultyProxy } from '../support/faulty-proxy.js';
import { freePort } from '../support/service.js';

const SECRET = 'fault-injection-secret-0123456789';
const OBSERVATIONS = 40;
const VERSIONS = 5;
const REPEATS = 5;

// Generous: about 40 s on a quiet 2-core machine, more than 120 s when the machine is shared.
describe('Subscriptions under FHIR faults', { timeout: 300_000 }, () => {
  let c: Composed;
  let server: Server;
  let proxy: FaultyProxy;
  let dir: string;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecg-cds-faults-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proxy = await startFaultyProxy(`${base}/fhir`, { failRate: 0.2, hangMs: 1500 });
    const config = loadConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: base,
      DEV_KEY_PATH: join(dir, 'dev-key.json'),
      LOG_LEVEL: 'silent',
      SUBSCRIPTION_SECRET: SECRET,
      FHIR_TIMEOUT_MS: '500',
    });
    // Demo mode (embedded server) but the service reaches it only through the faulty proxy.
    c = await compose({ ...config, fhir: { ...config.fhir, baseUrl: proxy.url } }, silentLogger);
    server = c.app.listen(port, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((ok) => server?.close(ok));
    await c?.close();
    await proxy?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('1,000 notifications, 20 % FHIR failures: 0 lost, 0 duplicate reports', async () => {
    const direct = createFhirClient({ baseUrl: `${base}/fhir` });
    const { seedDemo } = await import('../../src/fhir/demo/seed.js');
    const seeded = await seedDemo(direct, join(import.meta.dirname, '..', 'fixtures'));
    const { id: _i, meta: _m, ...template } = seeded[0]!.observation;
    const versions: fhir4.Observation[] = [];
    for (let i = 0; i < OBSERVATIONS; i++) {
      let obs = await direct.create(template as fhir4.Observation);
      versions.push(obs);
      for (let v = 1; v < VERSIONS; v++) {
        obs = await direct.update({ ...obs, id: obs.id!, issued: new Date(Date.now() + v).toISOString() });
        versions.push(obs);
      }
    }
    const notes = versions.flatMap((o) => Array.from({ length: REPEATS }, () => o));
    for (let i = notes.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [notes[i], notes[j]] = [notes[j]!, notes[i]!];
    }
    const started = Date.now();
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < notes.length) {
          const o = notes[next++]!;
          const r = await fetch(`${base}/fhir/notify/Observation/${o.id}`, {
            method: 'PUT',
            headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/fhir+json' },
            body: JSON.stringify(o),
          });
          statuses.push(r.status);
        }
      }),
    );
    await c.queue.drain();
    const seconds = (Date.now() - started) / 1000;

    // Count through the proxy (the server's links point at it), with faults off.
    proxy.failRate = 0;
    const counter = createFhirClient({ baseUrl: proxy.url });
    const ids = new Map<string, number>();
    for await (const r of counter.searchAll('DiagnosticReport', {})) {
      const id = r.identifier?.find((x) => x.system === ANALYSIS_IDENTIFIER_SYSTEM)?.value;
      if (id && versions.some((o) => JSON.stringify(r).includes(`Observation/${o.id}`))) {
        ids.set(id, (ids.get(id) ?? 0) + 1);
      }
    }
    const duplicates = [...ids.values()].filter((n) => n > 1).length;
    process.stdout.write(
      `faults: ${notes.length} notifications, ${versions.length} versions, ${ids.size} reports, ` +
        `${duplicates} duplicated; proxy ${JSON.stringify(proxy.stats)}; ${seconds.toFixed(1)} s\n`,
    );
    assert.equal(statuses.filter((s) => s !== 200).length, 0);
    assert.ok(proxy.stats.failed5xx + proxy.stats.timedOut > 0);
    assert.equal(duplicates, 0);
    assert.equal(ids.size, versions.length);
  });
});
