/**
 * Request bodies: FHIR JSON (`application/fhir+json`, `application/json`, and JSON Patch for PATCH) and
 * form-encoded `_search`, with an explicit size limit. Parser failures become OperationOutcomes.
 */

import type { ErrorRequestHandler, RequestHandler } from 'express';
import express from 'express';
import { outcome, sendFhir } from './outcomes.js';

/** Default request body limit; a 12-lead 10-s ECG Observation is well under 1 MB. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json-patch+json'];

/** Middleware factory: parse JSON and form bodies up to `maxBytes`. */
export function bodyParsers(maxBytes: number): RequestHandler[] {
  const form = express.urlencoded({ limit: maxBytes, extended: false });
  return [
    express.json({ limit: maxBytes, type: JSON_TYPES, strict: true }),
    // Form bodies only for `POST [type]/_search`; elsewhere they are an unsupported media type (415).
    (req, res, next) => (req.path.endsWith('/_search') ? form(req, res, next) : next()),
  ];
}

/** Map body-parser errors (they carry `type` and `status`) to an OperationOutcome response. */
export const bodyErrorHandler: ErrorRequestHandler = (err, _req, res, next) => {
  const e = err as { type?: string; status?: number; limit?: number };
  switch (e.type) {
    case 'entity.too.large':
      return sendFhir(
        res,
        413,
        outcome('too-long', `Request body exceeds the limit of ${e.limit ?? '?'} bytes`),
      );
    case 'entity.parse.failed':
      return sendFhir(res, 400, outcome('structure', 'Malformed JSON in request body'));
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return sendFhir(res, 415, outcome('not-supported', 'Unsupported body encoding or charset'));
    case 'request.aborted':
    case 'request.size.invalid':
      return sendFhir(res, 400, outcome('incomplete', 'Request body was incomplete'));
    default:
      return next(err);
  }
};
