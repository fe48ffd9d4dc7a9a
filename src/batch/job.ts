/**
 * Wires the nightly job from the composed service: its queue (BullMQ or in-process), the reader the
 * FHIR server supports (bulk `$export` or search), the checkpoint store (Redis or FHIR `Basic`) and the
 * dead letters to retry.
 */
import type { Config } from '../config.js';
import type { FhirAccess } from '../fhir/client.js';
import type { Logger } from '../ops/log.js';
import { bulkExportReader } from './bulk-export.js';
import { type CheckpointStore, checkpointStoreAt, type StateLocation } from './checkpoint.js';
import type { DeadLetterStore } from './dead-letter.js';
import type { NightlyDeps } from './nightly.js';
import type { AnalysisQueue } from './queue.js';
import { chooseReader } from './reader.js';

export interface NightlyParts {
  readonly config: Config;
  readonly backend: FhirAccess;
  readonly queue: AnalysisQueue;
  readonly log: Logger;
  readonly models: { readonly version: string };
  readonly deadLetters?: DeadLetterStore;
}

/** Where this deployment keeps state: Redis with REDIS_URL, else the FHIR server it writes to. */
export function stateLocation(c: Pick<NightlyParts, 'config' | 'backend'>): StateLocation {
  return {
    ...(c.config.redisUrl ? { redisUrl: c.config.redisUrl } : {}),
    redisPrefix: c.config.redisPrefix,
    fhir: c.backend,
  };
}

/** The nightly job's deps; `overrides` replace parts before they are built (no reader probe, no store). */
export async function nightlyDeps(
  c: NightlyParts,
  overrides: Partial<NightlyDeps> = {},
): Promise<NightlyDeps & { checkpoints: CheckpointStore }> {
  const token = c.config.fhir.token ?? c.config.devFhir.tokens?.[0];
  const reader =
    overrides.reader ??
    (await chooseReader(c.backend, () =>
      bulkExportReader({ baseUrl: c.config.fhir.baseUrl, ...(token ? { token } : {}) }),
    ));
  const checkpoints = overrides.checkpoints ?? checkpointStoreAt(stateLocation(c), 'nightly');
  return {
    fhir: c.backend,
    queue: c.queue,
    reader,
    modelVersion: c.models.version,
    log: c.log,
    concurrency: c.config.nightly.concurrency,
    ratePerSec: c.config.nightly.ratePerSec,
    ...(c.deadLetters ? { deadLetters: c.deadLetters } : {}),
    ...overrides,
    checkpoints,
  };
}
