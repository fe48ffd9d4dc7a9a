/** `ecg-cds subscriptions ensure`: create or update our Subscriptions on FHIR_BASE_URL (issue #5). */
import { loadConfig } from '../config.js';
import { createFhirClient } from '../fhir/client.js';
import { ensureSubscriptions } from '../fhir/subscriptions/ensure.js';

export async function runSubscriptionsEnsure(): Promise<number> {
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
  const r = await ensureSubscriptions(fhir, { publicBaseUrl: config.publicBaseUrl, secret });
  process.stdout.write(`rest-hook Subscription/${r.restHook.id} ${r.restHook.action}\n`);
  if (r.backport) process.stdout.write(`backport Subscription/${r.backport.id} ${r.backport.action}\n`);
  else process.stdout.write('backport: not advertised by the server (no SubscriptionTopic / backport IG)\n');
  return 0;
}
