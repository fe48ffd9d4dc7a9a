/**
 * `ecg-arrhythmia` on `patient-view`: shows what the AI found on the patient's recent ECGs.
 * Results normally exist already (written by Subscription-triggered or nightly analysis); ECGs without
 * a result from the current model are analysed on demand while the time budget lasts (CDS Hooks asks
 * for answers in about 500 ms). This module never runs DSP: `analyzeOnDemand` is injected.
 */

import { z } from 'zod';
import type { StoredResult } from '../../fhir/stored-result.js';
import { WriteBackError } from '../../fhir/write-back/error.js';
import { analysisPendingCard, type PendingEcg } from '../card-pending.js';
import {
  buildCards,
  type CardInput,
  type CardOptions,
  resultsUnfetchedCard,
  type UnfetchedEcg,
} from '../cards.js';
import {
  ecgEnvelopeProblem,
  ecgObservationId,
  FHIR_ID,
  indexedEntriesOf,
  type Prefetched,
  type ResourceSearcher,
  resolvePrefetch,
} from '../prefetch.js';
import type { CdsService } from '../registry.js';
import { parseCdsRequest, parseOr400 } from '../request.js';
import { CdsError, type CdsRequest, type CdsResponse } from '../types.js';

export const SERVICE_ID = 'ecg-arrhythmia';

/** What the hook reads of an ECG before it needs the waveform: status, kind (12-lead), patient and time. */
export const ECG_SUMMARY_ELEMENTS = 'status,code,subject,effective';
/** LOINC 34534-8 "12 lead EKG panel": the code our codec gives an ECG with all twelve standard leads. */
const TWELVE_LEAD_CODE = '34534-8';

/**
 * Our own reports query (issue #13): each attempt gets this share of the budget, and a retry may start
 * until the second share ends, so both attempts leave a fifth of the budget for the rest of the call.
 */
const REPORTS_ATTEMPT_SHARE = 0.4;
const REPORTS_RETRY_UNTIL_SHARE = 0.8;

/** One analysed ECG as read back from the FHIR server or just analysed. */
export interface ResultRef {
  readonly result: StoredResult;
  readonly reportId?: string;
}

