/**
 * The FHIR R4 resources that define our own extensions (StructureDefinition), code systems (CodeSystem) and
 * identifier systems (NamingSystem), at the canonical URLs of ./canonical.ts (issue #13 item 4). Built on
 * demand for the base in use; served read-only by ./routes.ts and stored in the embedded server.
 *
 * Extensions carry a snapshot (what validators such as @medplum/core and the HL7 validator read) as well as
 * the differential. R4 NamingSystem has no `url`: it is found by its `uniqueId` (search `value=`).
 */
import type { AamiClass } from '../../inference/analysis/aami.js';
import type { FindingCode, RhythmClass, UnableToAnalyse } from '../../inference/analysis/types.js';
import type { DecodeErrorCode } from '../ecg-codec-errors.js';
import {
  AAMI_CLASS_SYSTEM,
  ANALYSIS_IDENTIFIER_SYSTEM,
  ANALYSIS_PART_IDENTIFIER_SYSTEM,
  BATCH_STATE_SYSTEM,
  DEFINITION_ID,
  DEMO_IDENTIFIER_SYSTEM,
  EXT,
  EXT_ID,
  FINDING_SYSTEM,
  MODEL_IDENTIFIER_SYSTEM,
  OVERRIDE_REASON_SYSTEM,
  PROVENANCE_TAG_SYSTEM,
  RECORD_IDENTIFIER_SYSTEM,
  RHYTHM_CLASS_SYSTEM,
  SUBSCRIPTION_TAG_SYSTEM,
  UNABLE_CODE_SYSTEM,
} from './canonical.js';

/** Version and date of these definitions: change them when a definition changes. */
const VERSION = '1.0.0';
const DATE = '2026-12-02';
const PUBLISHER = 'ecg-cds';

type Concepts = Readonly<Record<string, string>>;

const FINDING_DISPLAY: Readonly<Record<FindingCode, string>> = {
  'atrial-fibrillation': 'Atrial fibrillation (or flutter)',
  'other-rhythm': 'Other rhythm',
  'sinus-rhythm': 'Sinus rhythm',
  'sinus-bradycardia': 'Sinus bradycardia',
  'sinus-tachycardia': 'Sinus tachycardia',
  'ventricular-tachycardia-run': 'Ventricular tachycardia run',
  'supraventricular-tachycardia-run': 'Supraventricular tachycardia run',
  'ventricular-bigeminy': 'Ventricular bigeminy',
  'ventricular-trigeminy': 'Ventricular trigeminy',
  'frequent-pvcs': 'Frequent premature ventricular contractions',
  'frequent-pacs': 'Frequent premature atrial (supraventricular) contractions',
  'paced-rhythm': 'Paced rhythm (not analysed)',
};

const RHYTHM_DISPLAY: Readonly<Record<RhythmClass, string>> = {
  N: 'Normal sinus rhythm',
  A: 'Atrial fibrillation (or flutter)',
  O: 'Other rhythm',
  '~': 'Too noisy to classify',
};

/** AAMI EC57 classes (kept here, not imported from codes.ts, which re-exports ./canonical.ts). */
const BEAT_CLASS_DISPLAY: Readonly<Record<AamiClass, string>> = {
  N: 'Normal and bundle branch block beats',
  S: 'Supraventricular ectopic beats (PACs)',
  V: 'Ventricular ectopic beats (PVCs)',
  F: 'Fusion beats',
  Q: 'Paced or unclassifiable beats',
};

const ANALYSIS_UNABLE_DISPLAY: Readonly<Record<UnableToAnalyse['code'], string>> = {
  'no-leads': 'No usable lead',
  'too-short': 'Recording too short',
  'too-long': 'Recording too long',
  'bad-rate': 'Sampling rate not supported',
  'flat-line': 'Flat line',
  'not-finite': 'Samples not finite',
  'poor-signal-quality': 'Poor signal quality',
  'no-beats': 'No beats detected',
};

/** `decode-<code>`: the ECG Observation could not be decoded (src/fhir/ecg-codec-errors.ts). */
const DECODE_UNABLE_DISPLAY: Readonly<Record<DecodeErrorCode, string>> = {
  malformed: 'Malformed Observation',
  'no-sampled-data': 'No sampled data',
  'bad-sampled-data': 'Invalid SampledData',
  'bad-token': 'Invalid data token',
  'too-many-samples': 'Too many samples',
  'too-many-leads': 'Too many leads',
  'too-short': 'Recording too short',
  'dimension-mismatch': 'Dimensions do not match the leads',
  'unknown-unit': 'Unknown unit',
  'unknown-lead-code': 'Unknown lead code',
  'inconsistent-rate': 'Leads at different rates',
  'rate-out-of-range': 'Sampling rate out of range',
  'sample-out-of-range': 'Sample out of range',
  'overlapping-segments': 'Overlapping segments',
};

