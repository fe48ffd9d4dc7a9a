/**
 * A minimal FHIR Bulk Data system export (https://hl7.org/fhir/uv/bulkdata/export.html) for the embedded
 * server, so the nightly job's bulk reader runs locally and in tests: kick-off `GET|POST /$export` with
 * `Prefer: respond-async` → 202 + Content-Location; the status URL answers 202 + Retry-After until the
 * export is "ready" (a short fixed delay, so clients exercise polling), then the manifest; files are NDJSON.
 * Supported: `_type`, `_since`, `_typeFilter` (search queries evaluated with the same matcher as search),
 * `_elements` (experimental in the IG). Deliberately small: exports are built at once in memory.
 */
import { randomUUID } from 'node:crypto';
import { isResourceType, matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import express from 'express';
import { parseElements, subsetResource } from './elements.js';
import { FhirHttpError, outcome, sendError, sendFhir } from './outcomes.js';
import type { DevRepository } from './repository.js';

export const BULK_EXPORT_DEFINITION = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export';

interface ExportJob {
  readonly transactionTime: string;
  readonly request: string;
  readonly readyAt: number;
  readonly files: ReadonlyMap<string, string>;
}

export interface ExportOptions {
  readonly baseUrl: string;
  readonly repo: DevRepository;
  /** Time before the status URL reports completion (default 300 ms); polls before get 202. */
  readonly readyAfterMs?: number;
}

/** Router for `/$export`, `/$export-status/:id` and `/$export-file/:id/:type.ndjson`. */
export function bulkExportRouter(opts: ExportOptions): express.Router {
  const jobs = new Map<string, ExportJob>();
  const router = express.Router();
  const kickOff: express.RequestHandler = (req, res) => {
    try {
      if (!/respond-async/i.test(String(req.headers['prefer'] ?? ''))) {
        throw new FhirHttpError(400, outcome('invalid', 'Bulk export requires Prefer: respond-async'));
      }
      const q = new URL(req.originalUrl, 'http://dev.invalid').searchParams;
      const id = randomUUID();
      jobs.set(id, {
        transactionTime: new Date().toISOString(),
        request: `${opts.baseUrl}/$export${q.size ? `?${q}` : ''}`,
        readyAt: Date.now() + (opts.readyAfterMs ?? 300),
        files: buildFiles(opts.repo, q),
      });
      res.status(202).setHeader('Content-Location', `${opts.baseUrl}/$export-status/${id}`).end();
    } catch (err) {
      sendError(res, err);
    }
  };
  router.get('/$export', kickOff);
  router.post('/$export', kickOff);
  router.get('/$export-status/:id', (req, res) => {
    const job = jobs.get(req.params.id);
    if (!job) return sendError(res, new FhirHttpError(404, outcome('not-found', 'No such export')));
    if (Date.now() < job.readyAt) {
      res.status(202).setHeader('Retry-After', '1').setHeader('X-Progress', 'in progress').end();
      return;
    }
    sendFhir(res, 200, {
      transactionTime: job.transactionTime,
      request: job.request,
      requiresAccessToken: true,
      output: [...job.files.keys()].map((type) => ({
        type,
        url: `${opts.baseUrl}/$export-file/${req.params.id}/${type}.ndjson`,
      })),
      error: [],
    });
  });
  router.delete('/$export-status/:id', (req, res) => {
    res.status(jobs.delete(req.params.id) ? 202 : 404).end();
  });
  router.get('/$export-file/:id/:file', (req, res) => {
    const type = req.params.file.replace(/\.ndjson$/, '');
    const body = jobs.get(req.params.id)?.files.get(type);
    if (body === undefined)
      return sendError(res, new FhirHttpError(404, outcome('not-found', 'No such file')));
    res.status(200).setHeader('Content-Type', 'application/fhir+ndjson').send(body);
  });
  return router;
}

function buildFiles(repo: DevRepository, q: URLSearchParams): Map<string, string> {
  const types = (q.get('_type') ?? '').split(',').filter(Boolean);
  for (const t of types) {
    if (!isResourceType(t)) throw new FhirHttpError(400, outcome('invalid', `Unknown _type: ${t}`));
  }
  const since = q.get('_since');
  const sinceMs = since ? Date.parse(since) : Number.NEGATIVE_INFINITY;
  if (Number.isNaN(sinceMs)) throw new FhirHttpError(400, outcome('invalid', '_since must be an instant'));
  // _typeFilter: `Type?query`; repeat it for OR (its own commas belong to the query) (Bulk Data IG § _typeFilter).
  const filters = q.getAll('_typeFilter').map((f) => parseSearchRequest(f));
  const elements = parseElements(q.get('_elements') ?? undefined);
  const lines = new Map<string, string[]>();
  for (const versions of repo.exportVersions()) {
    const last = versions.at(-1);
    if (!last || last.deleted) continue;
    const r = last.resource as Resource;
    if (types.length && !types.includes(r.resourceType)) continue;
    if (Date.parse(r.meta?.lastUpdated ?? '') < sinceMs) continue;
    const own = filters.filter((f) => f.resourceType === r.resourceType);
    if (own.length && !own.some((f) => matchesSearchRequest(r, f))) continue;
    const out = elements ? subsetResource(r as fhir4.Resource, elements) : r;
    const list = lines.get(r.resourceType) ?? [];
    list.push(JSON.stringify(out));
    lines.set(r.resourceType, list);
  }
  return new Map([...lines].map(([t, l]) => [t, `${l.join('\n')}\n`]));
}
