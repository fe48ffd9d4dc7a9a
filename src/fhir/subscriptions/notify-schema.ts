/**
 * What a /fhir/notify body may be, checked at the edge (issue #11) before anything reads it: an
 * Observation (R4 rest-hook with payload, webhook style), a Subscriptions Backport notification Bundle
 * (http://hl7.org/fhir/uv/subscriptions-backport/notifications.html), or another FHIR resource (ignored).
 * Only the members the receiver reads are checked; others pass untouched (FHIR resources carry many).
 */
import { z } from 'zod';
import type { NotificationType } from './backport.js';

/** https://hl7.org/fhir/R4/datatypes.html#id */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const id = z.string().regex(FHIR_ID, { error: 'must be a FHIR id' });

/** The parts of an Observation the receiver reads (code, id, meta.versionId). */
export const NotifiedObservation = z.looseObject({
  resourceType: z.literal('Observation'),
  id: id.optional(),
  meta: z.looseObject({ versionId: id.optional() }).optional(),
  code: z
    .looseObject({
      coding: z
        .array(z.looseObject({ system: z.string().optional(), code: z.string().optional() }))
        .optional(),
    })
    .optional(),
});

const reference = z.looseObject({ reference: z.string().max(2048).optional() });

const parameter = z.looseObject({
  name: z.string(),
  valueCode: z.string().optional(),
  valueString: z.string().optional(),
  valueInteger: z.number().int().optional(),
  valueReference: reference.optional(),
  part: z
    .array(
      z.looseObject({
        name: z.string(),
        valueString: z.string().optional(),
        valueInteger: z.number().int().optional(),
        valueReference: reference.optional(),
      }),
    )
    .optional(),
});

const NOTIFICATION_TYPES = [
  'handshake',
  'heartbeat',
  'event-notification',
  'query-status',
  'query-event',
] as const satisfies readonly NotificationType[];

/** A history Bundle whose first entry is the SubscriptionStatus Parameters. */
export const NotificationBundle = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.literal('history'),
  entry: z.array(z.looseObject({ resource: z.looseObject({ resourceType: z.string() }).optional() })).min(1),
});

export const SubscriptionStatusParameters = z
  .looseObject({
    resourceType: z.literal('Parameters'),
    parameter: z.array(parameter).max(1000),
  })
  .refine(
    // The first `type` parameter is the one read (backport.ts); it also becomes a metric label.
    (p) =>
      (NOTIFICATION_TYPES as readonly string[]).includes(
        p.parameter.find((x) => x.name === 'type')?.valueCode ?? '',
      ),
    { error: `must have a type parameter, one of ${NOTIFICATION_TYPES.join(', ')}`, path: ['parameter'] },
  );

/** Any FHIR resource: an object with a string resourceType. */
export const AnyResource = z.looseObject({ resourceType: z.string().min(1).max(64) });

/** `['entry', 0, 'resource']` → `entry[0].resource`, prefixed with the resource type. */
export function fieldOf(resourceType: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (s, p) => (typeof p === 'number' ? `${s}[${p}]` : `${s}.${String(p)}`),
    resourceType,
  );
}
