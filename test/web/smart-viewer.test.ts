/**
 * The SMART launch and the viewer's server side over HTTP (issue #12), on a real demo-mode service:
 * the dev authorization server (smart-configuration, launch, code + PKCE S256, token with appContext),
 * the analysis endpoint the viewer draws from, the demo EHR's token endpoint, and the pages and bundles.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type RunningService, startService } from '../support/service.js';

let svc: RunningService;
before(async () => {
  svc = await startService();
});
after(() => svc?.stop());

const fhir = () => `${svc.base}/fhir`;
const redirectUri = () => `${svc.base}/viewer`;

/** The demo bigeminy patient (MIT-BIH 119) and its ECG. */
function bigeminy(): { patient: string; observation: string } {
  const s = svc.seeded.find((x) => x.patient.record.includes('mitdb-119'));
  assert.ok(s?.observation.id);
  return { patient: s.patient.id, observation: `Observation/${s.observation.id}` };
}

async function launch(patient: string, appContext?: string): Promise<string> {
  const r = await fetch(`${fhir()}/auth/launch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ patient, ...(appContext ? { appContext } : {}) }),
  });
  assert.equal(r.status, 201);
  return ((await r.json()) as { launch: string }).launch;
}

async function authorize(
  launchId: string,
  challenge: string,
  extra: Record<string, string> = {},
): Promise<URL> {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'ecg-cds-viewer',
    redirect_uri: redirectUri(),
    scope: 'launch openid patient/*.read',
    state: 'st-1',
    aud: fhir(),
    launch: launchId,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  const r = await fetch(`${fhir()}/auth/authorize?${q}`, { redirect: 'manual' });
  assert.equal(r.status, 302);
  return new URL(r.headers.get('location')!);
}

const tokenRequest = (code: string, verifier: string) =>
  fetch(`${fhir()}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: 'ecg-cds-viewer',
      code_verifier: verifier,
    }),
  });

