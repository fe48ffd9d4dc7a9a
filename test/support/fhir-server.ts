/**
 * A standalone FHIR server for tests that need one outside the service under test (the hospital's
 * server, which stays up while ecg-cds stops and starts): the embedded development server on its own
 * port, with its rest-hook delivery, a log of the requests it got, an optional `_count` cap (a server
 * with a smaller page limit), a gate that holds Subscription updates (a server slow to activate), and an
 * outage switch (every request 503, no deliveries).
 */
import type { Server } from 'node:http';
import express from 'express';
import { createFhirClient, type FhirAccess } from '../../src/fhir/client.js';
import { createDevFhirServer, type DevFhirServer } from '../../src/fhir/dev-server/index.js';
import { type Delivery, startRestHookDelivery } from '../../src/fhir/subscriptions/delivery.js';

export interface TestFhirServer {
  readonly base: string;
  readonly dev: DevFhirServer;
  readonly fhir: FhirAccess;
  readonly delivery: Delivery | undefined;
  /** `METHOD path?query` of every request, in order. */
  readonly requests: string[];
  /** Hold `PUT Subscription/…` (status changes) until {@link openGate}. */
  closeGate(): void;
  openGate(): void;
  /** An outage: 503 to every request and no notifications sent, until called with false. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startFhirServer(
  opts: { deliver?: boolean; maxCount?: number } = {},
): Promise<TestFhirServer> {
  const app = express();
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/fhir`;
  const dev = await createDevFhirServer({ baseUrl: base });
  const requests: string[] = [];
  let gate: Promise<void> | undefined;
  let open = () => {};
  let down = false;
  app.use('/fhir', async (req, res, next) => {
    requests.push(`${req.method} ${req.url}`);
    if (down) return void res.status(503).json({ resourceType: 'OperationOutcome', issue: [] });
    if (gate && req.method === 'PUT' && req.path.startsWith('/Subscription/')) await gate;
    if (opts.maxCount !== undefined) {
      // The dev server reads search parameters from originalUrl.
      const u = new URL(req.originalUrl, 'http://x');
      const count = Number(u.searchParams.get('_count') ?? opts.maxCount);
      if (count > opts.maxCount) {
        u.searchParams.set('_count', String(opts.maxCount));
        req.originalUrl = `${u.pathname}?${u.searchParams}`;
      }
    }
    next();
  });
  app.use('/fhir', dev.router);
  const fhir = createFhirClient({ baseUrl: base, retries: 1 });
  const deliver = () => startRestHookDelivery({ dev, fhir, backoffBaseMs: 100, maxAttempts: 3 });
  let delivery = opts.deliver ? deliver() : undefined;
  return {
    base,
    dev,
    fhir,
    get delivery() {
      return delivery;
    },
    requests,
    setDown(value) {
      down = value;
      if (!opts.deliver) return;
      delivery?.close();
      // Back up: delivery resumes for the Subscriptions active in the store, as after a server restart.
      delivery = value ? undefined : deliver();
    },
    closeGate() {
      gate ??= new Promise<void>((ok) => {
        open = ok;
      });
    },
    openGate() {
      open();
      gate = undefined;
    },
    async close() {
      delivery?.close();
      open();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
      await dev.close();
    },
  };
}
