/**
 * Subscriptions end to end (issue #5): the embedded FHIR server notifies /fhir/notify over real HTTP and
 * the queue writes one DiagnosticReport per Observation version, whatever the delivery style.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stateStoreAt } from '../../src/batch/checkpoint.js';
import { ensureSubscriptions } from '../../src/fhir/subscriptions/ensure.js';
import { createNotifyTokens } from '../../src/fhir/subscriptions/notify-token.js';
import { bearerOf, sign } from '../../src/fhir/subscriptions/verify.js';
import { type RunningService, startService } from '../support/service.js';

const ADMIN = 'dev-fhir-admin-token-for-tests-0123';
const SECRET = 'test-subscription-secret-0123456789';

describe('FHIR Subscriptions', { timeout: 120_000 }, () => {
  let s: RunningService;
  const fhir = () => s.c.backend;
  const template = () => {
    const { id: _id, meta: _meta, ...rest } = s.seeded[0]!.observation;
    return rest as fhir4.Observation;
  };
  const reportsFor = async (obsId: string) => {
    let n = 0;
    for await (const r of fhir().searchAll('DiagnosticReport', {})) {
      if (JSON.stringify(r).includes(`Observation/${obsId}`)) n++;
    }
    return n;
  };
  const settle = async () => {
    await s.c.subscriptions.delivery?.idle();
    await new Promise((ok) => setTimeout(ok, 100));
    await s.c.queue.drain();
  };
  /** Creates an ECG Observation without the embedded server's delivery (the test plays the server). */
  const quietCreate = async () => {
    s.c.subscriptions.delivery?.close();
    return fhir().create(template());
  };
  const notify = (path: string, init: RequestInit) => fetch(`${s.base}/fhir/notify${path}`, init);

  before(async () => {
    s = await startService({ SUBSCRIPTION_SECRET: SECRET, DEV_FHIR_ADMIN_TOKEN: ADMIN });
  });
  after(async () => {
    await s?.stop();
  });

  it('registers an active rest-hook Subscription at start-up, idempotently', async () => {
    const subs = [];
    for await (const x of fhir().searchAll('Subscription', {})) subs.push(x);
    assert.equal(subs.length, 1);
    assert.equal(subs[0]!.status, 'active');
    assert.equal(subs[0]!.channel.endpoint, `${s.base}/fhir/notify`);
    // The header carries the Subscription's own notify token, never the secret (issue #13 item 6).
    assert.match(subs[0]!.channel.header?.[0] ?? '', /^Authorization: Bearer ecgn1-[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(subs[0]).includes(SECRET));
  });

  it('the embedded server hides channel.header from readers without the admin token (issue #13 item 6)', async () => {
    const base = s.c.config.fhir.baseUrl;
    const get = async (path: string, token?: string) => {
      const res = await fetch(
        `${base}/${path}`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      );
      assert.equal(res.status, 200);
      return res.json() as Promise<fhir4.Bundle | fhir4.Subscription>;
    };
    const searched = (await get('Subscription')) as fhir4.Bundle<fhir4.Subscription>;
    const sub = searched.entry![0]!.resource!;
    assert.equal(sub.channel.header, undefined, 'search without a token');
    assert.equal(
      ((await get(`Subscription/${sub.id}`)) as fhir4.Subscription).channel.header,
      undefined,
      'read',
    );
    assert.equal(
      ((await get(`Subscription/${sub.id}`, 'someone-elses-token-0000')) as fhir4.Subscription).channel
        .header,
      undefined,
      'another token',
    );
    const history = (await get(`Subscription/${sub.id}/_history`)) as fhir4.Bundle<fhir4.Subscription>;
    assert.ok(
      history.entry!.every((e) => e.resource!.channel.header === undefined),
      'history',
    );
    // the endpoint and everything else stay readable; the admin token sees the header
    assert.equal(sub.channel.endpoint, `${s.base}/fhir/notify`);
    const admin = (await get(`Subscription/${sub.id}`, ADMIN)) as fhir4.Subscription;
    assert.match(admin.channel.header?.[0] ?? '', /^Authorization: Bearer ecgn1-/);
  });

  it('embedded delivery: creating an ECG Observation makes its DiagnosticReport appear', async () => {
    const obs = await fhir().create(template());
    await settle();
    assert.equal(await reportsFor(obs.id!), 1);
  });

  it('PUT style, duplicates and out-of-order: one report per version; 401 without the secret', async () => {
    const obs = await quietCreate();
    const body = JSON.stringify(obs);
    const put = (auth: string) =>
      notify(`/Observation/${obs.id}`, {
        method: 'PUT',
        headers: { authorization: auth, 'content-type': 'application/fhir+json' },
        body,
      });
    assert.equal((await put('Bearer wrong-secret-wrong-secret')).status, 401);
    const statuses = await Promise.all([1, 2, 3].map(() => put(`Bearer ${SECRET}`)));
    assert.deepEqual(
      statuses.map((r) => r.status),
      [200, 200, 200],
    );
    await settle();
    assert.equal(await reportsFor(obs.id!), 1);
    const ignored = await notify('/Observation/x', {
      method: 'PUT',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Observation', id: 'x', status: 'final', code: { text: 'BP' } }),
    });
    assert.equal(ignored.status, 200);
  });

  it('HMAC POST style; a bad signature is 401', async () => {
    const obs = await quietCreate();
    const body = JSON.stringify(obs);
    const bad = await notify('', { method: 'POST', headers: { 'x-signature': sign('nope', body) }, body });
    assert.equal(bad.status, 401);
    const ok = await notify('', {
      method: 'POST',
      headers: { 'x-signature': `sha256=${sign(SECRET, body)}`, 'content-type': 'application/json' },
      body,
    });
    assert.equal(ok.status, 200);
    await settle();
    assert.equal(await reportsFor(obs.id!), 1);
  });

  it('ping style re-queries recent ECG Observations', async () => {
    const obs = await quietCreate();
    const r = await notify('', { method: 'POST', headers: { authorization: `Bearer ${SECRET}` } });
    assert.equal(r.status, 200);
    for (let i = 0; i < 50 && (await reportsFor(obs.id!)) === 0; i++) {
      await new Promise((ok) => setTimeout(ok, 200));
      await s.c.queue.drain();
    }
    assert.equal(await reportsFor(obs.id!), 1);
  });

  it('backport bundles: handshake, heartbeat, id-only events, gap recovery', async () => {
    const a = await quietCreate();
    const b = await quietCreate();
    const bundle = (type: string, since: number, events: Array<[number, string]>) => ({
      resourceType: 'Bundle',
      type: 'history',
      entry: [
        {
          resource: {
            resourceType: 'Parameters',
            parameter: [
              { name: 'subscription', valueReference: { reference: 'Subscription/topic-1' } },
              { name: 'type', valueCode: type },
              { name: 'events-since-subscription-start', valueString: String(since) },
              ...events.map(([n, ref]) => ({
                name: 'notification-event',
                part: [
                  { name: 'event-number', valueString: String(n) },
                  { name: 'focus', valueReference: { reference: ref } },
                ],
              })),
            ],
          },
        },
      ],
    });
    const post = (b: unknown) =>
      notify('', {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(b),
      });
    assert.equal((await post(bundle('handshake', 0, []))).status, 200);
    assert.equal((await post(bundle('event-notification', 1, [[1, `Observation/${a.id}`]]))).status, 200);
    assert.equal((await post(bundle('heartbeat', 1, []))).status, 200);
    // Event 2 (Observation b) is never delivered: event 3 reveals the gap, b is re-queried.
    assert.equal((await post(bundle('event-notification', 3, [[3, `Observation/${a.id}`]]))).status, 200);
    for (let i = 0; i < 50 && (await reportsFor(b.id!)) === 0; i++) {
      await new Promise((ok) => setTimeout(ok, 200));
      await s.c.queue.drain();
    }
    assert.equal(await reportsFor(a.id!), 1);
    assert.equal(await reportsFor(b.id!), 1);
  });

  it('notify tokens: the header token authorises /fhir/notify only; --rotate revokes it', async () => {
    const header = async () => {
      for await (const x of fhir().searchAll('Subscription', {}))
        return bearerOf(x.channel.header?.[0]?.replace(/^Authorization:\s*/i, ''));
      return undefined;
    };
    const ping = (token: string) =>
      notify('', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const old = (await header())!;
    assert.equal((await ping(old)).status, 200);
    // A token of the same shape derived from another secret, or for another generation, is refused.
    const stranger = createNotifyTokens(
      'another-secret-0123456789',
      stateStoreAt({ redisPrefix: 'x', fhir: fhir() }, 'x'),
    );
    assert.equal((await ping(await stranger.tokenFor('rest-hook'))).status, 401);
    // The token is no FHIR or CDS credential: the embedded server and the hook refuse it.
    assert.equal(
      (
        await fetch(`${s.base}/cds-services/ecg-arrhythmia`, {
          method: 'POST',
          headers: { authorization: `Bearer ${old}` },
        })
      ).status,
      401,
    );

    // What `ecg-cds subscriptions ensure --rotate` does, from another process's point of view.
    const tokens = createNotifyTokens(
      SECRET,
      stateStoreAt({ redisPrefix: 'ecg-cds', fhir: fhir() }, 'notify-token'),
    );
    await ensureSubscriptions(fhir(), { publicBaseUrl: s.base, tokens, rotate: true });
    const fresh = (await header())!;
    assert.notEqual(fresh, old);
    await new Promise((ok) => setTimeout(ok, 1100)); // the receiver re-reads the generation at most once a second
    assert.equal((await ping(fresh)).status, 200);
    assert.equal((await ping(old)).status, 401);
  });
});