describe('dev SMART authorization server (demo mode)', () => {
  it('publishes .well-known/smart-configuration with PKCE S256 and EHR launch', async () => {
    const r = await fetch(`${fhir()}/.well-known/smart-configuration`);
    assert.equal(r.status, 200);
    const c = (await r.json()) as Record<string, unknown>;
    assert.equal(c['authorization_endpoint'], `${fhir()}/auth/authorize`);
    assert.equal(c['token_endpoint'], `${fhir()}/auth/token`);
    assert.deepEqual(c['code_challenge_methods_supported'], ['S256']);
    assert.ok((c['capabilities'] as string[]).includes('launch-ehr'));
  });

  it('EHR launch → code → token with the patient and the card appContext; PKCE checked, codes single-use', async () => {
    const { patient, observation } = bigeminy();
    const appContext = JSON.stringify({ observation, report: 'DiagnosticReport/x' });
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const id = await launch(patient, appContext);

    const denied = await authorize(id, challenge, { code_challenge_method: 'plain' });
    assert.equal(denied.searchParams.get('error'), 'invalid_request');
    const unknown = await authorize('no-such-launch', challenge);
    assert.equal(unknown.searchParams.get('error'), 'access_denied');
    const offsite = await fetch(
      `${fhir()}/auth/authorize?redirect_uri=${encodeURIComponent('https://evil.example/cb')}`,
      { redirect: 'manual' },
    );
    assert.equal(offsite.status, 400, 'never redirects to another origin');

    const wrong = await authorize(id, challenge);
    assert.equal(wrong.searchParams.get('state'), 'st-1');
    const bad = await tokenRequest(
      wrong.searchParams.get('code')!,
      'not-the-verifier-but-long-enough-to-look-real-1234',
    );
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error_description: string }).error_description, /code_verifier/);
    assert.equal((await tokenRequest(wrong.searchParams.get('code')!, verifier)).status, 400, 'single use');

    const ok = await authorize(id, challenge);
    const r = await tokenRequest(ok.searchParams.get('code')!, verifier);
    assert.equal(r.status, 200);
    const t = (await r.json()) as Record<string, unknown>;
    assert.equal(t['token_type'], 'Bearer');
    assert.equal(t['patient'], patient);
    assert.equal(t['appContext'], appContext);
    assert.ok(Number(t['expires_in']) <= 300);

    // The viewer's analysis: read with that token from the allowed FHIR server, beats and spans back.
    const analysis = await fetch(`${svc.base}/viewer/api/analysis`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t['access_token']}` },
      body: JSON.stringify({ fhirServer: fhir(), observation }),
    });
    assert.equal(analysis.status, 200);
    const { view } = (await analysis.json()) as {
      view: { beats: { label: string }[]; findings: { saliency: unknown[] }[] };
    };
    assert.ok(view.beats.length > 150, `${view.beats.length} beats in 3 min`);
    assert.ok(view.beats.filter((b) => b.label === 'V').length > 30);
    assert.ok(view.findings.some((f) => f.saliency.length > 0));
    assert.ok(!JSON.stringify(view).includes('samples'), 'no waveform in the answer');
  });
});

describe('viewer analysis endpoint refuses', () => {
  const post = (body: unknown, auth = 'Bearer x') =>
    fetch(`${svc.base}/viewer/api/analysis`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
  it('a malformed reference (400 naming the field), another origin (400), no token (401)', async () => {
    const r1 = await post({ fhirServer: fhir(), observation: 'Patient/1' });
    assert.equal(r1.status, 400);
    assert.equal(((await r1.json()) as { field: string }).field, 'observation');
    const r2 = await post({ fhirServer: 'https://elsewhere.example/fhir', observation: 'Observation/a' });
    assert.equal(r2.status, 400);
    assert.match(((await r2.json()) as { error: string }).error, /not allowed/);
    assert.equal((await post({ fhirServer: fhir(), observation: 'Observation/a' }, '')).status, 401);
    assert.equal((await post({ fhirServer: fhir(), observation: 'Observation/nope' })).status, 404);
  });
});

describe('demo EHR server side', () => {
  it('mints a dev CDS JWT for our own CDS endpoints only, and it calls the hook', async () => {
    const mint = (aud: string) =>
      fetch(`${svc.base}/demo-ehr/api/cds-token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ aud }),
      });
    assert.equal((await mint('https://evil.example/cds-services/x')).status, 400);
    assert.equal((await mint(`${svc.base}/cds-services/../metrics`)).status, 400);
    const disc = (await (await mint(`${svc.base}/cds-services`)).json()) as { token: string };
    const r = await fetch(`${svc.base}/cds-services`, { headers: { Authorization: `Bearer ${disc.token}` } });
    assert.equal(r.status, 200);
  });

  it('serves the demo EHR at /, the viewer pages and the browser bundles', async () => {
    const home = await fetch(`${svc.base}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /<script type="module" src="\/web\/ehr\.js">/);
    assert.match(home.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    for (const name of ['ehr', 'viewer', 'launch']) {
      const js = await fetch(`${svc.base}/web/${name}.js`);
      assert.equal(js.status, 200, name);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      assert.ok((await js.text()).length > 1000);
    }
    assert.equal((await fetch(`${svc.base}/web/nope.js`)).status, 404);
    assert.equal((await fetch(`${svc.base}/viewer/launch`)).status, 200);
  });
});

describe('with DEV_FHIR_TOKENS', () => {
  let locked: RunningService;
  before(async () => {
    locked = await startService({ DEV_FHIR_TOKENS: 'static-dev-token-0123456789', DEMO_DATA: 'false' });
  });
  after(() => locked?.stop());

  it('the embedded server also accepts the access tokens its SMART server issued, and only those', async () => {
    const f = `${locked.base}/fhir`;
    const conf = await fetch(`${f}/.well-known/smart-configuration`);
    assert.equal(conf.status, 200, 'discovery stays open');
    const { launch: id } = (await (
      await fetch(`${f}/auth/launch`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ patient: 'p1' }),
      })
    ).json()) as { launch: string };
    const verifier = randomBytes(32).toString('base64url');
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: 'ecg-cds-viewer',
      redirect_uri: `${locked.base}/viewer`,
      aud: f,
      launch: id,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const code = new URL(
      (await fetch(`${f}/auth/authorize?${q}`, { redirect: 'manual' })).headers.get('location')!,
    ).searchParams.get('code')!;
    const t = (await (
      await fetch(`${f}/auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: `${locked.base}/viewer`,
          code_verifier: verifier,
        }),
      })
    ).json()) as { access_token: string };
    assert.equal((await fetch(`${f}/Patient`)).status, 401);
    assert.equal((await fetch(`${f}/Patient`, { headers: { Authorization: 'Bearer made-up' } })).status, 401);
    const ok = await fetch(`${f}/Patient`, { headers: { Authorization: `Bearer ${t.access_token}` } });
    assert.equal(ok.status, 200);
  });
});
