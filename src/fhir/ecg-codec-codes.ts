/**
 * Codes and units of the ECG Observation codec: MDC lead codes (ISO/IEEE 11073-10101), LOINC panel codes,
 * UCUM voltage and time units, and the R5 cross-version extension URLs.
 */

/** MDC as FHIR R4 names it (https://hl7.org/fhir/R4/mdc.html): HL7 OID form. */
export const MDC_SYSTEM_OID = 'urn:oid:2.16.840.1.113883.6.24';
/** MDC as ISO names it; IHE and several vendors use this one. Both are accepted on decode. */
export const MDC_SYSTEM_ISO = 'urn:iso:std:iso:11073:10101';
export const MDC_SYSTEMS: ReadonlySet<string> = new Set([MDC_SYSTEM_OID, MDC_SYSTEM_ISO]);
export const LOINC_SYSTEM = 'http://loinc.org';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** MDC_ECG_ELEC_POTL: electric potential of an unspecified lead; the Observation-level code of an ECG. */
export const MDC_ECG_ELEC_POTL = '131328';

/**
 * The twelve standard leads, MDC_ECG_ELEC_POTL_<lead> (131328 + MDC_ECG_LEAD_<lead>), keyed by the
 * lead's display name. Codes from issue #4 / ISO/IEEE 11073-10101 partition 2.
 */
export const MDC_LEAD_CODES: Readonly<Record<string, string>> = {
  I: '131329',
  II: '131330',
  III: '131389',
  aVR: '131390',
  aVL: '131391',
  aVF: '131392',
  V1: '131331',
  V2: '131332',
  V3: '131333',
  V4: '131334',
  V5: '131335',
  V6: '131336',
};

/** MDC code → lead name (the inverse of {@link MDC_LEAD_CODES}). */
export const LEAD_BY_MDC_CODE: ReadonlyMap<string, string> = new Map(
  Object.entries(MDC_LEAD_CODES).map(([name, code]) => [code, name]),
);

/** The MDC reference id of a lead code, e.g. MDC_ECG_ELEC_POTL_aVR, for `Coding.display`. */
export function mdcDisplay(lead: string): string {
  return `MDC_ECG_ELEC_POTL_${lead}`;
}

/**
 * A source lead name (WFDB, CinC, PTB-XL spelling: "MLII", "II", "AVR", "v1", "lead I") → the standard
 * lead name, or undefined when the lead is not one of the twelve (e.g. CinC 2017's "ECG").
 * Modified leads (MLII, MV1) are their limb/chest lead's electrode positions moved to the torso; they
 * carry the same lead code, as in wfdb's own MDC mapping.
 */
export function standardLeadName(sourceName: string): string | undefined {
  let n = sourceName.trim().toUpperCase().replace(/\s+/g, '');
  if (n.startsWith('LEAD')) n = n.slice(4);
  const direct = STANDARD_LEADS.get(n);
  if (direct) return direct;
  if (n.startsWith('ML')) return STANDARD_LEADS.get(n.slice(2)); // MLI, MLII, MLIII
  if (n.startsWith('MV')) return STANDARD_LEADS.get(n.slice(1)); // MV1 … MV6
  return undefined;
}

const STANDARD_LEADS: ReadonlyMap<string, string> = new Map(
  Object.keys(MDC_LEAD_CODES).map((name) => [name.toUpperCase(), name]),
);

/** LOINC 11524-6 "EKG study": any ECG that is not a 12-lead panel. */
export const LOINC_EKG_STUDY = { system: LOINC_SYSTEM, code: '11524-6', display: 'EKG study' } as const;
/** LOINC 34534-8 "12 lead EKG panel". */
export const LOINC_12_LEAD_PANEL = {
  system: LOINC_SYSTEM,
  code: '34534-8',
  display: '12 lead EKG panel',
} as const;

/**
 * Observation codes an ECG may carry, as one `code=` search value (comma-joined `system|code`, an OR in
 * FHIR search): our two LOINC codes and MDC 131328 in both systems, so the HL7 example matches too.
 */
export const ECG_OBSERVATION_CODES = [
  `${LOINC_SYSTEM}|${LOINC_EKG_STUDY.code}`,
  `${LOINC_SYSTEM}|${LOINC_12_LEAD_PANEL.code}`,
  `${MDC_SYSTEM_OID}|${MDC_ECG_ELEC_POTL}`,
  `${MDC_SYSTEM_ISO}|${MDC_ECG_ELEC_POTL}`,
].join(',');

/**
 * UCUM voltage code (or unit text) → factor to mV. UCUM codes are case-sensitive: `uV` is microvolt,
 * `mV` millivolt; the micro sign (U+00B5) and Greek mu (U+03BC) spellings appear in `Quantity.unit`.
 */
export const VOLTAGE_TO_MV: ReadonlyMap<string, number> = new Map([
  ['uV', 1e-3],
  ['\u00b5V', 1e-3],
  ['\u03bcV', 1e-3],
  ['mV', 1],
  ['V', 1e3],
]);

/** UCUM time code → milliseconds, for R5 `intervalUnit` (R5 binds it to UCUM). */
export const TIME_TO_MS: ReadonlyMap<string, number> = new Map([
  ['ms', 1],
  ['s', 1e3],
  ['us', 1e-3],
  ['min', 60e3],
]);

/**
 * R5 `SampledData.interval` / `intervalUnit` carried on R4 as cross-version extensions
 * (https://hl7.org/fhir/uv/xver-r5.r4/, "Lookup-R5-SampledData-R4": `interval` maps onto R4 `period`,
 * `intervalUnit` needs this extension). The `interval` extension is read too, for writers that use it.
 */
export const EXT_R5_INTERVAL = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SampledData.interval';
export const EXT_R5_INTERVAL_UNIT =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-SampledData.intervalUnit';

/**
 * Core extension on `Observation.component`: offset in ms from the Observation's effective time, for
 * "sequential recording of sampled data from the same lead" (ISO 22077).
 * https://hl7.org/fhir/extensions/StructureDefinition-observation-timeOffset.html
 */
export const EXT_TIME_OFFSET = 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset';