export interface EcgServiceDeps {
  /**
   * Origins a request's `fhirServer` may have (FHIR_SERVER_ALLOWLIST). A call naming another origin is
   * refused before anything is fetched: the server is not contacted and the client's token goes nowhere.
   */
  readonly fhirServers: { allows(url: unknown): boolean };
  /** FHIR client for the request's `fhirServer` with its `fhirAuthorization`; undefined when absent. */
  fhirFor(request: CdsRequest): ResourceSearcher | undefined;
  /** Our results in a DiagnosticReport search Bundle (with `_include=DiagnosticReport:result`). */
  readResults(bundle: fhir4.Bundle): ResultRef[];
  /**
   * Decode and analyse one ECG, and write the result back only when the service finds the same
   * Observation on its own FHIR server (analyzeReceivedObservation); never throws for bad ECGs
   * (returns status 'unable').
   */
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
      // Without waveforms (issue #12): R4 `_elements` keeps whole top-level elements only, so an ECG's
      // `component`s (lead code and samples together) cannot be partly kept; the search carries none and
      // the hook reads in full only the ECGs it must analyse (`withWaveform`). `id` and `meta` always stay.
      _elements: ECG_SUMMARY_ELEMENTS,
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
      // Refused even when the prefetch is complete: the server would be read for `_elements`-subsetted
      // ECGs and linked from cards, and a misconfigured client should learn so on its first call.
      if (request.fhirServer !== undefined && !deps.fhirServers.allows(request.fhirServer))
        throw new CdsError(400, 'fhirServer origin not allowed', 'fhirServer');
      const fhir = deps.fhirFor(request);
      const start = now();
      // A slow or failed read of our reports must not read as "no results" (issue #13): one retry
      // within the budget.
      const reportsTiming = {
        attemptMs: deps.budgetMs * REPORTS_ATTEMPT_SHARE,
        until: start + deps.budgetMs * REPORTS_RETRY_UNTIL_SHARE,
        now,
      };
      const [ecgs, reports] = await Promise.all([
        resolvePrefetch(request, 'ecgs', ecgQuery(patientId), fhir),
        resolvePrefetch(request, 'reports', reportQuery(patientId), fhir, reportsTiming),
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
      // The reports could not be read: an ECG without a known result may have one all the same, so it
      // is neither analysed nor queued (a needless re-analysis); its card says the results are missing.
      const unfetched: UnfetchedEcg[] = [];
      // ECGs whose analysis goes on past the budget (in the pool, or queued): an "in progress" card each.
      const pending: PendingEcg[] = [];
      if (ecgs.kind === 'bundle') {
        const observations = indexedEntriesOf(ecgs.bundle, 'Observation').slice(0, deps.maxEcgs);
        for (const [i, obs] of observations) {
          // Prefetched data is the caller's: a bad id is a 400 naming it, a bad envelope an "unable" card
          // for that ECG (nothing analysed or written). From the EHR's server, a bad id is skipped.
          const at = `${ecgs.via === 'prefetch' ? 'prefetch.' : ''}ecgs.entry[${i}].resource`;
          const id = ecgs.via === 'prefetch' ? ecgObservationId(obs, at) : safeId(obs);
          if (!id) continue;
          // Another patient's ECG never makes a card in this patient's chart (a client or server fault).
          if (!isOfPatient(obs, patientId)) continue;
          const problem = ecgEnvelopeProblem(obs);
          let ref = problem
            ? invalidObservation(id, problem, deps.modelVersion)
            : (known.get(keyOf(id, obs.meta?.versionId, deps.modelVersion)) ?? newestFor(known, id));
          if (!ref && reports.kind === 'failed') {
            unfetched.push(toUnfetched(obs, id, request.fhirServer ?? deps.reportBaseUrl));
            continue;
          }
          let full: fhir4.Observation | undefined;
          if (!ref || ref.result.modelVersion !== deps.modelVersion) {
            full = now() < deadline ? await withWaveform(obs, fhir) : undefined;
            const fullProblem = full && full !== obs ? ecgEnvelopeProblem(full) : undefined;
            if (fullProblem) ref = invalidObservation(id, fullProblem, deps.modelVersion);
            else if (full && now() < deadline)
              ref = (await analyzeWithin(full, deadline - now(), deps)) ?? ref;
            else deps.enqueue?.(obs);
            // What is ready is shown (a result of an older model); otherwise the analysis is under way.
            if (!ref)
              pending.push({
                observationId: id,
                ...(obs.meta?.versionId ? { versionId: obs.meta.versionId } : {}),
              });
          }
          if (ref) inputs.push(toCardInput(ref, deps.reportBaseUrl, request.fhirServer, obs, full));
        }
      } else {
        // ECGs unreadable but our reports are there: show them, newest ECG first.
        const refs = [...known.values()].sort((a, b) =>
          (b.result.source.effective ?? '').localeCompare(a.result.source.effective ?? ''),
        );
        for (const ref of refs.slice(0, deps.maxEcgs)) inputs.push(toCardInput(ref, deps.reportBaseUrl));
      }
      // The comparison with the previous analysed ECG draws on every stored result already read.
      const history = [...known.values()].map((ref) => ref.result);
      return {
        cards: [
          ...buildCards(inputs, deps.cards, { patientId, history }),
          ...unfetched.map((u) => resultsUnfetchedCard(u, deps.cards)),
          ...pending.map((p) => analysisPendingCard(p, deps.cards)),
        ],
      };
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

/** True when the Observation's subject is the context patient (`Patient/<id>`, relative or absolute). */
export function isOfPatient(obs: fhir4.Observation, patientId: string): boolean {
  const ref = obs.subject?.reference;
  if (typeof ref !== 'string') return false;
  return ref === `Patient/${patientId}` || ref.endsWith(`/Patient/${patientId}`);
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

function toUnfetched(obs: fhir4.Observation, id: string, ecgBase: string): UnfetchedEcg {
  const effective = obs.effectiveDateTime ?? obs.effectiveInstant ?? obs.effectivePeriod?.start;
  return {
    observationId: id,
    ...(obs.meta?.versionId ? { versionId: obs.meta.versionId } : {}),
    ...(effective ? { effective } : {}),
    ecgUrl: `${ecgBase.replace(/\/+$/, '')}/Observation/${encodeURIComponent(id)}`,
  };
}

function toCardInput(
  ref: ResultRef,
  reportBase: string,
  fhirServer?: string,
  obs?: fhir4.Observation,
  /** The same ECG read in full (with its components), when it was. */
  full?: fhir4.Observation,
): CardInput {
  const ecgBase = fhirServer ?? reportBase;
  // Ids may come from the client's prefetch: encoded, they cannot steer the link's path.
  const obsId = encodeURIComponent(obs?.id ?? ref.result.source.observationId);
  const reportUrl = ref.reportId
    ? `${reportBase}/DiagnosticReport/${encodeURIComponent(ref.reportId)}`
    : undefined;
  // A suggested resource is written to the EHR's server: the report by relative reference when it
  // lives there, by its absolute URL when our reports live elsewhere.
  const sameServer = !fhirServer || sameBase(fhirServer, reportBase);
  const reportReference =
    ref.reportId && FHIR_ID.test(ref.reportId)
      ? sameServer
        ? `DiagnosticReport/${ref.reportId}`
        : reportUrl
      : undefined;
  const leads = full ? leadCountOf(full) : obs ? leadCountOf(obs) : undefined;
  return {
    result: ref.result,
    ...(reportUrl ? { reportUrl } : {}),
    ...(reportReference ? { reportReference } : {}),
    ...(leads ? { leadCount: leads } : {}),
    ecgUrl: `${ecgBase.replace(/\/+$/, '')}/Observation/${obsId}`,
  };
}

function sameBase(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/**
 * Leads of an ECG Observation: 12 for the 12-lead panel code, else the distinct lead codes of its waveform
 * components (a long recording repeats each lead's component once per part, #13), when present.
 */
export function leadCountOf(obs: fhir4.Observation): number | undefined {
  // The Observation may be an unvalidated prefetch value: every array is checked before use (hostile
  // input such as `"coding": ""` must not become a 500; fuzz counterexample in hook-fuzz.test.ts).
  const codings = (x: { coding?: unknown } | undefined): readonly fhir4.Coding[] =>
    Array.isArray(x?.coding) ? (x.coding as fhir4.Coding[]) : [];
  if (codings(obs.code).some((c) => c?.code === TWELVE_LEAD_CODE)) return 12;
  const leads = new Set(
    (Array.isArray(obs.component) ? obs.component : [])
      .filter((c) => c?.valueSampledData)
      .map((c) => JSON.stringify(codings(c?.code).map((x) => [x?.system, x?.code]))),
  );
  if (leads.size > 0) return leads.size;
  const dims = obs.valueSampledData?.dimensions;
  return typeof dims === 'number' && Number.isInteger(dims) && dims > 0 && dims <= 64 ? dims : undefined;
}

/**
 * patient-view's part of the request (https://cds-hooks.org/hooks/patient-view/): the hook name and the
 * context. The request's envelope (hookInstance, fhirServer, fhirAuthorization, prefetch values) was
 * checked at the HTTP edge (request.ts); it is checked again here for callers that skip that edge.
 */
function validate(request: CdsRequest): string {
  const r = parseCdsRequest(request);
  if (r.hook !== 'patient-view') throw new CdsError(400, 'hook: must be patient-view', 'hook');
  return parseOr400(patientViewContext, r.context, 'context').patientId;
}

const patientViewContext = z.looseObject({
  patientId: z.string().regex(FHIR_ID, 'must be a FHIR id'),
  userId: z.string().optional(),
  encounterId: z.string().optional(),
});

/** The id when it is a FHIR id, else undefined (an Observation from the EHR's server we cannot link). */
function safeId(obs: { id?: unknown }): string | undefined {
  return typeof obs.id === 'string' && FHIR_ID.test(obs.id) ? obs.id : undefined;
}

/**
 * Analyse on demand within `ms` (HOOK_BUDGET_MS, for real: issue #14); undefined when it did not finish.
 * A late analysis goes on in the pool and writes its report back; if it then fails, the ECG is queued
 * for background analysis (retries, dead letters), so no work is lost.
 */
async function analyzeWithin(
  obs: fhir4.Observation,
  ms: number,
  deps: EcgServiceDeps,
): Promise<ResultRef | undefined> {
  const work = analyzeForCard(obs, deps);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((ok) => {
    timer = setTimeout(() => ok(undefined), Math.max(0, ms));
  });
  try {
    const done = await Promise.race([work, late]);
    if (done === undefined) work.catch(() => deps.enqueue?.(obs));
    return done;
  } finally {
    clearTimeout(timer);
  }
}

/** Analyse on demand; when only the write-back failed (logged by the analyzer), the card still shows it. */
async function analyzeForCard(obs: fhir4.Observation, deps: EcgServiceDeps): Promise<ResultRef> {
  try {
    return await deps.analyzeOnDemand(obs);
  } catch (err) {
    if (err instanceof WriteBackError) return { result: err.result };
    throw err;
  }
}

/** An "unable to analyse" result for an Observation the client sent malformed; it is not written back. */
function invalidObservation(id: string, reason: string, modelVersion: string): ResultRef {
  return {
    result: {
      source: { observationId: id },
      modelVersion,
      status: 'unable',
      unable: { code: 'invalid-observation', reason: `the ECG Observation is malformed: ${reason}` },
      findings: [],
      limitations: [],
    },
  };
}
