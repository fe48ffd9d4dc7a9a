/**
 * Rest-hook delivery for the embedded development FHIR server (https://hl7.org/fhir/R4/subscription.html):
 * on each committed write, match the resource against every active rest-hook Subscription's criteria
 * (@medplum/core's search matcher) and notify — `PUT <endpoint>/<Type>/<id>` with the resource when
 * `channel.payload` is set, a bodyless POST otherwise — with the `channel.header` lines. Failed deliveries
 * are retried with exponential backoff; after `maxAttempts` the Subscription gets status `error`.
 * New Subscriptions (status `requested`) are switched to `active`. Active ones already in the store when
 * delivery starts (a snapshot from the last run) are delivered to as well.
 */
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { FhirAccess } from '../client.js';
import type { DevFhirServer } from '../dev-server/index.js';
import type { DevFhirChange } from '../dev-server/repository.js';

export interface DeliveryOptions {
  readonly dev: Pick<DevFhirServer, 'events'> & Partial<Pick<DevFhirServer, 'repo'>>;
  /** Writes Subscription status changes (through HTTP, so they are validated like any write). */
  readonly fhir: FhirAccess;
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly timeoutMs?: number;
  readonly onError?: (err: Error) => void;
}

export interface Delivery {
  /** Resolves when no delivery is in flight. */
  idle(): Promise<void>;
  close(): void;
}

export function startRestHookDelivery(o: DeliveryOptions): Delivery {
  const subs = new Map<string, fhir4.Subscription>();
  const inFlight = new Set<Promise<void>>();
  const maxAttempts = o.maxAttempts ?? 5;
  const base = o.backoffBaseMs ?? 200;
  let closed = false;
  const onError = o.onError ?? (() => {});

  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.catch(onError).finally(() => inFlight.delete(p));
  };

  async function send(sub: fhir4.Subscription, resource: fhir4.FhirResource): Promise<void> {
    const ch = sub.channel;
    const headers: Record<string, string> = {};
    for (const line of ch.header ?? []) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    const endpoint = (ch.endpoint ?? '').replace(/\/+$/, '');
    const withPayload = Boolean(ch.payload);
    if (withPayload) headers['content-type'] = ch.payload!;
    const url = withPayload ? `${endpoint}/${resource.resourceType}/${resource.id}` : endpoint;
    for (let attempt = 1; ; attempt++) {
      if (closed) return;
      try {
        const res = await fetch(url, {
          method: withPayload ? 'PUT' : 'POST',
          headers,
          ...(withPayload ? { body: JSON.stringify(resource) } : {}),
          signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer();
        if (res.ok) return;
        if (res.status < 500 && res.status !== 408 && res.status !== 429)
          throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        if (attempt >= maxAttempts || (err as Error).message.startsWith('HTTP '))
          return fail(sub, err as Error);
      }
      if (attempt >= maxAttempts) return fail(sub, new Error('retries exhausted'));
      await new Promise((ok) => setTimeout(ok, base * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
    }
  }

  async function fail(sub: fhir4.Subscription, err: Error): Promise<void> {
    const current = subs.get(sub.id!);
    if (!current || closed) return;
    subs.delete(sub.id!);
    await o.fhir.update({
      ...current,
      id: sub.id!,
      status: 'error',
      error: `delivery failed: ${err.message}`,
    });
  }

  const deliverable = (s: fhir4.Subscription) =>
    s.channel?.type === 'rest-hook' && s.status === 'active' && /^[A-Za-z]+\?/.test(s.criteria ?? '');
  // The store's current active rest-hook Subscriptions (loaded from a snapshot: no change event for them).
  for (const versions of o.dev.repo?.exportVersions() ?? []) {
    const last = versions.at(-1);
    const r = last && !last.deleted ? (last.resource as fhir4.FhirResource) : undefined;
    if (r?.resourceType === 'Subscription' && r.id && deliverable(r)) subs.set(r.id, r);
  }

  const onChange = (change: DevFhirChange) => {
    const resource = change.resource as fhir4.FhirResource;
    if (closed || !resource.id || change.interaction === 'delete') return;
    if (resource.resourceType === 'Subscription') {
      if (resource.channel?.type !== 'rest-hook') return;
      if (resource.status === 'requested') {
        track(o.fhir.update({ ...resource, id: resource.id, status: 'active' }).then(() => {}));
      } else if (deliverable(resource)) {
        subs.set(resource.id, resource);
      } else subs.delete(resource.id);
      return;
    }
    for (const sub of subs.values()) {
      if (matchesSearchRequest(resource as never, parseSearchRequest(sub.criteria)))
        track(send(sub, resource));
    }
  };
  o.dev.events.on('change', onChange);
  return {
    async idle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    close() {
      closed = true;
      o.dev.events.off('change', onChange);
    },
  };
}
