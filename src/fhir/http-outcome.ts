/**
 * OperationOutcome responses for the service's own FHIR-facing paths (/fhir/notify, and /fhir/* when
 * the embedded server is not running): https://hl7.org/fhir/R4/operationoutcome.html. Kept apart from
 * the dev server's outcomes module so production paths do not load @medplum/core.
 */
import type { Response } from 'express';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** https://hl7.org/fhir/R4/valueset-issue-type.html — the code that fits an HTTP status. */
export function issueCodeFor(status: number): fhir4.OperationOutcomeIssue['code'] {
  if (status === 401 || status === 403) return 'security';
  if (status === 404) return 'not-found';
  if (status === 405 || status === 415) return 'not-supported';
  if (status === 413) return 'too-costly';
  if (status === 409 || status === 412) return 'conflict';
  if (status >= 500) return 'exception';
  return 'invalid';
}

/** One error issue; `expression` names the offending field (FHIRPath-like, e.g. `Observation.id`). */
export function operationOutcome(status: number, text: string, expression?: string): fhir4.OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: issueCodeFor(status),
        details: { text },
        ...(expression ? { expression: [expression] } : {}),
      },
    ],
  };
}

/** Sends `status` with an OperationOutcome body as `application/fhir+json`. */
export function sendOutcome(res: Response, status: number, text: string, expression?: string): void {
  res
    .status(status)
    .type(FHIR_JSON)
    .send(JSON.stringify(operationOutcome(status, text, expression)));
}
