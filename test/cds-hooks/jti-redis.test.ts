/**
 * The jti replay cache in Redis (issue #11 item 6): two app instances (two compose() with REDIS_URL, as
 * two replicas behind one URL) share a real Redis at 127.0.0.1:6379, so a token used at one is refused
 * at the other. Skips with a message when Redis does not answer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import request from 'supertest';
import { AuthError } from '../../src/cds-hooks/auth.js';
import { loadOrCreateDevKey, signDevToken } from '../../src/cds-hooks/dev-key.js';
import { connectJtiRedis, RedisJtiCache } from '../../src/cds-hooks/jti-redis.js';
import { flushPrefix, REDIS_URL, redisAnswers } from '../support/batch.js';
import { freePort, type RunningService, startService } from '../support/service.js';

const available = await redisAnswers();
const skip = available
  ? false
  : `Redis does not answer at ${REDIS_URL}: start one to run the shared jti cache tests`;
if (!available) process.stderr.write(`# SKIP jti-redis: ${skip}\n`);

describe('jti replay cache in Redis', { skip, timeout: 120_000 }, () => {
  const prefix = `ecg-cds-test-${randomBytes(4).toString('hex')}`;
  let admin: Redis;

  before(() => {
    admin = new Redis(REDIS_URL);
  });
  after(async () => {
    admin.disconnect();
    await flushPrefix(prefix);
  });

  it('SET NX PX under <prefix>:jti:, a second add is a replay, the key expires with the token', async () => {
    const redis = connectJtiRedis(REDIS_URL);
    try {
      const cache = new RedisJtiCache(redis, { prefix });
      const exp = Math.floor(Date.now() / 1000) + 60;
      assert.equal(await cache.add('iss\u0000jti-1', exp), true);
      assert.equal(await cache.add('iss\u0000jti-1', exp), false);
      assert.equal(await cache.add('iss\u0000jti-2', exp), true);
      const key = cache.keyOf('iss\u0000jti-1');
      assert.match(key, new RegExp(`^${prefix}:jti:[0-9a-f]{64}$`));
      const ttl = await admin.pttl(key);
      assert.ok(ttl > 55_000 && ttl <= 60_000, `pttl ${ttl}`);
      // The default prefix is the one the issue names.
      assert.match(new RedisJtiCache(redis).keyOf('x'), /^ecg-cds:jti:/);
    } finally {
      redis.disconnect();
    }
  });

  it('fails closed when Redis does not answer: the token is refused, quickly', async () => {
    const dead = connectJtiRedis(`redis://127.0.0.1:${await freePort()}`, { commandTimeoutMs: 300 });
    try {
      const cache = new RedisJtiCache(dead, { prefix });
      const t0 = Date.now();
      await assert.rejects(
        async () => cache.add('iss\u0000jti-dead', Math.floor(Date.now() / 1000) + 60),
        (err: unknown) => err instanceof AuthError && err.reason === 'replay_cache_unavailable',
      );
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    } finally {
      dead.disconnect();
    }
  });

  describe('two replicas sharing REDIS_URL', () => {
    let dir: string;
    let a: RunningService;
    let b: RunningService;
    const PUBLIC = 'https://cds.example.test';
    const PATH = '/cds-services';

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ecg-cds-jti-'));
      // One public URL and one trusted key, as replicas behind a load balancer have.
      const env = {
        REDIS_URL,
        REDIS_PREFIX: prefix,
        PUBLIC_BASE_URL: PUBLIC,
        DEV_KEY_PATH: join(dir, 'dev-key.json'),
        CDS_TRUST_DEV_ISSUER: 'true',
        DEMO_DATA: 'false',
        SUBSCRIPTIONS_ENSURE: 'false',
        NIGHTLY_ENABLED: 'false',
      };
      a = await startService(env);
      b = await startService(env);
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('a token used at one replica is refused at the other (401)', async () => {
      const at = (s: RunningService) => request(`http://127.0.0.1:${s.c.config.port}`);
      const key = await loadOrCreateDevKey(join(dir, 'dev-key.json'));
      const token = await signDevToken(key, { aud: `${PUBLIC}${PATH}` });
      const first = await at(a).get(PATH).set('Authorization', `Bearer ${token}`);
      assert.equal(first.status, 200, first.text);
      const replay = await at(b).get(PATH).set('Authorization', `Bearer ${token}`);
      assert.equal(replay.status, 401);
      assert.equal(replay.text, '');
      const again = await at(a).get(PATH).set('Authorization', `Bearer ${token}`);
      assert.equal(again.status, 401);
      // A fresh token works at either.
      const fresh = await signDevToken(key, { aud: `${PUBLIC}${PATH}` });
      assert.equal((await at(b).get(PATH).set('Authorization', `Bearer ${fresh}`)).status, 200);
      assert.ok((await admin.keys(`${prefix}:jti:*`)).length >= 2);
    });
  });
});
