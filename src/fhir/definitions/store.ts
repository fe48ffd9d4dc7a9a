/** Our definitions stored in the embedded FHIR server (demo mode), so its own searches find them too. */
import type { Resource } from '@medplum/fhirtypes';
import type { DevRepository } from '../dev-server/index.js';
import { ourDefinitions } from './resources.js';

/** Create or update each definition under its fixed id (idempotent across restarts and snapshots). */
export async function storeDefinitions(repo: DevRepository): Promise<void> {
  // @types/fhir and @medplum/fhirtypes describe the same R4 JSON; the repository validates what it stores.
  for (const d of ourDefinitions()) await repo.updateResource(d as unknown as Resource);
}
