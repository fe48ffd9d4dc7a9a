/**
 * Canonical URLs of our own FHIR definitions (issue #13 item 4): every extension, CodeSystem and identifier
 * system (NamingSystem) the service writes lives under one base, `FHIR_DEFINITIONS_BASE` (default
 * `${PUBLIC_BASE_URL}/fhir`), at the RESTful address of its definition, so each URL resolves to the
 * resource that defines it (https://hl7.org/fhir/R4/resource.html#canonical: "SHOULD be a literal address
 * at which this definition can be accessed"). `definitionsRouter()` and the embedded server serve them.
 *
 * The base is process-wide: compose() (and each CLI command that writes) calls {@link setDefinitionsBase}
 * once from the config, before anything is built. The exported URLs are ES module live bindings, so every
 * importer reads the configured value; a value must not be copied into a module-level constant elsewhere.
 * Changing the base of a deployment changes the systems of what it writes from then on (as any change of
 * a canonical would); searches for earlier data use the old URLs.
 */

/** The base when nothing configured one (`PUBLIC_BASE_URL`'s default, `http://localhost:8080`, + `/fhir`). */
export const DEFAULT_DEFINITIONS_BASE = 'http://localhost:8080/fhir';

/** Resource ids of our definitions (also the last segment of each canonical URL). */
export const DEFINITION_ID = {
  finding: 'ecg-cds-finding',
  rhythmClass: 'ecg-cds-rhythm-class',
  beatClass: 'ecg-cds-beat-class',
  unable: 'ecg-cds-unable',
  overrideReason: 'ecg-cds-override-reason',
  provenanceTag: 'ecg-cds-provenance-tag',
  subscriptionTag: 'ecg-cds-subscription-tag',
  batchState: 'ecg-cds-batch-state',
  analysis: 'ecg-cds-analysis',
  analysisPart: 'ecg-cds-analysis-part',
  model: 'ecg-cds-model',
  record: 'ecg-cds-record',
  demo: 'ecg-cds-demo-patient',
  extModelVersion: 'ecg-cds-model-version',
  extUnable: 'ecg-cds-unable-to-analyse',
  extRhythm: 'ecg-cds-rhythm',
  extLead: 'ecg-cds-lead',
  extDuration: 'ecg-cds-duration',
  extAbstainedFraction: 'ecg-cds-abstained-fraction',
  extLimitation: 'ecg-cds-limitation',
  extConfidence: 'ecg-cds-confidence',
  extOnset: 'ecg-cds-onset',
  extBatchState: 'ecg-cds-batch-state-value',
  topic: 'ecg-cds-ecg-observation',
} as const;

let base = DEFAULT_DEFINITIONS_BASE;
// Each URL below is set by assign(), at load and on every setDefinitionsBase().

const at = (type: string, id: string) => `${base}/${type}/${id}`;
const cs = (id: string) => at('CodeSystem', id);
const ns = (id: string) => at('NamingSystem', id);
const sd = (id: string) => at('StructureDefinition', id);
const D = DEFINITION_ID;

// CodeSystems.
/** Our finding codes (`FindingCode`); the CDS cards code their suggestions in the same system. */
export let FINDING_SYSTEM = '';
/** Rhythm-model classes (`RhythmClass`, CinC 2017 labels N, A, O, ~). */
export let RHYTHM_CLASS_SYSTEM = '';
/** AAMI EC57 beat classes N, S, V, F, Q: the `code` of our beat-count Observations (besides MDC where one exists). */
export let AAMI_CLASS_SYSTEM = '';
/** Why an ECG could not be analysed (`UnableToAnalyse['code']` and `decode-<DecodeErrorCode>`). */
export let UNABLE_CODE_SYSTEM = '';
/** Why a clinician overrode a card (CDS Hooks feedback `overrideReason`). */
export let OVERRIDE_REASON_SYSTEM = '';
/**
 * R4 Provenance has no `identifier`: it carries the analysis key as a `meta.tag` in this system instead, so
 * its `ifNoneExist` can be `_tag=<system>|<key>`.
 */
export let PROVENANCE_TAG_SYSTEM = '';
/** `meta.tag` that finds our Subscriptions again: `rest-hook` and `backport`. */
export let SUBSCRIPTION_TAG_SYSTEM = '';
/** `Basic.code` (and `Basic.identifier` system) of the batch job's state kept on the FHIR server. */
export let BATCH_STATE_SYSTEM = '';

