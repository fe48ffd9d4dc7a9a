/**
 * The FHIR resources behind card suggestions (https://cds-hooks.hl7.org/2.0/#suggestion): a provisional
 * problem-list entry for atrial fibrillation, and a draft proposal for 24-hour Holter monitoring. Which
 * finding earns which suggestion is decided in cards.ts; nothing here ever proposes a medication.
 * Both resources point back at our DiagnosticReport, so whoever accepts them can see what they rest on.
 */
import { SNOMED_SYSTEM } from '../fhir/write-back/codes.js';
import type { Suggestion } from './types.js';

const LOINC_SYSTEM = 'http://loinc.org';

/** What a suggestion needs to know about the ECG it comes from. */
export interface SuggestionBasis {
  /** Logical id of the patient (`subject`). */
  readonly patientId: string;
  /** Reference to our DiagnosticReport, relative (`DiagnosticReport/<id>`) or absolute. */
  readonly reportReference: string;
  /** "the 12-lead ECG of 3 Mar 2025 14:05": for the note. */
  readonly ecgText: string;
  readonly modelVersion: string;
}

/**
 * "Add atrial fibrillation (provisional) to the problem list": a Condition on the problem list,
 * verificationStatus provisional (R4: "a tentative diagnosis — still a candidate under consideration"),
 * clinicalStatus active (required by con-3 for a problem-list item), code 49436004 |Atrial fibrillation
 * (disorder)| — the diagnosis, not the ECG finding 164889003 the card's topic names (docs/snomed-codes.md).
 */
export function afProblemSuggestion(b: SuggestionBasis, uuid: string): Suggestion {
  const condition: fhir4.Condition = {
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
          code: 'active',
          display: 'Active',
        },
      ],
    },
    verificationStatus: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
          code: 'provisional',
          display: 'Provisional',
        },
      ],
    },
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/condition-category',
            code: 'problem-list-item',
            display: 'Problem List Item',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: SNOMED_SYSTEM, code: '49436004', display: 'Atrial fibrillation' }],
      text: 'Atrial fibrillation',
    },
    subject: { reference: `Patient/${b.patientId}` },
    // No onset: when AF began is unknown; the ECG only shows it was present then (said in the note).
    evidence: [{ detail: [{ reference: b.reportReference, display: 'AI ECG analysis report' }] }],
    note: [{ text: note(b, 'Atrial fibrillation or flutter') }],
  };
  return {
    label: 'Add atrial fibrillation (provisional) to the problem list',
    uuid,
    isRecommended: false,
    actions: [
      {
        type: 'create',
        description:
          'Add atrial fibrillation to the problem list as provisional, with the AI ECG report as evidence',
        resource: condition,
      },
    ],
  };
}

/**
 * "Request 24-hour Holter monitoring": a ServiceRequest in `draft` with intent `proposal` (R4: "a
 * suggestion made by someone/something that does not have an intention to ensure it occurs") — the
 * clinician decides whether it becomes an order. Codes: SNOMED CT 164850009 |Holter extended
 * electrocardiographic recording (procedure)| (the concept OHDSI/OMOP maps "24h holter monitor" to)
 * and LOINC 18754-2 "Ambulatory cardiac rhythm monitor (Holter) study" (the Holter report code of HL7
 * Belgium's Patient Monitoring IG, ValueSet holter-report-code), so either terminology can route it.
 */
export function holterSuggestion(b: SuggestionBasis, uuid: string, reasonText: string): Suggestion {
  const request: fhir4.ServiceRequest = {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'proposal',
    code: {
      coding: [
        {
          system: SNOMED_SYSTEM,
          code: '164850009',
          display: 'Holter extended electrocardiographic recording',
        },
        {
          system: LOINC_SYSTEM,
          code: '18754-2',
          display: 'Ambulatory cardiac rhythm monitor (Holter) study',
        },
      ],
      text: '24-hour Holter ECG monitoring',
    },
    subject: { reference: `Patient/${b.patientId}` },
    reasonReference: [{ reference: b.reportReference, display: 'AI ECG analysis report' }],
    note: [{ text: note(b, reasonText) }],
  };
  return {
    label: 'Request 24-hour Holter monitoring',
    uuid,
    isRecommended: false,
    actions: [
      {
        type: 'create',
        description:
          'Draft a proposal for 24-hour Holter ECG monitoring, for a clinician to review and order',
        resource: request,
      },
    ],
  };
}

function note(b: SuggestionBasis, what: string): string {
  return `${what} suspected by AI analysis (model ${b.modelVersion}) of ${b.ecgText}. AI-generated, preliminary: requires clinician review.`;
}
