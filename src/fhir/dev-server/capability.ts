/**
 * The CapabilityStatement served at `GET /metadata`: what this dev server actually implements.
 * https://hl7.org/fhir/R4/capabilitystatement.html and https://hl7.org/fhir/R4/http.html#capabilities
 */
import { getDataType, getResourceTypes, getSearchParameters } from '@medplum/core';
import { ensureFhirDefinitions } from './definitions.js';
import { BULK_EXPORT_DEFINITION } from './export.js';

/** Search parameter types the in-memory matcher evaluates (see search.ts). */
const SEARCHABLE = new Set(['reference', 'string', 'uri', 'token', 'date']);

const TYPE_INTERACTIONS: fhir4.CapabilityStatementRestResourceInteraction['code'][] = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'create',
  'search-type',
];

export interface CapabilityOptions {
  readonly baseUrl: string;
  readonly tokenRequired: boolean;
  /** Server start time, the statement's `date`. */
  readonly date: string;
}

/** Build the CapabilityStatement (callers memoise it: it lists every R4 resource type). */
export function buildCapabilityStatement(options: CapabilityOptions): fhir4.CapabilityStatement {
  ensureFhirDefinitions();
  // Only the R4 core profiles are indexed (definitions.ts), so these are not medplum's own types; but
  // medplum's R4 bundle also carries SubscriptionStatus from R4B (4.3.0), which R4 does not have (the R5
  // backport IG on R4 sends notifications as Parameters), so only 4.0.1 definitions are listed.
  const resource = [...getResourceTypes()]
    .filter(isR4ResourceType)
    .sort()
    .map((type) => resourceCapability(type as fhir4.CapabilityStatementRestResource['type']));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: options.date,
    publisher: 'ecg-cds',
    kind: 'instance',
    software: { name: 'ecg-cds development FHIR server (@medplum/fhir-router, in memory)' },
    implementation: {
      description:
        'For development, demos and tests only; production points FHIR_BASE_URL at the hospital server.',
      url: options.baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        ...(options.tokenRequired
          ? { security: { description: 'Bearer token required (Authorization header).' } }
          : {}),
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        // Bulk Data system export (export.ts), advertised as the IG asks.
        operation: [{ name: 'export', definition: BULK_EXPORT_DEFINITION }],
      },
    ],
  };
}

/** FHIR version of the core resource definitions a CapabilityStatement may list. */
const R4_VERSION = '4.0.1';

function isR4ResourceType(type: string): boolean {
  return getDataType(type)?.version === R4_VERSION;
}

function resourceCapability(
  type: fhir4.CapabilityStatementRestResource['type'],
): fhir4.CapabilityStatementRestResource {
  const searchParam = Object.entries(getSearchParameters(type) ?? {})
    .filter(([, p]) => SEARCHABLE.has(p.type as string))
    .map(([name, p]) => ({
      name,
      type: p.type as fhir4.CapabilityStatementRestResourceSearchParam['type'],
      ...(p.url ? { definition: p.url } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    type,
    interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
    versioning: 'versioned',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    searchParam,
  };
}
