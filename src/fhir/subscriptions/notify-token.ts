/**
 * Per-Subscription notify tokens (issue #13 item 6). `Subscription.channel.header` is readable by anyone who
 * may read the Subscription, so it must not carry SUBSCRIPTION_SECRET: it carries a token that
 *  - is different for each of our Subscriptions (rest-hook, backport) and each rotation,
 *  - authorises nothing but a notification to /fhir/notify (it is not the HMAC key, not a FHIR or CDS
 *    credential), and reveals nothing of the secret (an HMAC-SHA256 of it: one-way),
 *  - is revoked by `ecg-cds subscriptions ensure --rotate`, which bumps the generation kept with the other
 *    state (Redis or a FHIR `Basic`) and writes the new tokens into the Subscriptions.
 * The token is derived, not stored: token = HMAC-SHA256(secret, "ecg-cds notify|<kind>|<generation>"), so
 * every replica computes the same one and the state holds only the generation number. Checked in constant
 * time; the generation is cached for {@link CACHE_MS} and re-read (at most once a second) when a token
 * does not match, so a rotation made by another process is seen within seconds.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { StateStore } from '../../batch/checkpoint.js';

export type SubscriptionKind = 'rest-hook' | 'backport';
const KINDS: readonly SubscriptionKind[] = ['rest-hook', 'backport'];
const PREFIX = 'ecgn1-';
const CACHE_MS = 10_000;
const REFRESH_MIN_MS = 1_000;

export interface NotifyTokenState {
  readonly generation: number;
}

export interface NotifyTokens {
  /** The token to put in `channel.header` of our Subscription of `kind`. */
  tokenFor(kind: SubscriptionKind): Promise<string>;
  /** True when `presented` is the current token of one of our Subscriptions (constant-time compare). */
  accepts(presented: string): Promise<boolean>;
  /** Revoke the current tokens: bump the generation. Returns the new generation. */
  rotate(): Promise<number>;
}

function derive(secret: string, kind: SubscriptionKind, generation: number): string {
  return PREFIX + createHmac('sha256', secret).update(`ecg-cds notify|${kind}|${generation}`).digest('hex');
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Notify tokens derived from `secret`, with the generation kept in `state`. */
export function createNotifyTokens(
  secret: string,
  state: StateStore<NotifyTokenState>,
  now: () => number = Date.now,
): NotifyTokens {
  let cached: { generation: number; at: number } | undefined;
  let lastRefresh = 0;
  const generation = async (force = false): Promise<number> => {
    const t = now();
    if (cached && !force && t - cached.at < CACHE_MS) return cached.generation;
    lastRefresh = t;
    const g = (await state.load())?.generation ?? 1;
    cached = { generation: Number.isInteger(g) && g > 0 ? g : 1, at: t };
    return cached.generation;
  };
  const matches = (presented: string, g: number) =>
    // Every kind is compared, so the time does not tell which one matched.
    KINDS.map((k) => sameToken(presented, derive(secret, k, g))).some(Boolean);

  return {
    async tokenFor(kind) {
      return derive(secret, kind, await generation(true));
    },
    async accepts(presented) {
      if (!presented.startsWith(PREFIX)) return false;
      if (matches(presented, await generation())) return true;
      // Perhaps rotated by another process since we cached: re-read, but not on every forged request.
      if (now() - lastRefresh < REFRESH_MIN_MS) return false;
      return matches(presented, await generation(true));
    },
    async rotate() {
      const next = (await generation(true)) + 1;
      await state.save({ generation: next });
      cached = { generation: next, at: now() };
      return next;
    },
  };
}
