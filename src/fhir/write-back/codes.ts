/**
 * Codes, code systems and our own identifier / extension URIs of the write-back (issue #4, item 6).
 * One place, so the builder, the parser and the CDS service's searches cannot drift apart.
 */
import type { AamiClass } from '../../inference/analysis/aami.js';
import type { FindingCode, RhythmClass } from '../../inference/analysis/types.js';

export const SNOMED_SYSTEM = 'http://snomed.info/sct';
export const LOINC_SYSTEM = 'http://loinc.org';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** HL7 v2 table 0074 (diagnostic service section): `EC` = electrocardiac (e.g. ECG). */
export const DIAGNOSTIC_SERVICE_SECTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0074';
export const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const DATA_ABSENT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';

/**
 * AI Transparency on FHIR (http://hl7.org/fhir/uv/aitransparency, STU1 ballot, R4): resources asserted by
 * AI carry `meta.security` AIAST from v3-ObservationValue (ValueSet "Recommended provenance codes",
 * build.fhir.org/ig/HL7/aitransparency-ig/ValueSet-ProvenanceVS.html).
 */
export const AIAST: Readonly<{ system: string; code: string; display: string }> = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'AIAST',
  display: 'Artificial Intelligence asserted',
};

/** The IG's AI-Device profile requires `Device.type` = AIdeviceTypeCS#Artificial-Intelligence. */
export const AI_DEVICE_TYPE: Readonly<{ system: string; code: string; display: string }> = {
  system: 'http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIdeviceTypeCS',
  code: 'Artificial-Intelligence',
  display: 'All kinds of Artificial Intelligence',
};

/**
 * R4 vital-signs profile for heart rate (https://hl7.org/fhir/R4/heartrate.html): category `vital-signs`,
 * LOINC 8867-4, valueQuantity in UCUM `/min`, subject a Patient, effective[x] required.
 */
export const HEART_RATE_PROFILE = 'http://hl7.org/fhir/StructureDefinition/heartrate';

/**
 * Core extension (FHIR Extensions Pack, usable on R4; https://hl7.org/fhir/extensions/StructureDefinition-resolve-as-version-specific.html):
 * on a Reference to a resource created in the same transaction, asks the server to rewrite it to the
 * version that transaction creates (`Type/id/_history/vid`), since the `urn:uuid:` fullUrl has no version.
 */
export const RESOLVE_AS_VERSION_SPECIFIC_EXTENSION =
  'http://hl7.org/fhir/StructureDefinition/resolve-as-version-specific';

export const PROVENANCE_PARTICIPANT_TYPE_SYSTEM =
  'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
export const DATA_OPERATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';
/** Core R4 extension (Reference(Any)) allowed on DiagnosticReport: R4 has no `DiagnosticReport.derivedFrom`. */
export const SUPPORTING_INFO_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo';

// LOINC codes named by issue #4.
// 11524-6 is the codec's: one definition for the ECG we read and the report we write.
export { LOINC_EKG_STUDY } from '../ecg-codec-codes.js';
export const LOINC_EKG_IMPRESSION = {
  system: LOINC_SYSTEM,
  code: '8601-7',
  display: 'EKG impression',
} as const;
export const LOINC_HEART_RATE = { system: LOINC_SYSTEM, code: '8867-4', display: 'Heart rate' } as const;

/** SNOMED CT concepts of issue #4, keyed by a short name. */
export const SNOMED = {
  sinusRhythm: { code: '426783006', display: 'Electrocardiogram: sinus rhythm' },
  atrialFibrillation: { code: '164889003', display: 'Electrocardiographic atrial fibrillation' },
  atrialFlutter: { code: '164890007', display: 'Electrocardiographic atrial flutter' },
  pvc: { code: '427172004', display: 'Electrocardiogram: premature ventricular contractions' },
  pac: { code: '284470004', display: 'Premature atrial contraction' },
  ventricularTachycardia: { code: '164895002', display: 'Ventricular tachycardia' },
  supraventricularTachycardia: {
    code: '426761007',
    display: 'Electrocardiographic supraventricular tachycardia',
  },
  ventricularBigeminy: { code: '11157007', display: 'Ventricular bigeminy' },
  ventricularTrigeminy: { code: '251180001', display: 'Ventricular trigeminy' },
  sinusBradycardia: { code: '426177001', display: 'Electrocardiogram: sinus bradycardia' },
  sinusTachycardia: { code: '427084000', display: 'Electrocardiogram: sinus tachycardia' },
  ecgArtifact: { code: '251143007', display: 'Electrocardiogram artifact' },
  pacedRhythm: { code: '10370003', display: 'Rhythm from artificial pacing' },
} as const satisfies Record<string, { code: string; display: string }>;

