/**
 * OperationOutcome helpers for the dev server's HTTP edge: every error leaves as an OperationOutcome
 * (https://hl7.org/fhir/R4/operationoutcome.html) with `application/fhir+json`, never a stack trace.
 */
import { getStatus, isOperationOutcome, OperationOutcomeError } from '@medplum/core';
import type { Response } from 'express';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** An OperationOutcome with one error issue. */
export function outcome(
  code: fhir4.OperationOutcomeIssue['code'],
  text: string,
  expression?: string,
): fhir4.OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) },
    ],
  };
}

/** An error that carries the HTTP status and OperationOutcome it should leave as (Hono's HTTPException idea). */
export class FhirHttpError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: fhir4.OperationOutcome,
  ) {
    super(outcome.issue[0]?.details?.text ?? `HTTP ${status}`);
    this.name = 'FhirHttpError';
  }
}

/** Map anything thrown below the edge to a status and an OperationOutcome safe to send. */
export function toHttpError(err: unknown): FhirHttpError {
  if (err instanceof FhirHttpError) return err;
  if (err instanceof OperationOutcomeError) {
    return new FhirHttpError(getStatus(err.outcome), err.outcome as fhir4.OperationOutcome);
  }
  if (isOperationOutcome(err)) return new FhirHttpError(getStatus(err), err as fhir4.OperationOutcome);
  // Unknown failure: say so without internals.
  return new FhirHttpError(500, outcome('exception', 'Internal server error'));
}

/** Send a FHIR JSON body with a status. */
export function sendFhir(res: Response, status: number, body: unknown): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(body));
}

export function sendError(res: Response, err: unknown): void {
  const e = toHttpError(err);
  sendFhir(res, e.status, e.outcome);
}
