/**
 * The CDS client JWT replay cache in Redis (issue #11): with several replicas behind one URL, an
 * in-process cache lets a token be replayed once per replica. Every replica sets
 * `<prefix>:jti:<sha256(iss, jti)>` with `SET key 1 NX PX ttl` (https://redis.io/docs/latest/commands/set/):
 * OK → first use, null → replay. The key lives until the token can no longer be accepted.
 *
 * Fails closed: when Redis does not answer within the command timeout, the token is refused
 * (`AuthError('replay_cache_unavailable')` → 401) rather than accepted unchecked.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { AuthError, type JtiCache } from './auth.js';

export interface RedisJtiCacheOptions {
  /** Key prefix before `:jti:` (default `ecg-cds`, i.e. keys `ecg-cds:jti:…`; REDIS_PREFIX in main). */
  readonly prefix?: string;
  /** Clock, for tests (default `Date.now`). */
  readonly nowMs?: () => number;
}

export class RedisJtiCache implements JtiCache {
  private readonly prefix: string;
  private readonly nowMs: () => number;

  constructor(
    private readonly redis: Redis,
    opts: RedisJtiCacheOptions = {},
  ) {
    this.prefix = `${opts.prefix ?? 'ecg-cds'}:jti:`;
    this.nowMs = opts.nowMs ?? Date.now;
  }

  /** The Redis key for a cache key: hashed, so its length and characters do not depend on the token. */
  keyOf(key: string): string {
    return `${this.prefix}${createHash('sha256').update(key).digest('hex')}`;
  }

  async add(key: string, expiresAtSec: number): Promise<boolean> {
    // At least a second: a token is only stored after its exp was checked, so this is the tolerance tail.
    const ttlMs = Math.max(1000, Math.ceil(expiresAtSec * 1000 - this.nowMs()));
    let reply: string | null;
    try {
      reply = await this.redis.set(this.keyOf(key), '1', 'PX', ttlMs, 'NX');
    } catch {
      throw new AuthError('replay_cache_unavailable');
    }
    return reply === 'OK';
  }
}

/**
 * A Redis connection for the jti cache from a redis:// URL. Short command timeout and one retry: a CDS
 * call has ~500 ms, and a Redis that does not answer must refuse the token quickly, not hang the hook.
 */
export function connectJtiRedis(url: string, opts: { readonly commandTimeoutMs?: number } = {}): Redis {
  // ioredis reads redis:// and rediss:// URLs (user, password, db, TLS) itself.
  const redis = new Redis(url, {
    commandTimeout: opts.commandTimeoutMs ?? 1000,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  });
  // Connection errors surface as failed commands (fail closed); without a listener ioredis prints them.
  redis.on('error', () => undefined);
  return redis;
}
