/**
 * Thin glue from express to fhir-router: build a FhirRequest, run it, and write the FhirResponse with
 * FHIR's HTTP headers (https://hl7.org/fhir/R4/http.html). Routes fhir-router would misread are settled
 * here first: unknown resource types (it would search them), ids on create, update-as-create status.
 */
import { getStatus, isResourceType } from '@medplum/core';
import type { FhirRequest, FhirRouter, HttpMethod } from '@medplum/fhir-router';
import type { Request, RequestHandler, Response } from 'express';
import { parseElements, subsetBundle } from './elements.js';
import { FhirHttpError, outcome, sendError, sendFhir } from './outcomes.js';
import { type Query, searchLinks, withFullUrls } from './paging.js';
import type { DevRepository } from './repository.js';
import { processBundle } from './transaction.js';

export interface RestDeps {
  readonly router: FhirRouter;
  readonly repo: DevRepository;
  /** Public base URL of the mount, no trailing slash. */
  readonly baseUrl: string;
}

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const METHODS = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** Terminal express handler for everything under the mount except `/metadata`. */
export function fhirRestHandler(deps: RestDeps): RequestHandler {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => sendError(res, err));
  };
}

async function handle(deps: RestDeps, req: Request, res: Response): Promise<void> {
  const method = (req.method === 'HEAD' ? 'GET' : req.method) as HttpMethod;
  if (!METHODS.has(method)) {
    throw new FhirHttpError(405, outcome('not-supported', `Method ${req.method} is not supported`));
  }
  const segments = req.path.split('/').filter(Boolean);
  const [type, id] = segments;
  // The base URL takes only batch/transaction POSTs; below it, only resource types (not $graphql etc.).
  if (type === undefined ? method !== 'POST' : !isResourceType(type)) throw routeNotFound(req);

  const isSearch =
    (method === 'GET' && segments.length === 1) ||
    (method === 'POST' && segments.length === 2 && id === '_search');
  const query = isSearch && method === 'POST' ? formQuery(req.body) : urlQuery(req.originalUrl);
  const fhirRequest: FhirRequest = {
    method,
    url: segments.join('/'),
    pathname: '',
    params: {},
    query,
    body: requestBody(req, method, isSearch, query),
    headers: req.headers,
    config: {},
  };

  if (type === undefined) {
    const bundle = await processBundle(deps.router, deps.repo, fhirRequest);
    return sendFhir(res, 200, bundle);
  }

  if (method === 'POST' && segments.length === 1) fhirRequest.body = withoutServerFields(fhirRequest.body);
  const updateCreates =
    method === 'PUT' && segments.length === 2 && id !== undefined && !(await exists(deps.repo, type, id));

  const [result, resource] = await deps.router.handleRequest(fhirRequest, deps.repo);
  let status = getStatus(result);
  if (!resource) return sendFhir(res, status, result);
  if (updateCreates && status === 200) status = 201;

  if (resource.resourceType !== 'Bundle') {
    setVersionHeaders(res, deps.baseUrl, resource as fhir4.Resource, status === 201);
    return sendFhir(res, status, resource);
  }
  let bundle = withFullUrls(deps.baseUrl, resource as fhir4.Bundle);
  if (isSearch && bundle.type === 'searchset') {
    bundle = { ...bundle, link: searchLinks(deps.baseUrl, type, query, bundle.total ?? 0) };
    const elements = parseElements(query['_elements']);
    if (elements) bundle = subsetBundle(bundle, elements);
  }
  sendFhir(res, status, bundle);
}

function routeNotFound(req: Request): FhirHttpError {
  return new FhirHttpError(
    404,
    outcome('not-found', `Unknown resource type or route: ${req.method} ${req.path}`),
  );
}

/** fhir-router's search-by-POST reads its parameters from the body; writes need a parsed JSON body. */
function requestBody(req: Request, method: HttpMethod, isSearch: boolean, query: Query): unknown {
  if (isSearch) return method === 'POST' ? query : undefined;
  return WITH_BODY.has(method) ? requireBody(req) : undefined;
}

/** express.json leaves `req.body` undefined for other media types. */
function requireBody(req: Request): unknown {
  if (req.body !== undefined) return req.body;
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody) {
    throw new FhirHttpError(415, outcome('not-supported', 'Send application/fhir+json or application/json'));
  }
  throw new FhirHttpError(400, outcome('required', 'Request body is required'));
}

/** On create the server assigns id, versionId and lastUpdated (https://hl7.org/fhir/R4/http.html#create). */
function withoutServerFields(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { id: _id, ...rest } = body as { id?: unknown; meta?: Record<string, unknown> };
  if (rest.meta && typeof rest.meta === 'object') {
    const { versionId: _v, lastUpdated: _l, ...meta } = rest.meta;
    rest.meta = meta;
  }
  return rest;
}

async function exists(repo: DevRepository, type: string, id: string): Promise<boolean> {
  return repo.readResource(type, id).then(
    () => true,
    () => false,
  );
}

function setVersionHeaders(res: Response, baseUrl: string, resource: fhir4.Resource, created: boolean): void {
  const versionId = resource.meta?.versionId;
  if (versionId) res.setHeader('ETag', `W/"${versionId}"`);
  if (resource.meta?.lastUpdated)
    res.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  if (created && resource.id) {
    const location = `${baseUrl}/${resource.resourceType}/${resource.id}`;
    res.setHeader('Location', versionId ? `${location}/_history/${versionId}` : location);
  }
}

function urlQuery(originalUrl: string): Query {
  return toQuery(new URL(originalUrl, 'http://dev-server.invalid').searchParams);
}

function formQuery(body: unknown): Query {
  if (typeof body !== 'object' || body === null) return {};
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  return toQuery(params);
}

function toQuery(params: URLSearchParams): Query {
  const query: Query = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  return query;
}
