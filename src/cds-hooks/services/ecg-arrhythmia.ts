/**
 * `ecg-arrhythmia` on `patient-view`: shows what the AI found on the patient's recent ECGs.
 * Results normally exist already (written by Subscription-triggered or nightly analysis); ECGs without
 * a result from the current model are analysed on demand while the time budget lasts (CDS Hooks asks
 * for answers in about 500 ms). This module never runs DSP: `analyzeOnDemand` is injected.
 */
import type { StoredResult } from '../../fhir/stored-result.js';
import { buildCards, type CardInput, type CardOptions } from '../cards.js';
import { entriesOf, type Prefetched, type ResourceSearcher, resolvePrefetch } from '../prefetch.js';
import type { CdsService } from '../registry.js';
import { CdsError, type CdsRequest, type CdsResponse } from '../types.js';

export const SERVICE_ID = 'ecg-arrhythmia';

/** One analysed ECG as read back from the FHIR server or just analysed. */
export interface ResultRef {
  readonly result: StoredResult;
  readonly reportId?: string;
}

export interface EcgServiceDeps {
  /** FHIR client for the request's `fhirServer` with its `fhirAuthorization`; undefined when absent. */
  fhirFor(request: CdsRequest): ResourceSearcher | undefined;
  /** Our results in a DiagnosticReport search Bundle (with `_include=DiagnosticReport:result`). */
  readResults(bundle: fhir4.Bundle): ResultRef[];
  /** Decode, analyse and write back one ECG; never throws for bad ECGs (returns status 'unable'). */
  analyzeOnDemand(observation: fhir4.Observation): Promise<ResultRef>;
  /** Queue an ECG for background analysis when the budget ran out (optional). */
  enqueue?(observation: fhir4.Observation): void;
  readonly modelVersion: string;
  /** `system|code,...` of ECG Observations, for the `code` search parameter. */
  readonly ecgCodes: string;
  /** Base URL of the FHIR server the reports live on (for card links). */
  readonly reportBaseUrl: string;
  readonly cards: CardOptions;
  readonly budgetMs: number;
  readonly maxEcgs: number;
  readonly now?: () => number;
}

export function ecgArrhythmiaService(deps: EcgServiceDeps): CdsService {
  const ecgQuery = (patient: string) => ({
    resourceType: 'Observation',
    params: {
      subject: `Patient/${patient}`,
      code: deps.ecgCodes,
      _sort: '-date',
      _count: String(deps.maxEcgs),
    },
  });
  const reportQuery = (patient: string) => ({
    resourceType: 'DiagnosticReport',
    params: {
      subject: `Patient/${patient}`,
      code: 'http://loinc.org|11524-6',
      _sort: '-issued',
      _count: '50',
      _include: 'DiagnosticReport:result',
    },
  });
  const template = (q: { resourceType: string; params: Record<string, string> }) =>
    `${q.resourceType}?${Object.entries(q.params)
      .map(([k, v]) => `${k}=${v}`)
      .join('&')}`;
  const P = '{{context.patientId}}';
  return {
    definition: {
      id: SERVICE_ID,
      hook: 'patient-view',
      title: 'AI ECG arrhythmia findings',
      description:
        "Shows arrhythmias that a deep-learning model found on the patient's recent ECGs (atrial fibrillation, ventricular tachycardia runs, frequent ectopic beats, bigeminy, ...) with confidence and the evidence. AI-generated, preliminary: requires clinician review.",
      usageRequirements:
        'Needs read access to Patient, Observation (ECG waveforms as valueSampledData) and DiagnosticReport. Calls must carry a JWT from an issuer registered with this service.',
      prefetch: {
        patient: `Patient/${P}`,
        ecgs: template(ecgQuery(P)),
        reports: template(reportQuery(P)),
      },
    },
    async handle(request: CdsRequest): Promise<CdsResponse> {
      const now = deps.now ?? Date.now;
      const deadline = now() + deps.budgetMs;
      const patientId = validate(request);
      const fhir = deps.fhirFor(request);
      const [ecgs, reports] = await Promise.all([
        resolvePrefetch(request, 'ecgs', ecgQuery(patientId), fhir),
        resolvePrefetch(request, 'reports', reportQuery(patientId), fhir),
      ]);
      if (ecgs.kind === 'unavailable' && reports.kind === 'unavailable')
        throw new CdsError(412, "no prefetch and no fhirServer: cannot read the patient's ECGs");
      if (isUnusable(ecgs) && isUnusable(reports))
        throw new CdsError(412, 'neither the ECGs nor the reports could be obtained');

      const known = new Map<string, ResultRef>();
      if (reports.kind === 'bundle')
        for (const ref of deps.readResults(reports.bundle)) {
          const key = keyOf(
            ref.result.source.observationId,
            ref.result.source.versionId,
            ref.result.modelVersion,
          );
          if (!known.has(key)) known.set(key, ref);
        }

      const inputs: CardInput[] = [];
      if (ecgs.kind === 'bundle') {
        const observations = entriesOf(ecgs.bundle, 'Observation').slice(0, deps.maxEcgs);
        for (const obs of observations) {
          if (!obs.id) continue;
          let ref =
            known.get(keyOf(obs.id, obs.meta?.versionId, deps.modelVersion)) ?? newestFor(known, obs.id);
          if (!ref || ref.result.modelVersion !== deps.modelVersion) {
            const full = now() < deadline ? await withWaveform(obs, fhir) : undefined;
            if (full && now() < deadline) ref = await deps.analyzeOnDemand(full);
            else deps.enqueue?.(obs);
          }
          if (ref) inputs.push(toCardInput(ref, deps.reportBaseUrl, request.fhirServer, obs));
        }
      } else {
        // ECGs unreadable but our reports are there: show them, newest ECG first.
        const refs = [...known.values()].sort((a, b) =>
          (b.result.source.effective ?? '').localeCompare(a.result.source.effective ?? ''),
        );
        for (const ref of refs.slice(0, deps.maxEcgs)) inputs.push(toCardInput(ref, deps.reportBaseUrl));
      }
      return { cards: buildCards(inputs, deps.cards) };
    },
  };
}

