/**
 * CDS Hooks 2.0 client authentication (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients) through the
 * real middleware: every bad token is a bare 401, and the reason code shows which check refused it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JSONWebKeySet,
  type JWTPayload,
  SignJWT,
} from 'jose';
import request from 'supertest';
import {
  type AuthError,
  type AuthErrorReason,
  cdsClientOf,
  createJwtVerifier,
  MemoryJtiCache,
  requireCdsJwt,
} from '../../src/cds-hooks/auth.js';
import { cdsCors } from '../../src/cds-hooks/cors.js';
import { devIssuer, devJwks, loadOrCreateDevKey, signDevToken } from '../../src/cds-hooks/dev-key.js';
import { REPO_ROOT } from '../support/shared-data.js';

const BASE = 'https://cds.example.org';
const SERVICE = '/cds-services/ecg-arrhythmia';
const AUD = `${BASE}${SERVICE}`;
const EHR = 'https://ehr.example.org';
const KID = 'ehr-key-1';
const JKU_ISSUER = 'https://jku-issuer.example.org';
const UNREACHABLE_JKU = 'http://127.0.0.1:9/jwks.json';

interface Keys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

const now = () => Math.floor(Date.now() / 1000);

async function jwks(keys: Keys, kid: string, alg: string): Promise<JSONWebKeySet> {
  return { keys: [{ ...(await exportJWK(keys.publicKey)), kid, alg, use: 'sig' }] };
}

interface Mint {
  key?: CryptoKey | Uint8Array;
  header?: Record<string, unknown>;
  claims?: JWTPayload;
  omit?: readonly string[];
}

describe('CDS client JWT authentication', () => {
  let ehr: Keys; // RS384, JWKS served over HTTP (the remote case)
  let other: Keys; // a key nobody trusts
  let jwksServer: Server;
  let jwksBase: string;
  let rejections: AuthErrorReason[];
  let app: express.Express;
  let devKeyDir: string;

  /** A token from the trusted EHR, valid for AUD, unless the options spoil it. */
  async function mint({ key, header, claims, omit = [] }: Mint = {}): Promise<string> {
    const iat = now();
    const payload: JWTPayload = { iss: EHR, aud: AUD, iat, exp: iat + 120, jti: randomUUID(), ...claims };
    for (const c of omit) delete payload[c];
    const h = { alg: 'RS384', kid: KID, typ: 'JWT', ...header };
    for (const c of omit) delete (h as Record<string, unknown>)[c];
    return new SignJWT(payload).setProtectedHeader(h as { alg: string }).sign(key ?? ehr.privateKey);
  }

  /** Calls the service with `token`; asserts a bare 401 and returns the internal reason. */
  async function refused(token: string | undefined, path = SERVICE): Promise<AuthErrorReason | undefined> {
    rejections = [];
    let req = request(app).post(path).send({ hook: 'patient-view' });
    if (token !== undefined) req = req.set('Authorization', `Bearer ${token}`);
    const res = await req;
    assert.equal(res.status, 401);
    assert.equal(res.text, '');
    assert.deepEqual(res.body, {});
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.equal(rejections.length, 1);
    return rejections[0];
  }

  async function accepted(token: string, path = SERVICE) {
    const res = await request(app).post(path).set('Authorization', `Bearer ${token}`).send({});
    assert.equal(res.status, 200, `rejected: ${rejections.join()}`);
    return res.body as { iss: string; sub?: string; tenant?: string };
  }

  before(async () => {
    ehr = await generateKeyPair('RS384', { extractable: true });
    other = await generateKeyPair('RS384', { extractable: true });
    const ehrSet = await jwks(ehr, KID, 'RS384');
    const jkuSet = await jwks(ehr, 'jku-key', 'RS384');
    const evilSet = await jwks(other, 'evil-key', 'RS384');
    jwksServer = createServer((req, res) => {
      const body = { '/jwks.json': ehrSet, '/jku.json': jkuSet, '/evil.json': evilSet }[req.url ?? ''];
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((ok) => jwksServer.listen(0, '127.0.0.1', ok));
    jwksBase = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;

    devKeyDir = await mkdtemp(join(tmpdir(), 'ecg-cds-devkey-'));
    const devKey = await loadOrCreateDevKey(join(devKeyDir, 'dev-key.json'));
    const verify = createJwtVerifier({
      issuers: [
        { iss: EHR, jwksUrl: `${jwksBase}/jwks.json` },
        { iss: devIssuer, jwks: devJwks(devKey) },
        // No pinned keys: this issuer's tokens name their key set with an allow-listed `jku`.
        { iss: JKU_ISSUER },
      ],
      // The second one is never reachable (port 9, discard): an air-gapped site's view of a public JWKS.
      jkuAllowList: [`${jwksBase}/jku.json`, UNREACHABLE_JKU],
    });
    app = express();
    app.use('/cds-services', cdsCors());
    app.use(
      '/cds-services',
      requireCdsJwt(verify, {
        publicBaseUrl: BASE,
        onReject: (err: AuthError) => rejections.push(err.reason),
      }),
    );
    app.all('/cds-services{/*rest}', (_req, res) => {
      const client = cdsClientOf(res);
      res.json({ iss: client?.iss, sub: client?.sub, tenant: client?.tenant });
    });
    rejections = [];
  });

  after(async () => {
    await new Promise((ok) => jwksServer.close(ok));
    await rm(devKeyDir, { recursive: true, force: true });
  });

  it('accepts a valid token (keys fetched from the issuer JWKS URL) and exposes the client', async () => {
    const body = await accepted(await mint({ claims: { sub: 'ehr-client', tenant: 'hospital-a' } }));
    assert.deepEqual(body, { iss: EHR, sub: 'ehr-client', tenant: 'hospital-a' });
  });

  it('accepts aud as an array containing the URL, and ignores the query string', async () => {
    await accepted(await mint({ claims: { aud: ['https://elsewhere.example', AUD] } }));
    await accepted(await mint(), `${SERVICE}?x=1`);
  });

  it('accepts a token whose allow-listed jku holds the key, from an issuer without pinned keys', async () => {
    const body = await accepted(
      await mint({ header: { jku: `${jwksBase}/jku.json`, kid: 'jku-key' }, claims: { iss: JKU_ISSUER } }),
    );
    assert.equal(body.iss, JKU_ISSUER);
  });

  it('pinned jwksUrl wins over jku: an allow-listed but unreachable jku still verifies (200)', async () => {
    await accepted(await mint({ header: { jku: UNREACHABLE_JKU } }));
  });

  it('pinned jwksUrl wins over jku: a key only in the jku set is unknown to a pinned issuer → 401', async () => {
    const token = await mint({ header: { jku: `${jwksBase}/jku.json`, kid: 'jku-key' } });
    assert.equal(await refused(token), 'unknown_kid');
  });

  it('an issuer without pinned keys and a token without jku → 401', async () => {
    assert.equal(await refused(await mint({ claims: { iss: JKU_ISSUER } })), 'jwks_unavailable');
  });

  it('alg none → 401', async () => {
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const payload = { iss: EHR, aud: AUD, iat: now(), exp: now() + 60, jti: randomUUID() };
    const token = `${enc({ alg: 'none', typ: 'JWT', kid: KID })}.${enc(payload)}.`;
    assert.equal(await refused(token), 'alg_not_allowed');
  });

  it('HS256 signed with the public key bytes as the secret (algorithm confusion) → 401', async () => {
    const secret = new TextEncoder().encode(await exportSPKI(ehr.publicKey));
    assert.equal(await refused(await mint({ key: secret, header: { alg: 'HS256' } })), 'alg_not_allowed');
  });

  it('bad signature → 401 (other key under the trusted kid, and a tampered payload)', async () => {
    assert.equal(await refused(await mint({ key: other.privateKey })), 'bad_signature');
    const [h, , s] = (await mint()).split('.');
    const forged = base64url.encode(
      JSON.stringify({ iss: EHR, aud: AUD, iat: now(), exp: now() + 60, jti: randomUUID(), sub: 'admin' }),
    );
    assert.equal(await refused(`${h}.${forged}.${s}`), 'bad_signature');
  });

  it('wrong aud → 401 (another endpoint, a string, or an array without the URL)', async () => {
    assert.equal(await refused(await mint({ claims: { aud: `${BASE}/cds-services` } })), 'wrong_audience');
    assert.equal(await refused(await mint({ claims: { aud: `${AUD}/` } })), 'wrong_audience');
    assert.equal(
      await refused(await mint({ claims: { aud: ['https://other.example/cds-services/x', BASE] } })),
      'wrong_audience',
    );
  });

  it('wrong iss → 401', async () => {
    assert.equal(await refused(await mint({ claims: { iss: 'https://evil.example' } })), 'untrusted_issuer');
  });

  it('expired → 401', async () => {
    const claims = { iat: now() - 400, exp: now() - 200 };
    assert.equal(await refused(await mint({ claims })), 'expired');
  });

  it('iat in the future (beyond the tolerance) → 401', async () => {
    const claims = { iat: now() + 120, exp: now() + 240 };
    assert.equal(await refused(await mint({ claims })), 'iat_in_future');
  });

  it('lifetime over five minutes → 401', async () => {
    assert.equal(await refused(await mint({ claims: { exp: now() + 3600 } })), 'lifetime_too_long');
  });

  it('replayed jti → the second use is 401', async () => {
    const token = await mint();
    await accepted(token);
    assert.equal(await refused(token), 'replayed');
  });

  it('unknown kid → 401', async () => {
    assert.equal(await refused(await mint({ header: { kid: 'not-in-jwks' } })), 'unknown_kid');
  });

  it('missing kid → 401', async () => {
    assert.equal(await refused(await mint({ omit: ['kid'] })), 'missing_kid');
  });

  it('jku not allow-listed → 401, even when it would hold the signing key', async () => {
    const token = await mint({
      key: other.privateKey,
      header: { jku: `${jwksBase}/evil.json`, kid: 'evil-key' },
    });
    assert.equal(await refused(token), 'jku_not_allowed');
  });

  it('missing Authorization header, or another scheme → 401', async () => {
    assert.equal(await refused(undefined), 'missing_token');
    rejections = [];
    const res = await request(app)
      .get('/cds-services')
      .set('Authorization', `Basic ${btoa('a:b')}`);
    assert.equal(res.status, 401);
    assert.equal(res.text, '');
    assert.deepEqual(rejections, ['missing_token']);
  });

  it('malformed token → 401', async () => {
    assert.equal(await refused('not-a-jwt'), 'malformed');
    assert.equal(await refused('a.b.c'), 'malformed');
    assert.equal(await refused('x'.repeat(10_000)), 'malformed');
  });

  it('missing jti, exp or iat → 401', async () => {
    assert.equal(await refused(await mint({ omit: ['jti'] })), 'missing_claim');
    assert.equal(await refused(await mint({ omit: ['exp'] })), 'missing_claim');
    assert.equal(await refused(await mint({ omit: ['iat'] })), 'missing_claim');
  });

  it('a dev token verifies only for the dev issuer key set it was configured with', async () => {
    const key = await loadOrCreateDevKey(join(devKeyDir, 'dev-key.json'));
    const body = await accepted(await signDevToken(key, { aud: AUD, sub: 'dev' }));
    assert.equal(body.iss, devIssuer);
    const stranger = await loadOrCreateDevKey(join(devKeyDir, 'another-key.json'));
    assert.equal(await refused(await signDevToken(stranger, { aud: AUD })), 'unknown_kid');
  });

  it('CORS: preflight is 204 without a token; a 401 still carries Allow-Origin', async () => {
    const pre = await request(app)
      .options(SERVICE)
      .set('Origin', 'https://ehr-ui.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.match(pre.headers['access-control-allow-headers'] ?? '', /Authorization/);
    assert.match(pre.headers['access-control-allow-headers'] ?? '', /Content-Type/);
    assert.match(pre.headers['access-control-allow-methods'] ?? '', /POST/);
    const denied = await request(app).post(SERVICE).set('Origin', 'https://ehr-ui.example').send({});
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['access-control-allow-origin'], '*');
  });

  it('CORS with an origin allow-list reflects only listed origins', async () => {
    const small = express().use(cdsCors({ origins: ['https://ehr-ui.example'] }));
    const ok = await request(small).options('/x').set('Origin', 'https://ehr-ui.example');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://ehr-ui.example');
    assert.match(ok.headers['vary'] ?? '', /Origin/);
    const no = await request(small).options('/x').set('Origin', 'https://evil.example');
    assert.equal(no.status, 204);
    assert.equal(no.headers['access-control-allow-origin'], undefined);
  });

  it('without publicBaseUrl the audience is rebuilt from the request URL', async () => {
    const key = await loadOrCreateDevKey(join(devKeyDir, 'dev-key.json'));
    const verify = createJwtVerifier({ issuers: [{ iss: devIssuer, jwks: devJwks(key) }] });
    const bare = express();
    bare.use(requireCdsJwt(verify));
    bare.get('/cds-services', (_req, res) => res.json({ iss: cdsClientOf(res)?.iss }));
    const server = bare.listen(0, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cds-services`;
      const good = await request(url)
        .get('')
        .set('Authorization', `Bearer ${await signDevToken(key, { aud: url })}`);
      assert.equal(good.status, 200);
      assert.equal(good.body.iss, devIssuer);
      const wrong = await signDevToken(key, { aud: 'https://cds.example.org/cds-services' });
      assert.equal((await request(url).get('').set('Authorization', `Bearer ${wrong}`)).status, 401);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });
});

describe('MemoryJtiCache', () => {
  it('refuses a live key twice, forgets it after expiry, and fails closed when full', () => {
    let t = 1_000_000_000_000;
    const cache = new MemoryJtiCache(2, () => t);
    const exp = t / 1000 + 60;
    assert.equal(cache.add('a', exp), true);
    assert.equal(cache.add('a', exp), false);
    assert.equal(cache.add('b', exp), true);
    assert.throws(() => cache.add('c', exp), { name: 'AuthError', reason: 'replay_cache_full' });
    t += 61_000;
    assert.equal(cache.add('a', exp + 120), true); // expired entry: a new token may reuse the jti
    assert.equal(cache.add('c', exp + 120), true); // the sweep made room
    assert.equal(cache.size, 2);
  });
});

describe('ecg-cds dev-token', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecg-cds-devtoken-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'dev-token', ...args],
      {
        encoding: 'utf8',
        cwd: REPO_ROOT,
      },
    );

  it('prints only a token that the dev JWKS verifies for the given aud; the key file is 0600', async () => {
    const keyPath = join(dir, 'nested', 'dev-key.json');
    const r = cli('--aud', AUD, '--key', keyPath);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[1], '');
    assert.equal(((await stat(keyPath)).mode & 0o777).toString(8), '600');

    const key = await loadOrCreateDevKey(keyPath); // the same key, read back
    const verify = createJwtVerifier({ issuers: [{ iss: devIssuer, jwks: devJwks(key) }] });
    const client = await verify(lines[0]!, AUD);
    assert.equal(client.iss, devIssuer);
    assert.ok(client.exp - now() <= 300 && client.exp - now() > 290);
    await assert.rejects(verify(lines[0]!, AUD), { name: 'AuthError', reason: 'replayed' });

    // a second run reuses the key file
    const again = cli('--aud', AUD, '--key', keyPath);
    assert.equal(again.status, 0, again.stderr);
    await verify(again.stdout.trim(), AUD);
  });

  it('without --aud it is a usage error (exit 2)', () => {
    const r = cli('--key', join(dir, 'k.json'));
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--aud/);
  });
});
