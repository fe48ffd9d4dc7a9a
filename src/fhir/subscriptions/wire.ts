/**
 * The Subscription parts composed together: the /fhir/notify receiver, rest-hook delivery on the embedded
 * server (demo mode), and `ensure` at start-up when configured. main.ts calls this once.
 */
import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import { stateStoreAt } from '../../batch/checkpoint.js';
import type { AnalysisQueue } from '../../batch/queue.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import type { FhirAccess } from '../client.js';
import type { DevFhirServer } from '../dev-server/index.js';
import { type Delivery, startRestHookDelivery } from './delivery.js';
import { ensureSubscriptions } from './ensure.js';
import type { GapState } from './gaps.js';
import { createNotifyTokens, type NotifyTokenState } from './notify-token.js';
import { createNotifyReceiver } from './receiver.js';

export interface SubscriptionParts {
  readonly router: Router;
  /** Delivery on the embedded server (demo mode only). */
  readonly delivery?: Delivery;
  /**
   * Registers the Subscriptions when `config.subscriptions.ensureAtStart`; call once the server listens.
   * Resolves true when it registered them, false when it did not (off, or no secret).
   */
  start(): Promise<boolean>;
  close(): void;
}

export function wireSubscriptions(deps: {
  readonly config: Config;
  readonly backend: FhirAccess;
  readonly queue: AnalysisQueue;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly devFhir?: DevFhirServer;
}): SubscriptionParts {
  const { config, log } = deps;
  // Demo mode without a configured secret: a random one per process, known to both ends.
  const secret = config.subscriptions.secret ?? (deps.devFhir ? randomBytes(24).toString('hex') : undefined);
  const stateAt = {
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    redisPrefix: config.redisPrefix,
    fhir: deps.backend,
  };
  const gapState = stateStoreAt<GapState>(stateAt, 'gaps');
  // What our Subscriptions' channel.header carries instead of the secret (issue #13 item 6).
  const tokenState = stateStoreAt<NotifyTokenState>(stateAt, 'notify-token');
  const tokens = secret ? createNotifyTokens(secret, tokenState) : undefined;
  const router = createNotifyReceiver({
    gapState,
    ...(secret ? { secret } : {}),
    ...(tokens ? { tokens } : {}),
    queue: deps.queue,
    fhir: deps.backend,
    metrics: deps.metrics,
    log,
    maxBodyBytes: config.maxBodyBytes,
    since: new Date(),
  });
  const delivery = deps.devFhir
    ? startRestHookDelivery({
        dev: deps.devFhir,
        fhir: deps.backend,
        onError: (err) => log.warn({ event: 'subscription.delivery-error', err: err.message }),
      })
    : undefined;
  return {
    router,
    ...(delivery ? { delivery } : {}),
    async start() {
      if (!config.subscriptions.ensureAtStart) return false;
      if (!tokens) {
        log.warn({ event: 'subscriptions.skipped', why: 'SUBSCRIPTION_SECRET is not set' });
        return false;
      }
      const r = await ensureSubscriptions(deps.backend, { publicBaseUrl: config.publicBaseUrl, tokens });
      log.info({ event: 'subscriptions.ensured', restHook: r.restHook, backport: r.backport });
      return true;
    },
    close() {
      delivery?.close();
      void gapState.close().catch(() => undefined);
      void tokenState.close().catch(() => undefined);
    },
  };
}