export type SnomedConcept = (typeof SNOMED)[keyof typeof SNOMED];

/** SNOMED CT conclusion code per finding; 'other-rhythm' has no single concept and is carried as text. */
export const SNOMED_OF_FINDING: Readonly<Record<FindingCode, SnomedConcept | undefined>> = {
  'atrial-fibrillation': SNOMED.atrialFibrillation,
  'other-rhythm': undefined,
  'sinus-rhythm': SNOMED.sinusRhythm,
  'sinus-bradycardia': SNOMED.sinusBradycardia,
  'sinus-tachycardia': SNOMED.sinusTachycardia,
  'ventricular-tachycardia-run': SNOMED.ventricularTachycardia,
  'supraventricular-tachycardia-run': SNOMED.supraventricularTachycardia,
  'ventricular-bigeminy': SNOMED.ventricularBigeminy,
  'ventricular-trigeminy': SNOMED.ventricularTrigeminy,
  'frequent-pvcs': SNOMED.pvc,
  'frequent-pacs': SNOMED.pac,
  'paced-rhythm': SNOMED.pacedRhythm,
};

/**
 * SNOMED CT concept per rhythm-model class (CinC 2017 labels). The model's 'A' class covers atrial
 * fibrillation and flutter (CinC 2017 labelled both AF); the conclusion code says AF, the more common one.
 */
export const SNOMED_OF_RHYTHM: Readonly<Record<RhythmClass, SnomedConcept | undefined>> = {
  N: SNOMED.sinusRhythm,
  A: SNOMED.atrialFibrillation,
  O: undefined,
  '~': SNOMED.ecgArtifact,
};

/** Unable-to-analyse codes that mean "too noisy": only these get the SNOMED "ECG artifact" conclusion. */
export const NOISE_UNABLE_CODES: ReadonlySet<string> = new Set(['poor-signal-quality']);

// Our own systems and extensions: canonical URLs under FHIR_DEFINITIONS_BASE, each defined by a resource
// the service serves (src/fhir/definitions/). Re-exported as live bindings: the configured base applies.
export {
  AAMI_CLASS_SYSTEM,
  ANALYSIS_IDENTIFIER_SYSTEM,
  ANALYSIS_PART_IDENTIFIER_SYSTEM,
  EXT,
  FINDING_SYSTEM,
  MODEL_IDENTIFIER_SYSTEM,
  OVERRIDE_REASON_SYSTEM,
  PROVENANCE_TAG_SYSTEM,
  RHYTHM_CLASS_SYSTEM,
  UNABLE_CODE_SYSTEM,
} from '../definitions/canonical.js';

/** ISO/IEEE 11073-10101 (MDC) nomenclature: its FHIR system URI (https://hl7.org/fhir/R4/terminologies-systems.html). */
export const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';

/**
 * Standard codes for the beat counts, where one exists. ISO/IEEE 11073-10101 MDC_ECG_V_P_C_CNT
 * ("ventricular premature contraction count", partition 2 SCADA, term code 16993; context-free code
 * 2 × 65536 + 16993 = 148065, numbered as the MDC_ECG_LEAD codes 131072 + n of the R4 devicemetric-type
 * value set, https://hl7.org/fhir/R4/valueset-devicemetric-type.html). MDC and LOINC have no count of the
 * other AAMI classes over a recording (LOINC 8616-5 "Premature ventricular contractions" is a number rate,
 * NRat, not a count): those are coded in our beat-class CodeSystem only. See docs/codes.md.
 */
export const MDC_OF_BEAT_COUNT: Readonly<Partial<Record<AamiClass, { code: string; display: string }>>> = {
  V: { code: '148065', display: 'MDC_ECG_V_P_C_CNT' },
};

/** Display names of the AAMI classes, for the beat-count Observations. */
export const AAMI_CLASS_DISPLAY: Readonly<Record<AamiClass, string>> = {
  N: 'Normal and bundle branch block beats',
  S: 'Supraventricular ectopic beats (PACs)',
  V: 'Ventricular ectopic beats (PVCs)',
  F: 'Fusion beats',
  Q: 'Paced or unclassifiable beats',
};
