/**
 * Serves our definitions read-only where their canonical URLs point (issue #13 item 4), in both modes:
 * mounted at `/fhir` before the embedded server (demo mode, where they are also stored) and on its own when
 * FHIR_BASE_URL names the hospital's server. Public: a definition is not patient data, and validators and
 * terminology servers fetch it without our tokens.
 *  - `GET /fhir/StructureDefinition/<id>`, `/fhir/CodeSystem/<id>`, `/fhir/NamingSystem/<id>`: the resource;
 *  - `GET /fhir/StructureDefinition?url=<canonical>` (and CodeSystem), `/fhir/NamingSystem?value=<uri>`:
 *    a searchset Bundle (https://hl7.org/fhir/R4/search.html) with it.
 * Anything else (other ids, other parameters, other methods) goes on to the next router: the embedded
 * server in demo mode, the app's 404 OperationOutcome otherwise.
 */
import express, { type Router } from 'express';
import { FHIR_JSON } from '../http-outcome.js';
import { ourDefinitions } from './resources.js';

type Definition = ReturnType<typeof ourDefinitions>[number];
const TYPES = new Set(['StructureDefinition', 'CodeSystem', 'NamingSystem']);

/** The canonical (or, for a NamingSystem, its uniqueId values) a search parameter matches. */
function keysOf(d: Definition): string[] {
  return d.resourceType === 'NamingSystem' ? d.uniqueId.map((u) => u.value) : [d.url ?? ''];
}

/** The definitions router; resources are built per request so they follow the configured base. */
export function definitionsRouter(): Router {
  const router = express.Router();
  const send = (res: express.Response, body: unknown) =>
    res.status(200).type(FHIR_JSON).send(JSON.stringify(body));

  router.get('/:type/:id', (req, res, next) => {
    const { type, id } = req.params;
    if (!TYPES.has(type)) return next();
    const found = ourDefinitions().find((d) => d.resourceType === type && d.id === id);
    if (!found) return next();
    send(res, found);
  });

  router.get('/:type', (req, res, next) => {
    const { type } = req.params;
    if (!TYPES.has(type)) return next();
    const param = type === 'NamingSystem' ? 'value' : 'url';
    const keys = Object.keys(req.query);
    const wanted = req.query[param];
    if (keys.length !== 1 || typeof wanted !== 'string') return next();
    const matches = ourDefinitions().filter((d) => d.resourceType === type && keysOf(d).includes(wanted));
    if (matches.length === 0) return next();
    send(res, {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      entry: matches.map((resource) => ({ resource, search: { mode: 'match' } })),
    } satisfies fhir4.Bundle);
  });
  return router;
}
