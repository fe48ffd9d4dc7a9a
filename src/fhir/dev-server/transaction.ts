/**
 * `POST [base]` with a batch or transaction Bundle. https://hl7.org/fhir/R4/http.html#transaction
 *
 * Transactions run through fhir-router's batch processor inside `DevRepository.withTransaction`, which
 * rolls back on failure, instead of through its own transaction mode: that mode refuses transactions
 * with conditional entries (`ifNoneExist`) of more than 8 entries (a Postgres serialisation limit that
 * means nothing in memory), and a write-back of report + observations + Device + Provenance can exceed it.
 */
import { isOk, OperationOutcomeError } from '@medplum/core';
import type { FhirRequest, FhirRouter } from '@medplum/fhir-router';
import { FhirHttpError, outcome } from './outcomes.js';
import type { DevRepository } from './repository.js';

/** Process a batch or transaction Bundle request; resolves to the response Bundle or throws FhirHttpError. */
export async function processBundle(
  router: FhirRouter,
  repo: DevRepository,
  req: FhirRequest,
): Promise<fhir4.Bundle> {
  const bundle = req.body as Partial<fhir4.Bundle> | undefined;
  if (bundle?.resourceType !== 'Bundle' || (bundle.type !== 'batch' && bundle.type !== 'transaction')) {
    throw new FhirHttpError(
      400,
      outcome('invalid', 'POST to the base URL takes a Bundle of type batch or transaction'),
    );
  }
  assertEntries(bundle.entry);
  const asBatch: FhirRequest = { ...req, config: { ...req.config, transactions: false } };
  if (bundle.type === 'batch') return run(router, repo, asBatch);

  return repo.withTransaction(async () => {
    const response = await run(router, repo, asBatch);
    const failed = (response.entry ?? []).findIndex((e) => !e.response || Number(e.response.status) >= 400);
    if (failed >= 0) {
      const entry = response.entry?.[failed];
      const status = Number(entry?.response?.status) || 400;
      const cause = entry?.response?.outcome as fhir4.OperationOutcome | undefined;
      throw new FhirHttpError(status, inEntry(failed, cause));
    }
    return response;
  });
}

async function run(router: FhirRouter, repo: DevRepository, req: FhirRequest): Promise<fhir4.Bundle> {
  const [result, bundle] = await router.handleRequest(req, repo);
  if (!isOk(result) || !bundle) throw new OperationOutcomeError(result);
  return bundle as fhir4.Bundle;
}

/** The failing entry's outcome, each issue prefixed with its `Bundle.entry[i]`. */
function inEntry(index: number, cause: fhir4.OperationOutcome | undefined): fhir4.OperationOutcome {
  const issues = cause?.issue?.length ? cause.issue : outcome('processing', 'Transaction entry failed').issue;
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((issue) => ({
      ...issue,
      details: { text: `Bundle.entry[${index}]: ${issue.details?.text ?? issue.diagnostics ?? issue.code}` },
    })),
  };
}

/** Shape checks fhir-router assumes without making (it would answer with a TypeError's message). */
function assertEntries(entries: unknown): void {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new FhirHttpError(
      400,
      outcome('required', 'Bundle.entry must be a non-empty array', 'Bundle.entry'),
    );
  }
  entries.forEach((entry: Partial<fhir4.BundleEntry> | null, i) => {
    const where = `Bundle.entry[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new FhirHttpError(400, outcome('structure', `${where} must be an object`, where));
    }
    const method = entry.request?.method;
    if (typeof method !== 'string' || typeof entry.request?.url !== 'string') {
      throw new FhirHttpError(
        400,
        outcome('required', `${where}.request needs method and url`, `${where}.request`),
      );
    }
    if ((method === 'POST' || method === 'PUT') && typeof entry.resource !== 'object') {
      throw new FhirHttpError(
        400,
        outcome('required', `${where}: ${method} needs a resource`, `${where}.resource`),
      );
    }
  });
}
