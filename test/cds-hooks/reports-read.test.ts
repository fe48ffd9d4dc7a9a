/**
 * Stored results are never lost to a slow read (issue #13 item 7): the hook reads our DiagnosticReports
 * from the request's `fhirServer`; a failed or late read gets one retry within HOOK_BUDGET_MS, and when
 * both attempts fail the card says the results could not be fetched, with nothing analysed or queued.
 * Real parts: the demo service with its embedded FHIR server (seeded and analysed), reached through a
 * real HTTP proxy that fails the DiagnosticReport searches as each test says (503 or no answer).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { responseRuleErrors } from '../support/cds-schema.js';
import { forward } from '../support/faulty-proxy.js';
import { freePort, postPatientView, type RunningService, startService } from '../support/service.js';

const _SVC = '/cds-services/ecg-arrhythmia';
/** Each attempt at the reports gets 40 % of it (1 200 ms); a retry may run until 80 % (2 400 ms). */
const BUDGET_MS = 3000;

type Fault = '503' | 'hang';

/**
 * Forwards to `target` (set once the service is up); the DiagnosticReport searches it gets are failed in
 * turn by `faults` (then forwarded once it is used up). A hung request is dropped after 5 s.
 */
async function reportsProxy(port: number) {
  const state = { target: '', faults: [] as Fault[], reportReads: 0, otherReads: 0 };
  const server: Server = createServer((req, res) => {
    const isReports = /^\/DiagnosticReport(\?|$)/.test(req.url ?? '');
    if (isReports) state.reportReads++;
    else state.otherReads++;
    const fault = isReports ? state.faults.shift() : undefined;
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/fhir+json' }).end(
        JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'transient' }],
        }),
      );
      return;
    }
    if (fault === 'hang') {
      req.resume();
      setTimeout(() => res.destroy(), 5000).unref();
      return;
    }
    const t = new URL(state.target);
    forward(req, res, t);
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  });
}

interface CardLike {
  summary: string;
  detail: string;
  indicator: string;
  source: { topic?: { code: string } };
  links?: Array<{ url: string }>;
}

describe('reading our reports: one retry, and no results made up or re-analysed', {
  timeout: 180_000,
}, () => {
  let s: RunningService;
  let proxy: Awaited<ReturnType<typeof reportsProxy>>;

  before(async () => {
    // The proxy's port first: it is the service's allowed `fhirServer`.
    proxy = await reportsProxy(await freePort());
    s = await startService({
      HOOK_BUDGET_MS: String(BUDGET_MS),
      FHIR_SERVER_ALLOWLIST: proxy.url,
      SUBSCRIPTIONS_ENSURE: 'false',
      NIGHTLY_ENABLED: 'false',
    });
    proxy.target = s.c.config.fhir.baseUrl;
    await s.c.queue.drain();
  });
  after(async () => {
    await s?.stop();
    await proxy?.close();
  });
  beforeEach(() => {
    proxy.faults = [];
    proxy.reportReads = 0;
  });

  /** Every analysis the service ran (on demand, queued, seeding), from its own metrics. */
  const analysesSoFar = async () => {
    const m = await s.c.metrics.analyses.get();
    return m.values.reduce((sum, v) => sum + v.value, 0);
  };

  const callFor = async (record: string) => {
    const seeded = s.seeded.find((x) => x.patient.record.includes(record))!;
    const res = await postPatientView(s, seeded.patient.id, { fhirServer: proxy.url });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(responseRuleErrors(res.body), []);
    return { cards: res.body.cards as CardLike[], seeded };
  };

  /** Waits for anything the call queued, then the number of analyses since `before`. */
  const analysesSince = async (before: number) => {
    await new Promise((r) => setTimeout(r, 200));
    await s.c.queue.drain();
    return (await analysesSoFar()) - before;
  };

  const assertStoredAfCard = (cards: CardLike[]) => {
    const af = cards.find((c) => /Atrial fibrillation/i.test(c.summary));
    assert.ok(af, JSON.stringify(cards));
    assert.ok(
      af.links?.some((l) => /\/DiagnosticReport\//.test(l.url)),
      'the card links the stored report (read back, not analysed now)',
    );
    assert.ok(!cards.some((c) => /could not be fetched/.test(c.summary)), JSON.stringify(cards));
  };

  it('a 503 on the first read: the retry brings the stored results, nothing analysed or queued', async () => {
    const before = await analysesSoFar();
    proxy.faults = ['503'];
    const { cards } = await callFor('A00004');
    assert.equal(proxy.reportReads, 2, 'read, failed, read again');
    assertStoredAfCard(cards);
    assert.equal(await analysesSince(before), 0);
  });

  it('a first read slower than its slice of the budget: the retry brings the stored results', async () => {
    const before = await analysesSoFar();
    proxy.faults = ['hang'];
    const t0 = performance.now();
    const { cards } = await callFor('A00004');
    const ms = performance.now() - t0;
    assert.equal(proxy.reportReads, 2);
    assertStoredAfCard(cards);
    // The hung read was given up at its slice (1 200 ms), not waited for (5 s).
    assert.ok(ms < BUDGET_MS, `answered in ${Math.round(ms)} ms`);
    assert.equal(await analysesSince(before), 0);
  });

  for (const faults of [
    ['503', '503'],
    ['hang', 'hang'],
  ] as Fault[][]) {
    it(`both reads fail (${faults.join(', ')}): an info card per ECG says so, nothing analysed or queued`, async () => {
      const before = await analysesSoFar();
      proxy.faults = [...faults];
      const { cards, seeded } = await callFor('A00004');
      assert.equal(proxy.reportReads, 2, 'one retry, no more');
      assert.equal(cards.length, 1, JSON.stringify(cards));
      const card = cards[0]!;
      assert.equal(card.indicator, 'info');
      assert.match(
        card.summary,
        /AI results for the ECG( of \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2})? could not be fetched/,
      );
      assert.match(card.detail, /AI-generated, preliminary/);
      assert.match(card.detail, /not sent for a new analysis/);
      // No finding is made up: no topic, and no rhythm named.
      assert.equal(card.source.topic, undefined);
      assert.doesNotMatch(`${card.summary}\n${card.detail}`, /fibrillation|bigeminy|tachycardia|sinus/i);
      assert.ok(
        card.links?.some((l) => l.url === `${proxy.url}/Observation/${seeded.observation.id}`),
        JSON.stringify(card.links),
      );
      assert.equal(await analysesSince(before), 0, 'no on-demand analysis, no queued re-analysis');
    });
  }
});