// Identifier systems (NamingSystems).
/** Identifier of one analysis (source Observation version × model version): the DiagnosticReport's. */
export let ANALYSIS_IDENTIFIER_SYSTEM = '';
/** Identifiers of the Observations of one analysis: `<analysis key>.<part>`. */
export let ANALYSIS_PART_IDENTIFIER_SYSTEM = '';
/** Identifier of the Device that stands for one model-set version. */
export let MODEL_IDENTIFIER_SYSTEM = '';
/** Identifier of an imported recording: the PhysioNet record name (`import`). */
export let RECORD_IDENTIFIER_SYSTEM = '';
/** Identifier of the demo patients (demo mode's seed). */
export let DEMO_IDENTIFIER_SYSTEM = '';

/** Basic (batch state): the state as JSON (valueString); the same URL as `EXT.batchState`. */
export let BATCH_STATE_EXTENSION = '';

/** Backport IG topic for ECG Observations (a canonical; R4 has no SubscriptionTopic resource to serve). */
export let ECG_TOPIC = '';

/** Our extensions (R4 has no element for these); each is defined by a StructureDefinition at its URL. */
export const EXT = {
  /** DiagnosticReport: the model-set version string (valueString). */
  modelVersion: '',
  /** DiagnosticReport: why the ECG could not be analysed (valueCoding in {@link UNABLE_CODE_SYSTEM}). */
  unable: '',
  /** DiagnosticReport: the rhythm model's label (`label`, valueCoding) and probability (`probability`), complex. */
  rhythm: '',
  /** DiagnosticReport: name of the lead beats were classified on (valueString). */
  lead: '',
  /** DiagnosticReport: length of the analysed ECG (valueQuantity, s). */
  duration: '',
  /** DiagnosticReport: fraction of the record where the analysis abstained (valueDecimal 0..1). */
  abstainedFraction: '',
  /** DiagnosticReport: one limitation sentence each (valueString); R4 DiagnosticReport has no `note`. */
  limitation: '',
  /** Observation (EKG impression): calibrated confidence of the finding (valueDecimal 0..1). */
  confidence: '',
  /** Observation (EKG impression): first onset from the start of the ECG (valueQuantity, s). */
  onset: '',
  /** Basic (batch state): the state as JSON (valueString). */
  batchState: '',
};

/** The extension id (StructureDefinition.id) of each {@link EXT} key. */
export const EXT_ID: Readonly<Record<keyof typeof EXT, string>> = {
  modelVersion: D.extModelVersion,
  unable: D.extUnable,
  rhythm: D.extRhythm,
  lead: D.extLead,
  duration: D.extDuration,
  abstainedFraction: D.extAbstainedFraction,
  limitation: D.extLimitation,
  confidence: D.extConfidence,
  onset: D.extOnset,
  batchState: D.extBatchState,
};

function assign(): void {
  FINDING_SYSTEM = cs(D.finding);
  RHYTHM_CLASS_SYSTEM = cs(D.rhythmClass);
  AAMI_CLASS_SYSTEM = cs(D.beatClass);
  UNABLE_CODE_SYSTEM = cs(D.unable);
  OVERRIDE_REASON_SYSTEM = cs(D.overrideReason);
  PROVENANCE_TAG_SYSTEM = cs(D.provenanceTag);
  SUBSCRIPTION_TAG_SYSTEM = cs(D.subscriptionTag);
  BATCH_STATE_SYSTEM = cs(D.batchState);
  ANALYSIS_IDENTIFIER_SYSTEM = ns(D.analysis);
  ANALYSIS_PART_IDENTIFIER_SYSTEM = ns(D.analysisPart);
  MODEL_IDENTIFIER_SYSTEM = ns(D.model);
  RECORD_IDENTIFIER_SYSTEM = ns(D.record);
  DEMO_IDENTIFIER_SYSTEM = ns(D.demo);
  ECG_TOPIC = at('SubscriptionTopic', D.topic);
  BATCH_STATE_EXTENSION = sd(D.extBatchState);
  for (const key of Object.keys(EXT) as (keyof typeof EXT)[]) EXT[key] = sd(EXT_ID[key]);
}
assign();

/** Set the base of every canonical URL above (config `FHIR_DEFINITIONS_BASE`); trailing slashes dropped. */
export function setDefinitionsBase(url: string): void {
  base = url.replace(/\/+$/, '');
  assign();
}

/** The base now in use. */
export function definitionsBase(): string {
  return base;
}
