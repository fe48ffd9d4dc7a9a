/**
 * Missed notifications: backport `events-since-subscription-start` per Subscription
 * (http://hl7.org/fhir/uv/subscriptions-backport/errors.html#detecting-errors) and re-querying ECG
 * Observations by `_lastUpdated` since the last re-query (for pings and gaps).
 */
import type { FhirAccess } from '../client.js';
import { ECG_OBSERVATION_CODES } from '../ecg-codec.js';
import type { BackportStatus } from './backport.js';

export interface GapTrackerDeps {
  readonly fhir: FhirAccess;
  readonly enqueue: (id: string, versionId?: string) => Promise<unknown>;
  readonly since?: Date;
}

export function createGapTracker(deps: GapTrackerDeps) {
  const seen = new Map<string, number>();
  let since = deps.since ?? new Date(Date.now() - 24 * 3600_000);
  let running: Promise<void> | undefined;
  let again = false;

  async function once(): Promise<void> {
    // Overlap by a second: clocks and equal timestamps; the queue makes repeats no-ops.
    const from = new Date(since.getTime() - 1000);
    const started = new Date();
    for await (const obs of deps.fhir.searchAll('Observation', {
      code: ECG_OBSERVATION_CODES,
      _lastUpdated: `gt${from.toISOString()}`,
    })) {
      if (obs.id) await deps.enqueue(obs.id, obs.meta?.versionId);
    }
    since = started;
  }

  return {
    /** Records a status; true when events were missed (a gap). */
    observe(status: BackportStatus): boolean {
      const last = seen.get(status.subscription);
      const numbers = status.events.map((e) => e.eventNumber).sort((a, b) => a - b);
      const top = Math.max(status.eventsSinceStart, ...numbers);
      let gap = false;
      if (last !== undefined) {
        let expect = last + 1;
        for (const n of numbers) {
          if (n > expect) gap = true;
          expect = Math.max(expect, n + 1);
        }
        if (numbers.length === 0 && status.eventsSinceStart > last) gap = true;
      }
      seen.set(status.subscription, Math.max(last ?? 0, top));
      return gap;
    },
    /** Re-queries recent ECG Observations; concurrent calls coalesce into one more pass. */
    requery(): Promise<void> {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        try {
          do {
            again = false;
            await once();
          } while (again);
        } finally {
          running = undefined;
        }
      })();
      return running;
    },
  };
}
