/**
 * The work of one queued job: read the ECG Observation (the exact version when the job names one), analyse
 * it and write back. Idempotent end to end: the write-back is a conditional transaction on identifiers
 * derived from Observation id + version + model version, so a retried or duplicated job adds nothing.
 * A dead letter's retry that succeeds resolves its entry.
 */
import type { AnalysedEcg, Trigger } from '../fhir/analyze-observation.js';
import type { FhirAccess } from '../fhir/client.js';
import type { DeadLetterStore } from './dead-letter.js';
import { type AnalysisJob, type JobReason, jobId } from './queue.js';

export interface JobProcessorDeps {
  readonly fhir: Pick<FhirAccess, 'read' | 'vread'>;
  readonly analyze: (obs: fhir4.Observation, trigger: Trigger) => Promise<AnalysedEcg>;
  readonly deadLetters?: Pick<DeadLetterStore, 'resolve'>;
}

const TRIGGER: Readonly<Record<JobReason, Trigger>> = {
  subscription: 'subscription',
  nightly: 'nightly',
  backfill: 'nightly',
  hook: 'hook',
  demo: 'demo',
  // Catch-up stands in for notifications that never came.
  catchup: 'subscription',
};

export function createJobProcessor(deps: JobProcessorDeps): (job: AnalysisJob) => Promise<AnalysedEcg> {
  return async (job) => {
    const obs = job.versionId
      ? await deps.fhir.vread('Observation', job.observationId, job.versionId)
      : await deps.fhir.read('Observation', job.observationId);
    const analysed = await deps.analyze(obs, TRIGGER[job.reason]);
    // A resolve that fails leaves the entry: the next run's retry succeeds again and resolves it.
    if (job.retry !== undefined) await deps.deadLetters?.resolve(jobId(job)).catch(() => false);
    return analysed;
  };
}
