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
import { FhirRefusedError, FhirRequestError } from './client-errors.js';
import type { CodecLimits } from './ecg-codec.js';
import { DecodeError, decodeEcgObservation } from './ecg-codec.js';
import { type ModelSet, type SourceEcg, type StoredResult, summarize } from './stored-result.js';
import { buildWriteBack } from './write-back/build.js';
import { WriteBackError } from './write-back/error.js';

/** Where results go: a transaction endpoint (the FHIR client, or the embedded server in tests). */
export interface TransactionWriter {
  transaction(bundle: fhir4.Bundle): Promise<fhir4.Bundle>;
}

/**
 * Decode, analyse and summarise one ECG Observation (what a worker of the analysis pool runs, see
 * src/analysis-pool/); never throws for bad ECGs.
 */
export type ResultAnalyzer = (obs: fhir4.Observation, trigger: Trigger) => Promise<StoredResult>;

export interface ObservationAnalyzerDeps {
  /** Off the event loop in the service: the analysis pool's `result` (STYLE: HTTP and jobs submit to it). */
  readonly analyze: ResultAnalyzer;
  readonly models: ModelSet;
  /** Omitted: analyse only (dry run). */
  readonly writer?: TransactionWriter;
  readonly log: Logger;
  readonly metrics: Metrics;
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
  const result = await deps.analyze(obs, trigger);
  const ms = performance.now() - t0;
  const outcome = result.status === 'unable' ? 'unable' : (result.findings[0]?.code ?? 'none');
  deps.metrics.analyses.inc({ result: outcome, trigger });
  let reportId: string | undefined;
  if (deps.writer) {
    let response: fhir4.Bundle;
    try {
      response = await deps.writer.transaction(buildWriteBack(result, deps.models));
    } catch (err) {
      // Logged here, where the trigger is known; the hook still shows the result (WriteBackError carries it).
      deps.log.warn(
        { event: 'ecg.write-back-failed', observation: obs.id, trigger, err: (err as Error)?.message },
        'ECG analysed but its result could not be written back',
      );
      throw new WriteBackError(result, err);
    }
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

/**
 * Decode → analyse → summarise: the CPU-bound part of {@link analyzeObservation}, run by the pool's
 * workers. A DecodeError becomes a stored 'unable' result.
 */
export async function resultOf(
  obs: fhir4.Observation,
  engine: Engine,
  modelVersion: string,
  limits?: Partial<CodecLimits>,
): Promise<StoredResult> {
  const source = sourceOf(obs);
  try {
    const ecg = decodeEcgObservation(obs, limits);
    return summarize(await analyze(ecg, engine), source, modelVersion);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    return {
      source,
      modelVersion,
      status: 'unable',
      unable: { code: `decode-${err.code}`, reason: err.message },
      findings: [],
      limitations: [],
    };
  }
}

/** Reads the service's own copy of an Observation (the FHIR client of FHIR_BASE_URL / the embedded server). */
export interface ObservationReader {
  read(type: 'Observation', id: string): Promise<fhir4.Observation>;
  vread(type: 'Observation', id: string, versionId: string): Promise<fhir4.Observation>;
}

/** Why an Observation received from outside was not confirmed on our server. */
export type Unconfirmed = 'not-found' | 'other-subject' | 'other-version' | 'unreadable';

/**
 * The stored copy of an Observation that came from outside (a hook's prefetch, the EHR's server):
 * the same id, the same version when one is given, the same subject. Otherwise why not.
 */
export async function confirmStored(
  obs: fhir4.Observation,
  reader: ObservationReader,
): Promise<{ stored: fhir4.Observation } | { unconfirmed: Unconfirmed }> {
  const id = obs.id;
  const version = obs.meta?.versionId;
  if (typeof id !== 'string') return { unconfirmed: 'not-found' };
  let stored: fhir4.Observation;
  try {
    stored = version ? await reader.vread('Observation', id, version) : await reader.read('Observation', id);
  } catch (err) {
    const e = err as FhirRequestError;
    const gone = e instanceof FhirRefusedError || e.status === 404 || e.status === 410;
    if (e instanceof FhirRequestError) return { unconfirmed: gone ? 'not-found' : 'unreadable' };
    throw err;
  }
  if (stored?.resourceType !== 'Observation' || stored.id !== id) return { unconfirmed: 'not-found' };
  if (version && stored.meta?.versionId !== undefined && stored.meta.versionId !== version)
    return { unconfirmed: 'other-version' };
  if (relativeRef(stored.subject?.reference) !== relativeRef(obs.subject?.reference))
    return { unconfirmed: 'other-subject' };
  return { stored };
}

/**
 * Analyse an ECG Observation that came from outside the service (issue #11 "forged reports"): the
 * result is written back only when confirmStored() finds the same Observation on our own FHIR server,
 * and then it is the stored copy that is analysed and written, so a report always rests on data the
 * service itself read. Otherwise the given copy is analysed for the card only, nothing is written,
 * and a warning without identifiers is logged.
 */
export async function analyzeReceivedObservation(
  obs: fhir4.Observation,
  deps: ObservationAnalyzerDeps & { readonly reader: ObservationReader },
  trigger: Trigger,
): Promise<AnalysedEcg> {
  const { reader, ...rest } = deps;
  if (!rest.writer) return analyzeObservation(obs, rest, trigger);
  const confirmed = await confirmStored(obs, reader);
  if ('stored' in confirmed) return analyzeObservation(confirmed.stored, rest, trigger);
  deps.log.warn(
    { event: 'ecg.write-back-skipped', trigger, why: confirmed.unconfirmed },
    'ECG not confirmed on the FHIR server: analysed for the card only, nothing written',
  );
  const { writer: _unused, ...readOnly } = rest;
  return analyzeObservation(obs, readOnly, trigger);
}

/** `Patient/1` of `Patient/1`, `https://host/fhir/Patient/1` or `Patient/1/_history/2`; undefined stays undefined. */
function relativeRef(ref: string | undefined): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = /(?:^|\/)([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(ref);
  return m ? m[1] : ref;
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
