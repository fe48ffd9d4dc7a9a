/**
 * One ECG Observation → analysis → write-back: the unit of work shared by the CDS hook's on-demand path,
 * Subscription notifications and the nightly job. Bad ECGs never throw: a DecodeError or an analysis
 * that abstains becomes a stored 'unable' result, so the clinician sees why and the job does not retry
 * forever. Logs carry ids and outcomes only (no patient identifiers, no samples).
 */
import { analyze } from '../inference/analyze.js';
import type { Engine } from '../inference/model/engine.js';
import type { Logger } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { CodecLimits } from './ecg-codec.js';
import { DecodeError, decodeEcgObservation } from './ecg-codec.js';
import { type ModelSet, type SourceEcg, type StoredResult, summarize } from './stored-result.js';
import { buildWriteBack } from './write-back/build.js';

/** Where results go: a transaction endpoint (the FHIR client, or the embedded server in tests). */
export interface TransactionWriter {
  transaction(bundle: fhir4.Bundle): Promise<fhir4.Bundle>;
}

export interface ObservationAnalyzerDeps {
  readonly engine: Engine;
  readonly models: ModelSet;
  /** Omitted: analyse only (dry run). */
  readonly writer?: TransactionWriter;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly limits?: Partial<CodecLimits>;
}

export interface AnalysedEcg {
  readonly result: StoredResult;
  /** Id of the DiagnosticReport on the server (existing one when the write was a replay). */
  readonly reportId?: string;
}

export type Trigger = 'hook' | 'subscription' | 'nightly' | 'cli' | 'demo';

export function sourceOf(obs: fhir4.Observation): SourceEcg {
  const effective = obs.effectiveDateTime ?? obs.effectiveInstant ?? obs.effectivePeriod?.start;
  return {
    observationId: obs.id ?? '',
    ...(obs.meta?.versionId ? { versionId: obs.meta.versionId } : {}),
    ...(obs.subject?.reference ? { subject: obs.subject.reference } : {}),
    ...(effective ? { effective } : {}),
  };
}

export async function analyzeObservation(
  obs: fhir4.Observation,
  deps: ObservationAnalyzerDeps,
  trigger: Trigger,
): Promise<AnalysedEcg> {
  if (!obs.id) throw new Error('the ECG Observation has no id: store it before analysing');
  const source = sourceOf(obs);
  const t0 = performance.now();
  let result: StoredResult;
  try {
    const ecg = decodeEcgObservation(obs, deps.limits);
    result = summarize(await analyze(ecg, deps.engine), source, deps.models.version);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    result = {
      source,
      modelVersion: deps.models.version,
      status: 'unable',
      unable: { code: `decode-${err.code}`, reason: err.message },
      findings: [],
      limitations: [],
    };
  }
  const ms = performance.now() - t0;
  const outcome = result.status === 'unable' ? 'unable' : (result.findings[0]?.code ?? 'none');
  deps.metrics.analyses.inc({ result: outcome, trigger });
  let reportId: string | undefined;
  if (deps.writer) {
    const response = await deps.writer.transaction(buildWriteBack(result, deps.models));
    reportId = locationId(response, 'DiagnosticReport');
  }
  deps.log.info(
    {
      event: 'ecg.analysed',
      observation: obs.id,
      version: source.versionId,
      trigger,
      outcome,
      ms: Math.round(ms),
    },
    'ECG analysed',
  );
  return { result, ...(reportId ? { reportId } : {}) };
}

/** Logical id of the first entry of `type` in a transaction-response Bundle (from its location). */
export function locationId(response: fhir4.Bundle, type: string): string | undefined {
  for (const e of response.entry ?? []) {
    const loc = e.response?.location ?? (e.resource?.resourceType === type ? `${type}/${e.resource.id}` : '');
    const m = new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})`).exec(loc);
    if (m) return m[1];
  }
  return undefined;
}
