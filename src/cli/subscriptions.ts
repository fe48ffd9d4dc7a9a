/**
 * `ecg-cds subscriptions ensure [--rotate]`: create or update our Subscriptions on FHIR_BASE_URL (issue #5),
 * each with its notify token in `channel.header` (never SUBSCRIPTION_SECRET); `--rotate` revokes the
 * current tokens and writes new ones (issue #13 item 6).
 */
import { stateStoreAt } from '../batch/checkpoint.js';
import { loadConfig } from '../config.js';
import { createFhirClient } from '../fhir/client.js';
import { ensureSubscriptions } from '../fhir/subscriptions/ensure.js';
import { createNotifyTokens, type NotifyTokenState } from '../fhir/subscriptions/notify-token.js';

export async function runSubscriptionsEnsure(opts: { readonly rotate?: boolean } = {}): Promise<number> {
  const config = loadConfig();
  const secret = config.subscriptions.secret;
  if (config.demo)
    throw new Error('subscriptions ensure: set FHIR_BASE_URL (demo mode registers at start-up)');
  if (!secret) throw new Error('subscriptions ensure: set SUBSCRIPTION_SECRET (at least 16 characters)');
  const fhir = createFhirClient({
    baseUrl: config.fhir.baseUrl,
    timeoutMs: config.fhir.timeoutMs,
    ...(config.fhir.token ? { token: config.fhir.token } : {}),
  });
  const state = stateStoreAt<NotifyTokenState>(
    { ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}), redisPrefix: config.redisPrefix, fhir },
    'notify-token',
  );
  const tokens = createNotifyTokens(secret, state);
  const r = await ensureSubscriptions(fhir, {
    publicBaseUrl: config.publicBaseUrl,
    tokens,
    ...(opts.rotate ? { rotate: true } : {}),
  }).finally(() => state.close());
  if (opts.rotate) process.stdout.write('notify tokens rotated: the previous ones are refused from now on\n');
  process.stdout.write(`rest-hook Subscription/${r.restHook.id} ${r.restHook.action}\n`);
  if (r.backport) process.stdout.write(`backport Subscription/${r.backport.id} ${r.backport.action}\n`);
  else process.stdout.write('backport: not advertised by the server (no SubscriptionTopic / backport IG)\n');
  return 0;
}