/** The Observation with its waveform: as given, or read in full when it came `_elements`-subsetted. */
async function withWaveform(
  obs: fhir4.Observation,
  fhir: ResourceSearcher | undefined,
): Promise<fhir4.Observation | undefined> {
  const hasWaveform = obs.valueSampledData !== undefined || obs.component?.some((c) => c.valueSampledData);
  // Servers mark `_elements` results SUBSETTED (FHIR search § _elements); an untagged Observation without
  // a waveform really has none, and analysing it yields the "unable to analyse" result that says so.
  const subsetted = obs.meta?.tag?.some((t) => t.code === 'SUBSETTED');
  if (hasWaveform || !subsetted) return obs;
  if (!fhir || !obs.id) return undefined;
  try {
    return await fhir.read('Observation', obs.id);
  } catch {
    return undefined;
  }
}

function isUnusable(p: Prefetched): boolean {
  return p.kind === 'unavailable' || p.kind === 'failed';
}

function keyOf(observationId: string, versionId: string | undefined, modelVersion: string): string {
  return `${observationId}|${versionId ?? ''}|${modelVersion}`;
}

/** Any result for this Observation (another version or model): shown when no fresh one can be made. */
function newestFor(known: Map<string, ResultRef>, observationId: string): ResultRef | undefined {
  for (const ref of known.values()) if (ref.result.source.observationId === observationId) return ref;
  return undefined;
}

function toCardInput(
  ref: ResultRef,
  reportBase: string,
  fhirServer?: string,
  obs?: fhir4.Observation,
): CardInput {
  const ecgBase = fhirServer ?? reportBase;
  const obsId = obs?.id ?? ref.result.source.observationId;
  return {
    result: ref.result,
    ...(ref.reportId ? { reportUrl: `${reportBase}/DiagnosticReport/${ref.reportId}` } : {}),
    ecgUrl: `${ecgBase.replace(/\/+$/, '')}/Observation/${obsId}`,
  };
}

/** Minimal request checks (CDS Hooks 2.0 § HTTP Request): hook, hookInstance, context.patientId. */
function validate(request: CdsRequest): string {
  if (typeof request !== 'object' || request === null)
    throw new CdsError(400, 'request body must be a JSON object');
  if (request.hook !== 'patient-view')
    throw new CdsError(400, `hook must be patient-view, got ${String(request.hook)}`);
  if (typeof request.hookInstance !== 'string' || !request.hookInstance)
    throw new CdsError(400, 'hookInstance is required');
  if (request.fhirAuthorization && !request.fhirServer)
    throw new CdsError(400, 'fhirServer is required when fhirAuthorization is present');
  const patientId = request.context?.patientId;
  if (typeof patientId !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(patientId))
    throw new CdsError(400, 'context.patientId must be a FHIR id');
  return patientId;
}
