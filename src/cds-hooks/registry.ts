/**
 * The service registry (STYLE habit 6): each CDS service module exports its definition and handler
 * together; discovery and routing are built from this list, so an id is written once.
 */
import type { CdsRequest, CdsResponse, CdsServiceDefinition } from './types.js';

export interface CdsService {
  readonly definition: CdsServiceDefinition;
  /** Handler without HTTP (STYLE habit 5): request in, response out; throws CdsError for 4xx. */
  handle(request: CdsRequest, signal?: AbortSignal): Promise<CdsResponse>;
}

/** `GET /cds-services` body. */
export function discovery(services: readonly CdsService[]): { services: CdsServiceDefinition[] } {
  return { services: services.map((s) => s.definition) };
}
