/**
 * The embedded development FHIR R4 server: fhir-router over an in-memory, optionally snapshotted store,
 * as an express Router to mount at `/fhir`. For development, demos and tests; production points
 * FHIR_BASE_URL at the hospital's server.
 */
import type { EventEmitter } from 'node:events';
import { FhirRouter } from '@medplum/fhir-router';
import express from 'express';
import { requireTokenMiddleware } from './auth.js';
import { bodyErrorHandler, bodyParsers, DEFAULT_MAX_BODY_BYTES } from './body.js';
import { buildCapabilityStatement } from './capability.js';
import { bulkExportRouter } from './export.js';
import { hideSubscriptionHeaders } from './hide-secrets.js';
import { sendError, sendFhir } from './outcomes.js';
import { type DevFhirEventMap, DevRepository } from './repository.js';
import { fhirRestHandler } from './rest.js';
import { createSnapshotScheduler, readSnapshot, writeSnapshot } from './snapshot.js';

export interface DevFhirServerOptions {
  /** Public URL of the mount, e.g. `http://localhost:8080/fhir`; used in links, Location and fullUrl. */
  readonly baseUrl: string;
  /** Load from this file at start; save to it after writes (debounced), on `snapshot()` and on `close()`. */
  readonly snapshotPath?: string;
  /** When set, requests for which it returns false get 401 (`/metadata` stays open, as SMART expects). */
  readonly requireToken?: (authHeader: string | undefined) => boolean;
  /**
   * Bearer token that may read `Subscription.channel.header`; everyone else gets Subscriptions without it
   * (./hide-secrets.ts). Absent: headers are shown to all (tests of the server alone).
   */
  readonly adminToken?: string;
  /** Request body limit in bytes (default 20 MiB); larger bodies get 413. */
  readonly maxBodyBytes?: number;
  /** Quiet period before a debounced snapshot save (default 500 ms). */
  readonly snapshotDebounceMs?: number;
  /** Called when a background snapshot save fails (default: a process warning). */
  readonly onSnapshotError?: (err: unknown) => void;
}

export interface DevFhirServer {
  /** Mount at `/fhir` (the path of `baseUrl`). */
  readonly router: express.Router;
  /** The store; writes through it are validated and emit 'change' like HTTP writes. */
  readonly repo: DevRepository;
  /** 'change' with `{ resource, interaction }` after every committed write (transactions: after commit). */
  readonly events: EventEmitter<DevFhirEventMap>;
  /** Save the snapshot now (no-op without `snapshotPath`). */
  snapshot(): Promise<void>;
  /** Stop background saves and write a final snapshot. */
  close(): Promise<void>;
}

/** Create the embedded FHIR server (https://hl7.org/fhir/R4/http.html). */
export async function createDevFhirServer(options: DevFhirServerOptions): Promise<DevFhirServer> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const repo = new DevRepository();
  const { snapshotPath } = options;
  if (snapshotPath) {
    const saved = await readSnapshot(snapshotPath);
    if (saved) repo.importVersions(saved);
  }

  const saver = snapshotPath
    ? createSnapshotScheduler(
        () => writeSnapshot(snapshotPath, repo.exportVersions()),
        options.snapshotDebounceMs ?? 500,
        options.onSnapshotError ?? ((err) => process.emitWarning(`dev FHIR snapshot failed: ${String(err)}`)),
      )
    : undefined;
  const onChange = (): void => saver?.schedule();
  repo.events.on('change', onChange);

  const capability = buildCapabilityStatement({
    baseUrl,
    tokenRequired: Boolean(options.requireToken),
    date: new Date().toISOString(),
  });
  const router = express.Router();
  router.get('/metadata', (_req, res) => sendFhir(res, 200, capability));
  if (options.requireToken) router.use(requireTokenMiddleware(options.requireToken));
  if (options.adminToken) router.use(hideSubscriptionHeaders(options.adminToken));
  router.use(...bodyParsers(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
  // Bulk Data export first: `$export…` paths are not resource types, which the REST handler 404s.
  router.use(bulkExportRouter({ baseUrl, repo }));
  router.use(fhirRestHandler({ router: new FhirRouter(), repo, baseUrl }));
  router.use(bodyErrorHandler);
  // Last resort: whatever escaped leaves as an OperationOutcome, never as express's HTML page.
  router.use(((err, _req, res, _next) => {
    if (res.headersSent) return;
    sendError(res, err);
  }) as express.ErrorRequestHandler);

  let closed = false;
  return {
    router,
    repo,
    events: repo.events,
    snapshot: async () => {
      await saver?.flush();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      repo.events.off('change', onChange);
      await saver?.flush();
    },
  };
}