/** The CDS cards' override reasons (src/cds-hooks/cards.ts OVERRIDE_REASON_CODES; a test keeps them equal). */
export const OVERRIDE_REASON_DISPLAY: Concepts = {
  artifact: 'Signal artifact or misread ECG',
  disagree: 'Disagree with the interpretation',
  'already-known': 'Already known and managed',
  'not-relevant': 'Not relevant for this patient now',
};

function codeSystem(
  id: string,
  url: string,
  title: string,
  description: string,
  concepts: Concepts | 'not-present',
): fhir4.CodeSystem {
  const common = {
    resourceType: 'CodeSystem' as const,
    id,
    url,
    version: VERSION,
    name: title.replace(/[^A-Za-z0-9]/g, ''),
    title,
    status: 'active' as const,
    experimental: false,
    date: DATE,
    publisher: PUBLISHER,
    description,
    caseSensitive: true,
  };
  if (concepts === 'not-present') return { ...common, content: 'not-present' };
  const concept = Object.entries(concepts).map(([code, display]) => ({ code, display }));
  return { ...common, content: 'complete', count: concept.length, concept };
}

function namingSystem(id: string, uri: string, title: string, description: string): fhir4.NamingSystem {
  return {
    resourceType: 'NamingSystem',
    id,
    name: title.replace(/[^A-Za-z0-9]/g, ''),
    status: 'active',
    kind: 'identifier',
    date: DATE,
    publisher: PUBLISHER,
    description,
    uniqueId: [{ type: 'uri', value: uri, preferred: true }],
  };
}

/** One sub-extension of a complex extension: its `url` (a name) and value type. */
interface Part {
  readonly name: string;
  readonly type: string;
  readonly short: string;
}

interface ExtensionSpec {
  readonly key: keyof typeof EXT;
  readonly title: string;
  readonly description: string;
  readonly context: readonly string[];
  /** Value type of a simple extension (R4 data type code), or the parts of a complex one. */
  readonly value: string | readonly Part[];
  /** Repeats on its context (default false). */
  readonly repeats?: boolean;
}

const EXTENSIONS: readonly ExtensionSpec[] = [
  {
    key: 'modelVersion',
    title: 'Model version',
    description: 'Version of the ecg-cds model set that produced this report.',
    context: ['DiagnosticReport'],
    value: 'string',
  },
  {
    key: 'unable',
    title: 'Unable to analyse',
    description: `Why the ECG could not be analysed (a code of ${UNABLE_CODE_SYSTEM}).`,
    context: ['DiagnosticReport'],
    value: 'Coding',
  },
  {
    key: 'rhythm',
    title: 'Rhythm model output',
    description: "The rhythm model's class for the whole ECG and its probability.",
    context: ['DiagnosticReport'],
    value: [
      { name: 'label', type: 'Coding', short: `Rhythm class (${RHYTHM_CLASS_SYSTEM})` },
      { name: 'probability', type: 'decimal', short: 'Probability of the class, 0..1' },
    ],
  },
  {
    key: 'lead',
    title: 'Analysed lead',
    description: 'Name of the lead the beats were classified on.',
    context: ['DiagnosticReport'],
    value: 'string',
  },
  {
    key: 'duration',
    title: 'Analysed duration',
    description: 'Length of the analysed ECG (UCUM s).',
    context: ['DiagnosticReport'],
    value: 'Quantity',
  },
  {
    key: 'abstainedFraction',
    title: 'Abstained fraction',
    description: 'Fraction (0..1) of the recording where the analysis abstained (noise, no beats).',
    context: ['DiagnosticReport'],
    value: 'decimal',
  },
  {
    key: 'limitation',
    title: 'Limitation',
    description: 'One limitation of this analysis, as a sentence (R4 DiagnosticReport has no note).',
    context: ['DiagnosticReport'],
    value: 'string',
    repeats: true,
  },
  {
    key: 'confidence',
    title: 'Finding confidence',
    description: 'Calibrated confidence (0..1) of the AI finding this Observation reports.',
    context: ['Observation'],
    value: 'decimal',
  },
  {
    key: 'onset',
    title: 'Finding onset',
    description: 'First onset of the finding, from the start of the ECG (UCUM s).',
    context: ['Observation'],
    value: 'Quantity',
  },
  {
    key: 'batchState',
    title: 'Batch state',
    description: 'State of the nightly back-analysis, catch-up pass or a dead letter, as JSON.',
    context: ['Basic'],
    value: 'string',
  },
];

