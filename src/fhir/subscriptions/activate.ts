/**
 * Start-up activation of our Subscriptions, for readiness (issue #11 item 7): ready means the FHIR server
 * will notify us, so an ECG posted after `/readyz` says 200 is analysed without waiting for a batch run.
 * That is read back from the server, not assumed: every Subscription of ours (by tag) must have status
 * `active` (https://hl7.org/fhir/R4/subscription.html#lifecycle: the server moves `requested` to `active`
 * once its channel works; a backport topic Subscription only after the handshake,
 * http://hl7.org/fhir/uv/subscriptions-backport/components.html#handshake). A server that moved ours to
 * `error` or `off` gets the ensure again (at most every 30 s) when this service manages them.
 */
import type { FhirAccess } from '../client.js';
import { type OurSubscription, ourSubscriptions } from './ensure.js';

export interface ActivationState {
  readonly ok: boolean;
  /** For `/readyz`: what is active, or what is missing. */
  readonly detail: string;
}

export interface ActivationOptions {
  readonly fhir: Pick<FhirAccess, 'searchAll'>;
  /** Create/update ours; resolves false when it did not (no secret). Absent: SUBSCRIPTIONS_ENSURE off. */
  readonly ensure?: () => Promise<boolean>;
  readonly report: (state: ActivationState) => void;
  readonly signal: AbortSignal;
  /** Longest wait between read-backs (default 2 s; the first ones are 100 ms apart). */
  readonly maxPollMs?: number;
}

const REENSURE_MS = 30_000;

/** Resolves true once ours are active (or there are none to wait for), false when aborted first. */
export async function activateSubscriptions(o: ActivationOptions): Promise<boolean> {
  let delay = 100;
  let managed: boolean | undefined;
  let ensuredAt = 0;
  let broken = false;
  while (!o.signal.aborted) {
    try {
      if (
        o.ensure &&
        (managed === undefined || (managed && broken && Date.now() - ensuredAt > REENSURE_MS))
      ) {
        managed = await o.ensure();
        ensuredAt = Date.now();
      }
      const subs = await ourSubscriptions(o.fhir);
      if (subs.length === 0 && !managed) {
        o.report({
          ok: true,
          detail: o.ensure
            ? 'none registered (SUBSCRIPTION_SECRET is not set): catch-up and nightly runs only'
            : 'none registered (SUBSCRIPTIONS_ENSURE is off): catch-up and nightly runs only',
        });
        return true;
      }
      if (subs.length > 0 && subs.every((s) => s.status === 'active')) {
        o.report({ ok: true, detail: subs.map((s) => `${name(s)} active`).join(', ') });
        return true;
      }
      broken = subs.some((s) => s.status === 'error' || s.status === 'off');
      o.report({
        ok: false,
        detail: subs.length
          ? `waiting for the FHIR server to activate: ${subs
              .filter((s) => s.status !== 'active')
              .map((s) => `${name(s)} is ${s.status}${s.error ? ` (${s.error})` : ''}`)
              .join(', ')}${broken && !managed ? ' (run `ecg-cds subscriptions ensure`)' : ''}`
          : 'not found on the FHIR server after ensure',
      });
    } catch (err) {
      o.report({
        ok: false,
        detail: `cannot read Subscriptions from the FHIR server (${(err as Error).message})`,
      });
    }
    await sleep(delay, o.signal);
    delay = Math.min(delay * 2, o.maxPollMs ?? 2000);
  }
  return false;
}

const name = (s: OurSubscription) => `${s.kind} Subscription/${s.id}`;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((ok) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      ok();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
