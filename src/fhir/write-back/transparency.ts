/**
 * The AI Transparency on FHIR IG's two resources (http://hl7.org/fhir/uv/aitransparency, STU1 ballot on
 * R4; build.fhir.org/ig/HL7/aitransparency-ig): a Device that stands for the model set ("AI Device") and a
 * Provenance whose agent is that Device ("AI Provenance"). We follow the profiles' content but do not claim
 * them in `meta.profile`: the IG is a ballot and its profiles are not loaded in any validator we run.
 */
import type { ModelSet } from '../stored-result.js';
import { AI_DEVICE_TYPE, DATA_OPERATION_SYSTEM, PROVENANCE_PARTICIPANT_TYPE_SYSTEM } from './codes.js';
import { modelIdentifier, provenanceTag } from './identity.js';
import { aiMeta } from './meta.js';

/**
 * The model set as a Device: AI-Device requires `type` AIdeviceTypeCS#Artificial-Intelligence; the version
 * goes in `version`; the model card is linked from `note` as in the IG's "Device with Model-Card in
 * Device.note.text" example (R4 Device has no element for documentation, so `url` carries the link too).
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
  /** The report and its Observations. */
  readonly targets: readonly fhir4.Reference[];
  /** The source ECG Observation, version-specific when the version is known. */
  readonly source: fhir4.Reference;
  readonly device: fhir4.Reference;
  readonly recorded: string;
}

/**
 * AI-Provenance: the Device is the agent, typed `author` as in the IG's examples ("Provenance of AI
 * authored Lab Observation"); the source ECG is the entity with role `source`; activity CREATE
 * (v3-DataOperation) and `occurred[x]` (must-support in AI-Provenance) as in the IG's examples, which set no
 * `reason`, so neither do we. R4 Provenance has no identifier: the analysis key is a tag.
 */
export function aiProvenance(p: ProvenanceInput): fhir4.Provenance {
  return {
    resourceType: 'Provenance',
    meta: aiMeta([provenanceTag(p.key)]),
    target: [...p.targets],
    occurredDateTime: p.recorded,
    recorded: p.recorded,
    activity: { coding: [{ system: DATA_OPERATION_SYSTEM, code: 'CREATE', display: 'create' }] },
    agent: [
      {
        type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE_SYSTEM, code: 'author', display: 'Author' }] },
        who: p.device,
      },
    ],
    entity: [{ role: 'source', what: p.source }],
  };
}
