/**
 * The AI Transparency on FHIR IG's two resources (http://hl7.org/fhir/uv/aitransparency, STU1 ballot on
 * R4; build.fhir.org/ig/HL7/aitransparency-ig): a Device that stands for the model set ("AI Device") and a
 * Provenance whose agent is that Device ("AI Provenance"). We follow the profiles' content but do not claim
 * them in `meta.profile`: the IG is a ballot and its profiles are not loaded in any validator we run.
 */
import type { ModelSet } from '../stored-result.js';
import {
  AI_DEVICE_TYPE,
  AIAST,
  DATA_OPERATION_SYSTEM,
  PROVENANCE_PARTICIPANT_TYPE_SYSTEM,
  RESOLVE_AS_VERSION_SPECIFIC_EXTENSION,
} from './codes.js';
import { modelIdentifier, provenanceTag } from './identity.js';
import { aiMeta } from './meta.js';

/**
 * The model set as a Device: AI-Device requires `type` AIdeviceTypeCS#Artificial-Intelligence; the version
 * goes in `version`; the model card is linked from `note` as in the IG's "Device with Model-Card in
 * Device.note.text" example (R4 Device has no element for documentation, so `url`, must-support in
 * AI-Device, carries the link too).
 */
export function modelDevice(models: ModelSet): fhir4.Device {
  return {
    resourceType: 'Device',
    meta: aiMeta(),
    identifier: [modelIdentifier(models)],
    status: 'active',
    type: { coding: [{ ...AI_DEVICE_TYPE }], text: 'AI/ML model' },
    deviceName: [{ name: models.name, type: 'model-name' }],
    version: [{ value: models.version }],
    url: models.modelCardUrl,
    note: [{ text: `Model card: ${models.modelCardUrl}` }],
  };
}

export interface ProvenanceInput {
  readonly key: string;
  /** The report and its Observations: the `urn:uuid:` fullUrls of the entries that create them. */
  readonly targets: readonly fhir4.Reference[];
  /** The source ECG Observation, version-specific when the version is known. */
  readonly source: fhir4.Reference;
  readonly device: fhir4.Reference;
  readonly recorded: string;
}

/**
 * AI-Provenance (http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AI-Provenance;
 * build.fhir.org/ig/HL7/aitransparency-ig/StructureDefinition-AI-Provenance.html, FSH source
 * github.com/HL7/aitransparency-ig/blob/main/input/fsh/AIProvenance.fsh):
 *  - `reason` (slice AIReason, 1..1): the pattern v3-ObservationValue#AIAST;
 *  - `agent` (slice AIagent, 1..*): `who` the AI Device, `type` 1..1 (how the AI was used: `author`, as in
 *    the IG's "Provenance of AI authored Lab Observation"), `role` exactly AIdeviceTypeCS#Artificial-Intelligence;
 *  - `entity`: the source ECG, role `source`, version-specific (`Observation/<id>/_history/<vid>`) when the
 *    version is known; the model card is on the Device (`url`), not an entity, as we publish no
 *    DocumentReference for it (the IG's modelCard entity slice is 0..*);
 *  - `target`: the report and its Observations. Inside a transaction they are `urn:uuid:` fullUrls, which
 *    carry no version, and the version each entry creates is only known once the server has processed it
 *    (https://hl7.org/fhir/R4/http.html#trules). Each target therefore carries the core extension
 *    `resolve-as-version-specific` (true), the FHIR-defined way to ask a server to rewrite the reference to
 *    `Type/id/_history/vid` of the version the transaction creates. A server that does not implement the
 *    extension (the embedded medplum server does not) stores `Type/id`: still exact, because every target is
 *    created by this transaction, conditionally, and never updated afterwards, so it has a single version.
 * Activity CREATE (v3-DataOperation) and `occurred[x]` (must-support) as in the IG's examples. R4
 * Provenance has no identifier: the analysis key is a tag. The profile is not claimed in `meta.profile`:
 * the IG is a ballot whose package is loaded by no validator we run.
 */
export function aiProvenance(p: ProvenanceInput): fhir4.Provenance {
  return {
    resourceType: 'Provenance',
    meta: aiMeta([provenanceTag(p.key)]),
    target: p.targets.map((t) => ({
      ...t,
      extension: [{ url: RESOLVE_AS_VERSION_SPECIFIC_EXTENSION, valueBoolean: true }],
    })),
    occurredDateTime: p.recorded,
    recorded: p.recorded,
    reason: [{ coding: [{ ...AIAST }], text: AIAST.display }],
    activity: { coding: [{ system: DATA_OPERATION_SYSTEM, code: 'CREATE', display: 'create' }] },
    agent: [
      {
        type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE_SYSTEM, code: 'author', display: 'Author' }] },
        // Fixed value ('exactly'): system and code only, no display or text.
        role: [{ coding: [{ system: AI_DEVICE_TYPE.system, code: AI_DEVICE_TYPE.code }] }],
        who: p.device,
      },
    ],
    entity: [{ role: 'source', what: p.source }],
  };
}