type Element = fhir4.ElementDefinition;

const typeOf = (code: string): fhir4.ElementDefinitionType[] => [{ code }];
const BASE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/Extension';

/** Snapshot elements of an extension (root, id, extension, url fixed, value[x]). */
function extensionElements(spec: ExtensionSpec, url: string): Element[] {
  const root: Element = {
    id: 'Extension',
    path: 'Extension',
    short: spec.title,
    definition: spec.description,
    min: 0,
    max: spec.repeats ? '*' : '1',
    base: { path: 'Extension', min: 0, max: '*' },
  };
  const id: Element = {
    id: 'Extension.id',
    path: 'Extension.id',
    short: 'Unique id for inter-element referencing',
    definition: 'Unique id for the element within a resource (for internal references).',
    min: 0,
    max: '1',
    base: { path: 'Element.id', min: 0, max: '1' },
    type: typeOf('http://hl7.org/fhirpath/System.String'),
  };
  const urlElement = (path: string, idPath: string, fixed: string): Element => ({
    id: `${idPath}.url`,
    path: `${path}.url`,
    short: 'identifies the meaning of the extension',
    definition: 'Source of the definition for the extension code - a logical name or a URL.',
    min: 1,
    max: '1',
    base: { path: 'Extension.url', min: 1, max: '1' },
    type: typeOf('uri'),
    fixedUri: fixed,
  });
  const value = (path: string, idPath: string, type: string | undefined): Element => ({
    id: `${idPath}.value[x]`,
    path: `${path}.value[x]`,
    short: 'Value of extension',
    definition: 'Value of extension.',
    min: type ? 1 : 0,
    max: type ? '1' : '0',
    base: { path: 'Extension.value[x]', min: 0, max: '1' },
    ...(type ? { type: typeOf(type) } : {}),
  });
  const extensionBase = { path: 'Element.extension', min: 0, max: '*' };
  const nested = { short: 'Additional content defined by implementations', definition: 'Nested extensions.' };
  if (typeof spec.value === 'string')
    return [
      root,
      id,
      {
        id: 'Extension.extension',
        path: 'Extension.extension',
        ...nested,
        min: 0,
        max: '0',
        base: extensionBase,
      },
      urlElement('Extension', 'Extension', url),
      value('Extension', 'Extension', spec.value),
    ];
  const slices = spec.value.flatMap((p): Element[] => [
    {
      id: `Extension.extension:${p.name}`,
      path: 'Extension.extension',
      sliceName: p.name,
      short: p.short,
      definition: p.short,
      min: 1,
      max: '1',
      base: extensionBase,
      type: typeOf('Extension'),
    },
    urlElement('Extension.extension', `Extension.extension:${p.name}`, p.name),
    value('Extension.extension', `Extension.extension:${p.name}`, p.type),
  ]);
  return [
    root,
    id,
    {
      id: 'Extension.extension',
      path: 'Extension.extension',
      slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'closed' },
      ...nested,
      min: spec.value.length,
      max: '*',
      base: extensionBase,
      type: typeOf('Extension'),
    },
    ...slices,
    urlElement('Extension', 'Extension', url),
    value('Extension', 'Extension', undefined),
  ];
}

function extensionDefinition(spec: ExtensionSpec): fhir4.StructureDefinition {
  const url = EXT[spec.key];
  const elements = extensionElements(spec, url);
  return {
    resourceType: 'StructureDefinition',
    id: EXT_ID[spec.key],
    url,
    version: VERSION,
    name: spec.title.replace(/[^A-Za-z0-9]/g, ''),
    title: spec.title,
    status: 'active',
    experimental: false,
    date: DATE,
    publisher: PUBLISHER,
    description: spec.description,
    fhirVersion: '4.0.1',
    kind: 'complex-type',
    abstract: false,
    context: spec.context.map((expression) => ({ type: 'element', expression })),
    type: 'Extension',
    baseDefinition: BASE_EXTENSION,
    derivation: 'constraint',
    snapshot: { element: elements },
    differential: { element: elements.filter((e) => e.id !== 'Extension.id') },
  };
}

const D = DEFINITION_ID;

