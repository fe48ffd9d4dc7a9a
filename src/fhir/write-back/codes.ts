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

// Our own systems. URNs because the project owns no domain; each is stable once data are written.

/** Our finding codes (`FindingCode`); the same system as the CDS cards' `FINDING_SYSTEM`. */
export const FINDING_SYSTEM = 'urn:ecg-cds:finding';
/** Rhythm-model classes (`RhythmClass`, CinC 2017 labels N, A, O, ~). */
export const RHYTHM_CLASS_SYSTEM = 'urn:ecg-cds:rhythm-class';
/** AAMI EC57 beat classes N, S, V, F, Q: the `code` of our beat-count Observations. */
export const AAMI_CLASS_SYSTEM = 'urn:ecg-cds:aami-class';
/** Why an ECG could not be analysed (`UnableToAnalyse['code']`). */
export const UNABLE_CODE_SYSTEM = 'urn:ecg-cds:unable';

/** Identifier of one analysis (source Observation version × model version): the DiagnosticReport's. */
export const ANALYSIS_IDENTIFIER_SYSTEM = 'urn:ecg-cds:analysis';
/** Identifiers of the Observations of one analysis: `<analysis key>.<part>`. */
export const ANALYSIS_PART_IDENTIFIER_SYSTEM = 'urn:ecg-cds:analysis-part';
/** Identifier of the Device that stands for one model-set version. */
export const MODEL_IDENTIFIER_SYSTEM = 'urn:ecg-cds:model';
/**
 * R4 Provenance has no `identifier`: it carries the analysis key as a `meta.tag` in this system instead, so
 * its `ifNoneExist` can be `_tag=<system>|<key>`.
 */
export const PROVENANCE_TAG_SYSTEM = 'urn:ecg-cds:provenance';

/** Our extensions (R4 has no element for these). */
export const EXT = {
  /** DiagnosticReport: the model-set version string (valueString). */
  modelVersion: 'urn:ecg-cds:extension:model-version',
  /** DiagnosticReport: why the ECG could not be analysed (valueCoding in {@link UNABLE_CODE_SYSTEM}). */
  unable: 'urn:ecg-cds:extension:unable',
  /** DiagnosticReport: the rhythm model's label (valueCoding) and probability (valueDecimal), complex. */
  rhythm: 'urn:ecg-cds:extension:rhythm',
  /** DiagnosticReport: name of the lead beats were classified on (valueString). */
  lead: 'urn:ecg-cds:extension:lead',
  /** DiagnosticReport: length of the analysed ECG (valueQuantity, s). */
  duration: 'urn:ecg-cds:extension:duration',
  /** DiagnosticReport: fraction of the record where the analysis abstained (valueDecimal 0..1). */
  abstainedFraction: 'urn:ecg-cds:extension:abstained-fraction',
  /** DiagnosticReport: one limitation sentence each (valueString); R4 DiagnosticReport has no `note`. */
  limitation: 'urn:ecg-cds:extension:limitation',
  /** Observation (EKG impression): calibrated confidence of the finding (valueDecimal 0..1). */
  confidence: 'urn:ecg-cds:extension:confidence',
  /** Observation (EKG impression): first onset from the start of the ECG (valueQuantity, s). */
  onset: 'urn:ecg-cds:extension:onset',
} as const;

/** Display names of the AAMI classes, for the beat-count Observations. */
export const AAMI_CLASS_DISPLAY: Readonly<Record<AamiClass, string>> = {
  N: 'Normal and bundle branch block beats',
  S: 'Supraventricular ectopic beats (PACs)',
  V: 'Ventricular ectopic beats (PVCs)',
  F: 'Fusion beats',
  Q: 'Paced or unclassifiable beats',
};
