/**
 * The dev server's store: versioned resources in memory, with atomic transactions and a change event.
 *
 * It extends medplum's MemoryRepository so code typed against that class keeps working, but replaces
 * its storage, because in @medplum/fhir-router 4.5.2 MemoryRepository
 * - reverses the stored history array in place on every `readHistory` (order flips between calls),
 * - does not roll back `withTransaction` (a failed transaction leaves its earlier writes),
 * - keeps a client-supplied `meta.versionId`/`lastUpdated` on create, and records no history for deletes.
 * Inherited as is: `patchResource`, `readReference(s)`, `searchByReference`, the conditional operations.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import type { SearchRequest, WithId } from '@medplum/core';
import {
  badRequest,
  gone,
  isResourceType,
  notFound,
  OperationOutcomeError,
  preconditionFailed,
  stringify,
  validateResource,
} from '@medplum/core';
import type { CreateResourceOptions, ReadHistoryOptions, UpdateResourceOptions } from '@medplum/fhir-router';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { ensureFhirDefinitions } from './definitions.js';
import { includeReferences, searchIn } from './search.js';

export type ChangeInteraction = 'create' | 'update' | 'delete';

/** Emitted as 'change' after each committed write; for a delete, `resource` is the last version. */
export interface DevFhirChange {
  readonly resource: fhir4.Resource;
  readonly interaction: ChangeInteraction;
}

export interface DevFhirEventMap {
  change: [DevFhirChange];
}

/** One entry of a resource's history; a delete is a version without content. */
export interface StoredVersion {
  readonly resource: WithId<Resource>;
  readonly deleted: boolean;
}

export interface DevRepositoryOptions {
  /** Validate every written resource with `validateResource` (default true). */
  readonly validate?: boolean;
}

interface Transaction {
  /** `Type/id` → number of versions before the transaction first touched it. */
  readonly journal: Map<string, number>;
  readonly changes: DevFhirChange[];
}

export class DevRepository extends MemoryRepository {
  readonly events = new EventEmitter<DevFhirEventMap>();
  private readonly store = new Map<string, Map<string, StoredVersion[]>>();
  private readonly txContext = new AsyncLocalStorage<Transaction>();
  /** Top-level transactions run one at a time. */
  private txQueue: Promise<unknown> = Promise.resolve();
  private readonly validate: boolean;

  constructor(options: DevRepositoryOptions = {}) {
    super();
    ensureFhirDefinitions();
    this.validate = options.validate ?? true;
  }

  override clear(): void {
    this.store.clear();
  }

  /** Keeps a supplied `id` (as MemoryRepository does); the HTTP create route strips it first. */
  override async createResource<T extends Resource>(
    resource: T,
    _options?: CreateResourceOptions,
  ): Promise<WithId<T>> {
    return this.write(resource, resource.id ?? this.generateId());
  }

  override async updateResource<T extends Resource>(
    resource: T,
    options?: UpdateResourceOptions,
  ): Promise<WithId<T>> {
    if (!resource.id) throw new OperationOutcomeError(badRequest('Missing id'));
    if (options?.ifMatch) {
      const current = this.current(resource.resourceType, resource.id);
      if (!current) throw new OperationOutcomeError(notFound);
      if (current.meta?.versionId !== options.ifMatch) throw new OperationOutcomeError(preconditionFailed);
    }
    return this.write(resource, resource.id);
  }

  override async readResource<T extends Resource>(resourceType: string, id: string): Promise<WithId<T>> {
    const versions = this.versions(resourceType, id);
    const last = versions?.at(-1);
    if (!last) throw new OperationOutcomeError(notFound);
    if (last.deleted) throw new OperationOutcomeError(gone);
    return clone(last.resource) as WithId<T>;
  }

  override async readVersion<T extends Resource>(
    resourceType: string,
    id: string,
    versionId: string,
  ): Promise<T> {
    const version = this.versions(resourceType, id)?.find((v) => v.resource.meta?.versionId === versionId);
    if (!version) throw new OperationOutcomeError(notFound);
    if (version.deleted) throw new OperationOutcomeError(gone);
    return clone(version.resource) as T;
  }