/** Our StructureDefinitions (one per extension in {@link EXT}), for the base in use. */
export function ourStructureDefinitions(): fhir4.StructureDefinition[] {
  return EXTENSIONS.map(extensionDefinition);
}

/** Our CodeSystems, for the base in use. */
export function ourCodeSystems(): fhir4.CodeSystem[] {
  const unable: Record<string, string> = { ...ANALYSIS_UNABLE_DISPLAY };
  for (const [code, display] of Object.entries(DECODE_UNABLE_DISPLAY))
    unable[`decode-${code}`] = `Not decodable: ${display.toLowerCase()}`;
  return [
    codeSystem(
      D.finding,
      FINDING_SYSTEM,
      'ECG finding',
      'Findings of the ecg-cds ECG analysis.',
      FINDING_DISPLAY,
    ),
    codeSystem(
      D.rhythmClass,
      RHYTHM_CLASS_SYSTEM,
      'ECG rhythm class',
      'Classes of the rhythm model (the PhysioNet/CinC Challenge 2017 labels N, A, O, ~).',
      RHYTHM_DISPLAY,
    ),
    codeSystem(
      D.beatClass,
      AAMI_CLASS_SYSTEM,
      'AAMI beat class',
      'AAMI EC57 heartbeat classes, as counted by the beat-count Observations (PVCs are also coded with MDC 148065).',
      BEAT_CLASS_DISPLAY,
    ),
    codeSystem(
      D.unable,
      UNABLE_CODE_SYSTEM,
      'Unable to analyse',
      'Why an ECG could not be analysed.',
      unable,
    ),
    codeSystem(
      D.overrideReason,
      OVERRIDE_REASON_SYSTEM,
      'Card override reason',
      'Why a clinician overrode an ecg-cds card (CDS Hooks feedback).',
      OVERRIDE_REASON_DISPLAY,
    ),
    codeSystem(
      D.provenanceTag,
      PROVENANCE_TAG_SYSTEM,
      'Analysis provenance tag',
      'meta.tag of a Provenance: the code is the analysis key (source Observation version and model version).',
      'not-present',
    ),
    codeSystem(
      D.subscriptionTag,
      SUBSCRIPTION_TAG_SYSTEM,
      'Subscription tag',
      'meta.tag that marks the Subscriptions ecg-cds manages.',
      { 'rest-hook': 'R4 rest-hook Subscription', backport: 'Topic-based (R5 Backport IG) Subscription' },
    ),
    codeSystem(
      D.batchState,
      BATCH_STATE_SYSTEM,
      'Batch state',
      'Basic.code (and Basic.identifier system) of the state ecg-cds keeps on the FHIR server: `<job>-state` for checkpoints and run summaries, `dead-letter` for open dead letters.',
      'not-present',
    ),
  ];
}

/** Our identifier systems (R4 NamingSystem, kind identifier, found by uniqueId). */
export function ourNamingSystems(): fhir4.NamingSystem[] {
  return [
    namingSystem(
      D.analysis,
      ANALYSIS_IDENTIFIER_SYSTEM,
      'ECG analysis',
      'Identifies one analysis (source ECG Observation version × model version): the DiagnosticReport identifier.',
    ),
    namingSystem(
      D.analysisPart,
      ANALYSIS_PART_IDENTIFIER_SYSTEM,
      'ECG analysis part',
      'Identifies each result Observation of one analysis: `<analysis key>.<part>`.',
    ),
    namingSystem(
      D.model,
      MODEL_IDENTIFIER_SYSTEM,
      'Model set',
      'Identifies the Device of one model-set version.',
    ),
    namingSystem(
      D.record,
      RECORD_IDENTIFIER_SYSTEM,
      'Imported record',
      'Identifies an ECG Observation imported from a PhysioNet record file: the record name.',
    ),
    namingSystem(D.demo, DEMO_IDENTIFIER_SYSTEM, 'Demo data', 'Identifies the demo patients and their ECGs.'),
    namingSystem(
      `${D.batchState}-identifier`,
      BATCH_STATE_SYSTEM,
      'Batch state identifier',
      'Identifies the Basic resources holding batch state (the same URI as the batch-state CodeSystem).',
    ),
  ];
}

/** Every definition we publish. */
export function ourDefinitions(): (fhir4.StructureDefinition | fhir4.CodeSystem | fhir4.NamingSystem)[] {
  return [...ourStructureDefinitions(), ...ourCodeSystems(), ...ourNamingSystems()];
}
