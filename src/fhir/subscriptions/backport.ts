/**
 * Subscriptions R5 Backport IG notification bundles (R4):
 * http://hl7.org/fhir/uv/subscriptions-backport/notifications.html — a `history` Bundle whose first entry
 * is a Parameters resource (profile backport-subscription-status-r4) with `type`,
 * `events-since-subscription-start` and `notification-event` (event-number, focus).
 */
export type NotificationType =
  | 'handshake'
  | 'heartbeat'
  | 'event-notification'
  | 'query-status'
  | 'query-event';

export interface BackportStatus {
  readonly subscription: string;
  readonly type: NotificationType;
  readonly eventsSinceStart: number;
  readonly events: ReadonlyArray<{ readonly eventNumber: number; readonly focus?: string }>;
}

type Param = fhir4.ParametersParameter;

const part = (p: Param, name: string): Param | undefined => p.part?.find((q) => q.name === name);

/** Parses the SubscriptionStatus Parameters of a notification Bundle; undefined if it is not one. */
export function parseBackportBundle(body: unknown): BackportStatus | undefined {
  const bundle = body as fhir4.Bundle;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'history') return undefined;
  const status = bundle.entry?.[0]?.resource;
  if (status?.resourceType !== 'Parameters') return undefined;
  const params: Param[] = (status as fhir4.Parameters).parameter ?? [];
  const get = (name: string) => params.find((p) => p.name === name);
  const type = get('type')?.valueCode as NotificationType | undefined;
  if (!type) return undefined;
  const since = get('events-since-subscription-start');
  const events = params
    .filter((p) => p.name === 'notification-event')
    .map((p) => {
      const n = part(p, 'event-number');
      const focus = part(p, 'focus')?.valueReference?.reference;
      return { eventNumber: Number(n?.valueString ?? n?.valueInteger), ...(focus ? { focus } : {}) };
    })
    .filter((e) => Number.isFinite(e.eventNumber));
  return {
    subscription: get('subscription')?.valueReference?.reference ?? '',
    type,
    eventsSinceStart: Number(since?.valueString ?? since?.valueInteger ?? 0),
    events,
  };
}
