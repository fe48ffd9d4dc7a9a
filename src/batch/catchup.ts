/**
 * Catch-up (issue #11 item 7): at start-up, and whenever the FHIR server comes back after an outage
 * (fhir-watch.ts), analyse the ECG Observations updated since the last catch-up checkpoint, so nothing
 * posted while the service was down, starting, or cut off from the server waits for the nightly run.
 *
 * A pass is the nightly run in catch-up mode (nightly.ts): search by `_lastUpdated` keyset from the
 * checkpoint (inclusive: existence checks make the re-read instant cost one lookup, and an ECG written
 * in the checkpoint's own millisecond is not skipped), existence check by analysis identifier, then the
 * same queue and job path as notifications, so a notification and a catch-up of one ECG version are one
 * job (job id) and one report (conditional write-back). Its checkpoint (`catchup`) lives where the
 * nightly one does (Redis or a FHIR `Basic`); a pass starts at the later of the two, since the nightly
 * checkpoint also covers everything before it. Without either, it looks back `lookbackMs`.
 * Passes never overlap: a trigger during a pass queues one more pass after it. With several replicas the
 * Redis run lock lets one of them do it.
 */
import type { Logger } from '../ops/log.js';
import { checkpointStoreAt } from './checkpoint.js';
import { type NightlyParts, nightlyDeps, stateLocation } from './job.js';
import { type NightlyResult, runNightly } from './nightly.js';
import { searchReader } from './reader.js';

export interface CatchUpOptions {
  readonly parts: NightlyParts;
  /** First pass with no checkpoint anywhere: look back this far (default 24 h). */
  readonly lookbackMs?: number;
  /** ECGs per checkpointed batch (default 200). */
  readonly batchSize?: number;
  readonly log: Logger;
}

export type CatchUpReason = 'start-up' | 'reconnect' | 'subscription-active';

export interface CatchUp {
  /** Run a pass (or one more after the current); resolves when that pass is over. Never rejects. */
  trigger(why: CatchUpReason): Promise<void>;
  /** Resolves once no pass is running or queued. */
  idle(): Promise<void>;
  /** The last finished pass's summary. */
  readonly last: NightlyResult | undefined;
  /** Stop queueing passes (a running one finishes its batch and stops with the queue). */
  close(): void;
}

export function createCatchUp(o: CatchUpOptions): CatchUp {
  const lookbackMs = o.lookbackMs ?? 24 * 3600_000;
  let running: Promise<void> | undefined;
  let again: CatchUpReason | undefined;
  let closed = false;
  let last: NightlyResult | undefined;

  async function pass(why: CatchUpReason): Promise<void> {
    const at = stateLocation(o.parts);
    const store = checkpointStoreAt(at, 'catchup');
    const nightly = checkpointStoreAt(at, 'nightly');
    try {
      const release = await store.lock();
      if (!release) {
        o.log.info({ event: 'catchup.skipped', why: 'another replica holds the catch-up lock' });
        return;
      }
      try {
        const after = (await nightly.load())?.lastUpdated;
        const deps = await nightlyDeps(o.parts, {
          reader: searchReader(o.parts.backend),
          checkpoints: store,
          ...(o.batchSize ? { batchSize: o.batchSize } : {}),
        });
        o.log.info({ event: 'catchup.start', why }, 'catch-up pass');
        last = await runNightly(deps, {
          reason: 'catchup',
          catchUp: {
            ...(after ? { after } : {}),
            fallbackSince: new Date(Date.now() - lookbackMs).toISOString(),
          },
        });
      } finally {
        await release();
      }
    } finally {
      await Promise.allSettled([store.close(), nightly.close()]);
    }
  }

  const trigger = (why: CatchUpReason): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = why;
      return running;
    }
    running = (async () => {
      let next: CatchUpReason | undefined = why;
      try {
        while (next && !closed) {
          again = undefined;
          await pass(next).catch((err: Error) =>
            o.log.warn({ event: 'catchup.failed', why: next, err: err.message }, 'catch-up pass failed'),
          );
          next = again;
        }
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  return {
    trigger,
    async idle() {
      while (running) await running;
    },
    get last() {
      return last;
    },
    close() {
      closed = true;
    },
  };
}
