/**
 * Card feedback (https://cds-hooks.hl7.org/2.0/#feedback): accepted / overridden outcomes, recorded for
 * model monitoring as a structured log line and a Prometheus counter by outcome and override reason.
 * Idempotent: a client retrying the same feedback (same card, outcome, reason and timestamp) counts once.
 *
 * Issue #11: the body is validated with zod at this edge (400 naming the field); the `reason` label only
 * takes the service's own override codes (OVERRIDE_REASON_CODES, offered on every card), `none`, or `other`,
 * so a client cannot mint Prometheus series; free text (`userComment`, `display`) is never logged, only
 * the comment's length.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import { OVERRIDE_REASON_CODES, OVERRIDE_REASON_SYSTEM } from './cards.js';
import { CdsError, type Coding, type FeedbackEntry } from './types.js';

export interface FeedbackRecorder {
  record(serviceId: string, body: unknown): { accepted: number; duplicates: number };
}

/** Most entries one request may carry (413 beyond). */
export const MAX_FEEDBACK_ENTRIES = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** https://cds-hooks.hl7.org/2.0/#coding — bounded so a reason cannot be a megabyte of text. */
const CodingSchema = z.object({
  system: z.string({ error: 'must be a string' }).min(1).max(2048),
  code: z.string({ error: 'must be a string' }).min(1).max(256),
  display: z.string().max(1024).optional(),
});

/** https://cds-hooks.hl7.org/2.0/#feedback — one entry. Unknown members are dropped. */
const EntrySchema = z.object({
  card: z.string({ error: 'must be a card uuid' }).regex(UUID, { error: 'must be a card uuid' }),
  outcome: z.enum(['accepted', 'overridden'], { error: 'must be accepted or overridden' }),
  acceptedSuggestions: z
    .array(z.object({ id: z.string().min(1).max(256) }))
    .max(100)
    .optional(),
  overrideReason: z
    .object({
      reason: CodingSchema.optional(),
      userComment: z.string().max(10_000).optional(),
    })
    .optional(),
  outcomeTimestamp: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant' }),
});

const BodySchema = z.object(
  { feedback: z.array(EntrySchema).min(1, { error: 'must hold at least one entry' }) },
  { error: 'body must be {"feedback": [ ... ]}' },
);

const OWN_CODES = new Set(OVERRIDE_REASON_CODES.map((c) => c.code));

/**
 * The metric label for an override reason: one of our own codes (in our system), `none` when there is
 * no reason, anything else `other` — a closed set whatever the client sends.
 */
export function reasonLabel(reason: Coding | undefined): string {
  if (!reason) return 'none';
  return reason.system === OVERRIDE_REASON_SYSTEM && OWN_CODES.has(reason.code) ? reason.code : 'other';
}

export function createFeedbackRecorder(deps: {
  log: Logger;
  metrics: Metrics;
  capacity?: number;
}): FeedbackRecorder {
  const capacity = deps.capacity ?? 100_000;
  // Insertion-ordered Set as a bounded LRU of seen feedback keys (hashed: constant size per entry).
  const seen = new Set<string>();
  return {
    record(serviceId, body) {
      const entries = parseFeedback(body);
      let accepted = 0;
      let duplicates = 0;
      for (const e of entries) {
        const code = e.overrideReason?.reason;
        const key = createHash('sha256')
          .update(
            JSON.stringify([serviceId, e.card, e.outcome, code?.system, code?.code, e.outcomeTimestamp]),
          )
          .digest('base64');
        if (seen.has(key)) {
          duplicates++;
          continue;
        }
        seen.add(key);
        if (seen.size > capacity) seen.delete(seen.values().next().value as string);
        accepted++;
        const reason = reasonLabel(code);
        deps.metrics.feedback.inc({ outcome: e.outcome, reason });
        // The card uuid identifies a finding on an ECG, not a patient. userComment is free text and may
        // hold patient details: only its length is logged. The raw reason code is client text too.
        deps.log.info(
          {
            event: 'cds.feedback',
            service: serviceId,
            card: e.card,
            outcome: e.outcome,
            reason,
            commentLength: e.overrideReason?.userComment?.length ?? 0,
            acceptedSuggestions: e.acceptedSuggestions?.length ?? 0,
            outcomeTimestamp: e.outcomeTimestamp,
          },
          'card feedback',
        );
      }
      return { accepted, duplicates };
    },
  };
}

/** Validates a feedback request body; throws CdsError 400 naming the first bad field, 413 when too long. */
export function parseFeedback(body: unknown): FeedbackEntry[] {
  const list = (body as { feedback?: unknown } | null | undefined)?.feedback;
  if (Array.isArray(list) && list.length > MAX_FEEDBACK_ENTRIES)
    throw new CdsError(413, `at most ${MAX_FEEDBACK_ENTRIES} feedback entries per request`);
  const parsed = BodySchema.safeParse(body);
  if (parsed.success) return parsed.data.feedback as FeedbackEntry[];
  const issue = parsed.error.issues[0]!;
  const field = fieldPath(issue.path);
  throw new CdsError(400, field ? `${field}: ${issue.message}` : issue.message);
}

/** `['feedback', 0, 'card']` → `feedback[0].card`. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}
