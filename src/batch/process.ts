/**
 * The work of one queued job: read the ECG Observation (the exact version when the job names one), analyse
 * it and write back. Idempotent end to end: the write-back is a conditional transaction on identifiers
 * derived from Observation id + version + model version, so a retried or duplicated job adds nothing.
 */
import type { AnalysedEcg, Trigger } from '../fhir/analyze-observation.js';
import type { FhirAccess } from '../fhir/client.js';
import type { AnalysisJob, JobReason } from './queue.js';

export interface JobProcessorDeps {
  readonly fhir: Pick<FhirAccess, 'read' | 'vread'>;
  readonly analyze: (obs: fhir4.Observation, trigger: Trigger) => Promise<AnalysedEcg>;
}

const TRIGGER: Readonly<Record<JobReason, Trigger>> = {
  subscription: 'subscription',
  nightly: 'nightly',
  backfill: 'nightly',
  hook: 'hook',
  demo: 'demo',
};

export function createJobProcessor(deps: JobProcessorDeps): (job: AnalysisJob) => Promise<AnalysedEcg> {
  return async (job) => {
    const obs = job.versionId
      ? await deps.fhir.vread('Observation', job.observationId, job.versionId)
      : await deps.fhir.read('Observation', job.observationId);
    return deps.analyze(obs, TRIGGER[job.reason]);
  };
}