  /** Newest first, with `request`/`response` per entry (https://hl7.org/fhir/R4/http.html#history). */
  override async readHistory<T extends Resource>(
    resourceType: string,
    id: string,
    options?: ReadHistoryOptions,
  ): Promise<Bundle<T>> {
    const versions = this.versions(resourceType, id);
    if (!versions?.length) throw new OperationOutcomeError(notFound);
    const offset = Math.max(0, options?.offset ?? 0);
    const limit = Math.max(0, options?.limit ?? versions.length);
    const entry = versions
      .map((v, i) => historyEntry(v, i === 0) as BundleEntry<T>)
      .reverse()
      .slice(offset, offset + limit);
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      ...(entry.length ? { entry } : {}),
    };
  }

  override async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    if (!isResourceType(searchRequest.resourceType)) {
      throw new OperationOutcomeError(badRequest(`Unknown resource type: ${searchRequest.resourceType}`));
    }
    const live: WithId<T>[] = [];
    for (const versions of this.store.get(searchRequest.resourceType)?.values() ?? []) {
      const last = versions.at(-1);
      if (last && !last.deleted) live.push(last.resource as WithId<T>);
    }
    const { matches, total } = searchIn(live, searchRequest);
    const entry: Array<{ resource: WithId<T>; search: { mode: 'match' | 'include' } }> = matches.map((r) => ({
      resource: clone(r),
      search: { mode: 'match' as const },
    }));
    for (const ref of includeReferences(matches, searchRequest)) {
      const [type, id] = ref.split('/') as [string, string];
      const last = this.store.get(type)?.get(id)?.at(-1);
      if (last && !last.deleted)
        entry.push({ resource: clone(last.resource) as WithId<T>, search: { mode: 'include' } });
    }
    return { resourceType: 'Bundle', type: 'searchset', total, ...(entry.length ? { entry } : {}) };
  }

  /** Deleting an already-deleted resource succeeds (FHIR delete is idempotent); an unknown one is 404. */
  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const versions = this.versions(resourceType, id);
    const last = versions?.at(-1);
    if (!last) throw new OperationOutcomeError(notFound);
    if (last.deleted) return;
    const marker = stamp(last.resource, versions!.length + 1);
    this.append(resourceType, id, { resource: marker, deleted: true });
    this.changed({ resource: clone(last.resource) as fhir4.Resource, interaction: 'delete' });
  }

  /**
   * Runs `callback` atomically: its writes are undone if it throws, and its change events are emitted
   * only after it succeeds. Nested calls join the enclosing transaction.
   */
  override async withTransaction<TResult>(
    callback: (client: undefined) => Promise<TResult>,
  ): Promise<TResult> {
    if (this.txContext.getStore()) return callback(undefined);
    const run = async (): Promise<TResult> => {
      const tx: Transaction = { journal: new Map(), changes: [] };
      try {
        const result = await this.txContext.run(tx, () => callback(undefined));
        for (const change of tx.changes) this.emitChange(change);
        return result;
      } catch (err) {
        this.rollback(tx);
        throw err;
      }
    };
    const result = this.txQueue.then(run, run);
    this.txQueue = result.catch(() => undefined);
    return result;
  }

  /** Every stored version, for snapshots (resources are shared: do not mutate). */
  exportVersions(): StoredVersion[][] {
    const out: StoredVersion[][] = [];
    for (const byId of this.store.values()) out.push(...byId.values());
    return out;
  }

  /** Replace the store with versions from a snapshot: no validation, no change events. */
  importVersions(all: readonly (readonly StoredVersion[])[]): void {
    this.store.clear();
    for (const versions of all) {
      const first = versions[0];
      if (!first) continue;
      this.byType(first.resource.resourceType).set(first.resource.id, [...versions]);
    }
  }

  private async write<T extends Resource>(resource: T, id: string): Promise<WithId<T>> {
    if (!isResourceType(resource.resourceType)) {
      throw new OperationOutcomeError(badRequest(`Unknown resource type: ${String(resource.resourceType)}`));
    }
    const versions = this.versions(resource.resourceType, id);
    const stored = stamp({ ...resource, id } as WithId<T>, (versions?.length ?? 0) + 1);
    // Validate what will be stored; validateResource throws an OperationOutcomeError (400) on errors.
    if (this.validate) validateResource(stored);
    const existed = Boolean(versions?.length && !versions.at(-1)?.deleted);
    this.append(resource.resourceType, id, { resource: stored, deleted: false });
    this.changed({ resource: clone(stored) as fhir4.Resource, interaction: existed ? 'update' : 'create' });
    return clone(stored);
  }

  private current(resourceType: string, id: string): WithId<Resource> | undefined {
    const last = this.versions(resourceType, id)?.at(-1);
    return last && !last.deleted ? last.resource : undefined;
  }

  private versions(resourceType: string, id: string): StoredVersion[] | undefined {
    return this.store.get(resourceType)?.get(id);
  }

  private byType(resourceType: string): Map<string, StoredVersion[]> {
    let byId = this.store.get(resourceType);
    if (!byId) {
      byId = new Map();
      this.store.set(resourceType, byId);
    }
    return byId;
  }

  private append(resourceType: string, id: string, version: StoredVersion): void {
    const byId = this.byType(resourceType);
    const versions = byId.get(id) ?? [];
    const tx = this.txContext.getStore();
    const key = `${resourceType}/${id}`;
    if (tx && !tx.journal.has(key)) tx.journal.set(key, versions.length);
    versions.push(version);
    byId.set(id, versions);
  }

  private rollback(tx: Transaction): void {
    for (const [key, length] of tx.journal) {
      const [resourceType = '', id = ''] = key.split('/');
      const byId = this.store.get(resourceType);
      const versions = byId?.get(id);
      if (!byId || !versions) continue;
      versions.length = length;
      if (length === 0) byId.delete(id);
    }
  }

  private changed(change: DevFhirChange): void {
    const tx = this.txContext.getStore();
    if (tx) tx.changes.push(change);
    else this.emitChange(change);
  }

  /** A listener's failure must not fail a write that has already committed. */
  private emitChange(change: DevFhirChange): void {
    try {
      this.events.emit('change', change);
    } catch (err) {
      process.emitWarning(`dev FHIR server: a 'change' listener threw: ${String(err)}`);
    }
  }
}

/** A copy with server-assigned `meta.versionId` and `meta.lastUpdated`; JSON round trip drops undefined. */
function stamp<T extends Resource>(resource: WithId<T>, version: number): WithId<T> {
  const copy = JSON.parse(stringify(resource)) as WithId<T>;
  copy.meta = { ...copy.meta, versionId: String(version), lastUpdated: new Date().toISOString() };
  return copy;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function historyEntry(version: StoredVersion, first: boolean): BundleEntry {
  const { resource, deleted } = version;
  const url = `${resource.resourceType}/${resource.id}`;
  const meta = resource.meta ?? {};
  return {
    ...(deleted ? {} : { resource: clone(resource) }),
    request: { method: deleted ? 'DELETE' : first ? 'POST' : 'PUT', url },
    response: {
      status: deleted ? '204' : first ? '201' : '200',
      ...(meta.versionId ? { etag: `W/"${meta.versionId}"` } : {}),
      ...(meta.lastUpdated ? { lastModified: meta.lastUpdated } : {}),
    },
  };
}
