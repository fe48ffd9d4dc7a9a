/**
 * `subscriptions ensure`: create or update our Subscriptions on the FHIR server, found again by a tag so a
 * re-run updates instead of duplicating.
 * - R4 rest-hook: https://hl7.org/fhir/R4/subscription.html
 * - topic-based per the Subscriptions R5 Backport IG, when the CapabilityStatement advertises it:
 *   http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription
 */
import type { FhirAccess } from '../client.js';
import { ECG_TOPIC, SUBSCRIPTION_TAG_SYSTEM } from '../definitions/canonical.js';
import { ECG_OBSERVATION_CODES } from '../ecg-codec.js';
import type { NotifyTokens } from './notify-token.js';

/** `meta.tag` of our rest-hook Subscription (read at call time: the system follows FHIR_DEFINITIONS_BASE). */
export const SUBSCRIPTION_TAG = {
  get system(): string {
    return SUBSCRIPTION_TAG_SYSTEM;
  },
  code: 'rest-hook',
} as const;
/** `meta.tag` of our topic-based (backport) Subscription. */
export const TOPIC_TAG = {
  get system(): string {
    return SUBSCRIPTION_TAG_SYSTEM;
  },
  code: 'backport',
} as const;
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const BACKPORT_PROFILE = `${BACKPORT}/backport-subscription`;
/** Topic for ECG Observations; servers define their own canonicals, this one is ours by default. */
export function defaultTopic(): string {
  return ECG_TOPIC;
}

export interface EnsureOptions {
  readonly publicBaseUrl: string;
  /**
   * The per-Subscription notify token for `channel.header` (./notify-token.ts), never SUBSCRIPTION_SECRET:
   * whoever may read a Subscription may read its header.
   */
  readonly token: string;
  /** Backport topic canonical (default {@link defaultTopic}). */
  readonly topic?: string;
  /** Heartbeat period in seconds for the topic-based Subscription (default 60). */
  readonly heartbeatSeconds?: number;
}

export interface EnsureResult {
  readonly restHook: { readonly id: string; readonly action: 'created' | 'updated' };
  readonly backport?: { readonly id: string; readonly action: 'created' | 'updated' };
}

export function restHookSubscription(o: EnsureOptions): fhir4.Subscription {
  return {
    resourceType: 'Subscription',
    meta: { tag: [{ ...SUBSCRIPTION_TAG }] },
    status: 'requested',
    reason: 'ecg-cds: analyse new and updated ECG Observations',
    criteria: `Observation?code=${ECG_OBSERVATION_CODES}`,
    channel: {
      type: 'rest-hook',
      endpoint: `${o.publicBaseUrl}/fhir/notify`,
      payload: 'application/fhir+json',
      header: [`Authorization: Bearer ${o.token}`],
    },
  };
}

export function backportSubscription(o: EnsureOptions): fhir4.Subscription {
  return {
    resourceType: 'Subscription',
    meta: { tag: [{ ...TOPIC_TAG }], profile: [BACKPORT_PROFILE] },
    status: 'requested',
    reason: 'ecg-cds: analyse new and updated ECG Observations',
    criteria: o.topic ?? defaultTopic(),
    _criteria: {
      extension: [
        {
          url: `${BACKPORT}/backport-filter-criteria`,
          valueString: `Observation?code=${ECG_OBSERVATION_CODES}`,
        },
      ],
    },
    channel: {
      type: 'rest-hook',
      endpoint: `${o.publicBaseUrl}/fhir/notify`,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] },
      header: [`Authorization: Bearer ${o.token}`],
      extension: [
        { url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: o.heartbeatSeconds ?? 60 },
        { url: `${BACKPORT}/backport-timeout`, valueUnsignedInt: 30 },
      ],
    },
  } as fhir4.Subscription;
}

/** True when the CapabilityStatement lists SubscriptionTopic or a backport IG canonical. */
export function supportsBackport(cs: fhir4.CapabilityStatement): boolean {
  const text = JSON.stringify([cs.instantiates ?? [], cs.implementationGuide ?? []]);
  const types = (cs.rest ?? []).flatMap((r) => r.resource ?? []).map((r) => r.type as string);
  return types.includes('SubscriptionTopic') || text.includes('subscriptions-backport');
}

async function upsert(
  fhir: FhirAccess,
  wanted: fhir4.Subscription,
  tag: { system: string; code: string },
): Promise<{ id: string; action: 'created' | 'updated' }> {
  for await (const s of fhir.searchAll('Subscription', {})) {
    if (s.id && s.meta?.tag?.some((t) => t.system === tag.system && t.code === tag.code)) {
      await fhir.update({ ...wanted, id: s.id });
      return { id: s.id, action: 'updated' };
    }
  }
  const created = await fhir.create(wanted);
  return { id: created.id ?? '', action: 'created' };
}

export interface EnsureSubscriptionsOptions extends Omit<EnsureOptions, 'token'> {
  readonly tokens: NotifyTokens;
  /** Revoke the current notify tokens first (`subscriptions ensure --rotate`). */
  readonly rotate?: boolean;
}

/** Create or update the rest-hook Subscription and, where supported, the backport one, each with its token. */
export async function ensureSubscriptions(
  fhir: FhirAccess,
  o: EnsureSubscriptionsOptions,
): Promise<EnsureResult> {
  const { tokens, rotate, ...rest } = o;
  if (rotate) await tokens.rotate();
  const restHook = await upsert(
    fhir,
    restHookSubscription({ ...rest, token: await tokens.tokenFor('rest-hook') }),
    SUBSCRIPTION_TAG,
  );
  const cs = await fhir.capabilities().catch(() => undefined);
  if (!cs || !supportsBackport(cs)) return { restHook };
  const backport = backportSubscription({ ...rest, token: await tokens.tokenFor('backport') });
  return { restHook, backport: await upsert(fhir, backport, TOPIC_TAG) };
}

export interface OurSubscription {
  readonly id: string;
  readonly kind: 'rest-hook' | 'backport';
  /** R4 Subscription.status: requested | active | error | off. */
  readonly status: string;
  readonly error?: string;
}

/** Our Subscriptions as the server has them now (found by tag), e.g. to read back `active`. */
export async function ourSubscriptions(fhir: Pick<FhirAccess, 'searchAll'>): Promise<OurSubscription[]> {
  const tagged = { _tag: [SUBSCRIPTION_TAG, TOPIC_TAG].map((t) => `${t.system}|${t.code}`).join(',') };
  try {
    return await collect(fhir, tagged);
  } catch (err) {
    // A server that cannot search Subscription by _tag: all of them, filtered here (as upsert does).
    if ((err as { status?: number }).status !== 400) throw err;
    return collect(fhir, {});
  }
}

async function collect(
  fhir: Pick<FhirAccess, 'searchAll'>,
  params: Record<string, string>,
): Promise<OurSubscription[]> {
  const out: OurSubscription[] = [];
  for await (const s of fhir.searchAll('Subscription', params)) {
    const tags = s.meta?.tag ?? [];
    const kind = tags.some((t) => t.system === TOPIC_TAG.system && t.code === TOPIC_TAG.code)
      ? 'backport'
      : tags.some((t) => t.system === SUBSCRIPTION_TAG.system && t.code === SUBSCRIPTION_TAG.code)
        ? 'rest-hook'
        : undefined;
    if (s.id && kind) out.push({ id: s.id, kind, status: s.status, ...(s.error ? { error: s.error } : {}) });
  }
  return out;
}
