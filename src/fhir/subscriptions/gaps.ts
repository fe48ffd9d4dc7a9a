/**
 * Missed notifications: backport `events-since-subscription-start` per Subscription
 * (http://hl7.org/fhir/uv/subscriptions-backport/errors.html#detecting-errors) and re-querying ECG
 * Observations by `_lastUpdated` since the last re-query (for pings and gaps), paged by keyset.
 * With a state store the event counters and the re-query point survive a restart, so the first
 * notification after it is checked against the last one before it.
 */
import type { StateStore } from '../../batch/checkpoint.js';
import { keysetSearch } from '../../batch/keyset.js';
import type { FhirAccess } from '../client.js';
import { ECG_OBSERVATION_CODES } from '../ecg-codec.js';
import type { BackportStatus } from './backport.js';

/** What the tracker persists. */
export interface GapState {
  /** Highest event number seen per Subscription reference. */
  readonly seen: Readonly<Record<string, number>>;
  /** Start of the last completed re-query (ISO instant). */
  readonly since: string;
}

export interface GapTrackerDeps {
  readonly fhir: Pick<FhirAccess, 'search' | 'searchAll'>;
  readonly enqueue: (id: string, versionId?: string) => Promise<unknown>;
  /** Where the first re-query starts when no state is stored (default: 24 h ago). */
  readonly since?: Date;
  /** Keeps {@link GapState} across restarts (Redis or a FHIR `Basic`, batch/checkpoint.ts). */
  readonly state?: StateStore<GapState>;
  /** A failed state save (default: ignored; the state is saved again on the next change). */
  readonly onStateError?: (err: Error) => void;
}

export interface GapTracker {
  /** Records a status; true when events were missed (a gap). */
  observe(status: BackportStatus): boolean;
  /** Re-queries recent ECG Observations; concurrent calls coalesce into one more pass. */
  requery(): Promise<void>;
  /** Resolves once the stored state is loaded and the last change is saved. */
  flush(): Promise<void>;
}

export function createGapTracker(deps: GapTrackerDeps): GapTracker {
  const seen = new Map<string, number>();
  let since = deps.since ?? new Date(Date.now() - 24 * 3600_000);
  let running: Promise<void> | undefined;
  let again = false;

  // Load once; counters seen before the load finished keep the larger value.
  const loaded = (async () => {
    const stored = await deps.state?.load().catch((err: Error) => {
      deps.onStateError?.(err);
      return undefined;
    });
    if (!stored) return;
    for (const [sub, n] of Object.entries(stored.seen ?? {}))
      if (Number.isFinite(n)) seen.set(sub, Math.max(seen.get(sub) ?? 0, n));
    const at = Date.parse(stored.since);
    if (Number.isFinite(at) && at < since.getTime()) since = new Date(at);
  })();

  // One save in flight, at most one more after it (it writes the then-current state).
  let saving: Promise<void> = loaded;
  let dirty = false;
  const save = () => {
    if (!deps.state || dirty) return;
    dirty = true;
    saving = saving.then(async () => {
      dirty = false;
      await deps.state
        ?.save({ seen: Object.fromEntries(seen), since: since.toISOString() })
        .catch((err: Error) => deps.onStateError?.(err));
    });
  };

  async function once(): Promise<void> {
    await loaded;
    // Overlap by a second: clocks and equal timestamps; the queue makes repeats no-ops.
    const from = new Date(since.getTime() - 1000);
    const started = new Date();
    for await (const obs of keysetSearch(deps.fhir, 'Observation', {
      params: { code: ECG_OBSERVATION_CODES, _elements: 'status' },
      from: { instant: from.toISOString(), inclusive: false },
    })) {
      if (obs.id) await deps.enqueue(obs.id, obs.meta?.versionId);
    }
    since = started;
    save();
  }

  return {
    observe(status) {
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
      const next = Math.max(last ?? 0, top);
      if (next !== last) {
        seen.set(status.subscription, next);
        save();
      }
      return gap;
    },
    requery() {
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
    async flush() {
      await loaded;
      let current: Promise<void>;
      do {
        current = saving;
        await current;
      } while (current !== saving);
    },
  };
}
