/** The embedded development FHIR server (issue #4 item 3). */
export { DEFAULT_MAX_BODY_BYTES } from './body.js';
export { buildCapabilityStatement } from './capability.js';
export { ensureFhirDefinitions } from './definitions.js';
export type {
  ChangeInteraction,
  DevFhirChange,
  DevFhirEventMap,
  DevRepositoryOptions,
  StoredVersion,
} from './repository.js';
export { DevRepository } from './repository.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './search.js';
export type { DevFhirServer, DevFhirServerOptions } from './server.js';
export { createDevFhirServer } from './server.js';
