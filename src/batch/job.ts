/**
 * Wires the nightly job from the composed service: its queue (BullMQ or in-process), the reader the
 * FHIR server supports (bulk `$export` or search), and the checkpoint store (Redis or FHIR `Basic`).
 */
import type { Config } from '../config.js';
import type { FhirAccess } from '../fhir/client.js';
import type { Logger } from '../ops/log.js';
import { bulkExportReader } from './bulk-export.js';
import { type CheckpointStore, fhirCheckpointStore, redisCheckpointStore } from './checkpoint.js';
import type { NightlyDeps } from './nightly.js';
import type { AnalysisQueue } from './queue.js';
import { chooseReader } from './reader.js';

export interface NightlyParts {
  readonly config: Config;
  readonly backend: FhirAccess;
  readonly queue: AnalysisQueue;
  readonly log: Logger;
  readonly models: { readonly version: string };
}

export async function nightlyDeps(
  c: NightlyParts,
  overrides: Partial<NightlyDeps> = {},
): Promise<NightlyDeps & { checkpoints: CheckpointStore }> {
  const token = c.config.fhir.token ?? c.config.devFhir.tokens?.[0];
  const reader = await chooseReader(c.backend, () =>
    bulkExportReader({ baseUrl: c.config.fhir.baseUrl, ...(token ? { token } : {}) }),
  );
  const checkpoints = c.config.redisUrl
    ? redisCheckpointStore(c.config.redisUrl, c.config.redisPrefix)
    : fhirCheckpointStore(c.backend);
  return {
    fhir: c.backend,
    queue: c.queue,
    reader,
    modelVersion: c.models.version,
    checkpoints,
    log: c.log,
    concurrency: c.config.nightly.concurrency,
    ratePerSec: c.config.nightly.ratePerSec,
    ...overrides,
  };
}
