/**
 * The analysis of an ECG succeeded but storing its result on the FHIR server failed. It carries the
 * result, so a caller that only needs to show it (the CDS hook) still can; callers that exist to store
 * it (Subscription, nightly) let it fail the job, which is retried.
 */
import type { StoredResult } from '../stored-result.js';

export class WriteBackError extends Error {
  override readonly name = 'WriteBackError';
  constructor(
    readonly result: StoredResult,
    cause: unknown,
  ) {
    super(`write-back failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
