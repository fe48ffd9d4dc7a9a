/**
 * Loopback HTTP servers for SSRF tests: a canary that records every request that reaches it (a real
 * `http.createServer` on 127.0.0.1, random port), and a helper to listen any handler the same way.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Canary {
  readonly server: Server;
  readonly origin: string;
  /** Every request it received: method, URL and Authorization header. */
  readonly requests: Array<{ method: string; url: string; authorization?: string }>;
  close(): Promise<void>;
}

/** A loopback HTTP server on a random port that records whatever reaches it and answers a FHIR-ish 200. */
export async function startCanary(): Promise<Canary> {
  const requests: Canary['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
  });
  return listening(server, requests);
}

/** `server` listening on 127.0.0.1 at a random port. */
export async function listening(server: Server, requests: Canary['requests'] = []): Promise<Canary> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
