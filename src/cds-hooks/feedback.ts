/**
 * Card feedback (https://cds-hooks.hl7.org/2.0/#feedback): accepted / overridden outcomes, recorded for
 * model monitoring as a structured log line and a Prometheus counter by outcome and override reason.
 * Idempotent: a client retrying the same feedback (same card, outcome, reason and timestamp) counts once.
 */
import type { Logger } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import { CdsError, type FeedbackEntry } from './types.js';

export interface FeedbackRecorder {
  record(serviceId: string, body: unknown): { accepted: number; duplicates: number };
}

export function createFeedbackRecorder(deps: {
  log: Logger;
  metrics: Metrics;
  capacity?: number;
}): FeedbackRecorder {
  const capacity = deps.capacity ?? 100_000;
  // Insertion-ordered Set as a bounded LRU of seen feedback keys.
  const seen = new Set<string>();
  return {
    record(serviceId, body) {
      const entries = parse(body);
      let accepted = 0;
      let duplicates = 0;
      for (const e of entries) {
        const reason = e.overrideReason?.reason?.code ?? 'none';
        const key = `${serviceId}|${e.card}|${e.outcome}|${reason}|${e.outcomeTimestamp}`;
        if (seen.has(key)) {
          duplicates++;
          continue;
        }
        seen.add(key);
        if (seen.size > capacity) seen.delete(seen.values().next().value as string);
        accepted++;
        deps.metrics.feedback.inc({ outcome: e.outcome, reason });
        // The card uuid identifies a finding on an ECG, not a patient; userComment is free text and may
        // hold patient details, so only its presence is logged.
        deps.log.info(
          {
            event: 'cds.feedback',
            service: serviceId,
            card: e.card,
            outcome: e.outcome,
            reason,
            hasComment: Boolean(e.overrideReason?.userComment),
            outcomeTimestamp: e.outcomeTimestamp,
          },
          'card feedback',
        );
      }
      return { accepted, duplicates };
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parse(body: unknown): FeedbackEntry[] {
  const list = (body as { feedback?: unknown } | null)?.feedback;
  if (!Array.isArray(list) || list.length === 0)
    throw new CdsError(400, 'body must be {"feedback": [ ... ]}');
  if (list.length > 100) throw new CdsError(413, 'at most 100 feedback entries per request');
  return list.map((raw, i) => {
    const e = raw as Partial<FeedbackEntry> | null;
    if (!e || typeof e.card !== 'string' || !UUID.test(e.card))
      throw new CdsError(400, `feedback[${i}].card must be a card uuid`);
    if (e.outcome !== 'accepted' && e.outcome !== 'overridden')
      throw new CdsError(400, `feedback[${i}].outcome must be accepted or overridden`);
    if (typeof e.outcomeTimestamp !== 'string' || Number.isNaN(Date.parse(e.outcomeTimestamp)))
      throw new CdsError(400, `feedback[${i}].outcomeTimestamp must be an ISO 8601 instant`);
    const reason = e.overrideReason?.reason;
    if (reason !== undefined && (typeof reason.code !== 'string' || typeof reason.system !== 'string'))
      throw new CdsError(400, `feedback[${i}].overrideReason.reason must be a Coding with system and code`);
    return e as FeedbackEntry;
  });
}
