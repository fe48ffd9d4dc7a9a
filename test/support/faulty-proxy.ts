/**
 * A small HTTP proxy for fault injection: forwards to `target` but fails a fraction of requests, half
 * with a 5xx and half by never answering (the client's timeout fires; the socket is dropped later).
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';

export interface FaultyProxy {
  readonly url: string;
  readonly stats: { forwarded: number; failed5xx: number; timedOut: number };
  /** Fraction of requests failed from now on. */
  failRate: number;
  close(): Promise<void>;
}

export async function startFaultyProxy(
  target: string,
  opts: { failRate: number; hangMs: number; random?: () => number },
): Promise<FaultyProxy> {
  const t = new URL(target);
  const rnd = opts.random ?? Math.random;
  const stats = { forwarded: 0, failed5xx: 0, timedOut: 0 };
  const self = { failRate: opts.failRate };
  const server: Server = createServer((req, res) => {
    const roll = rnd();
    const failRate = self.failRate;
    if (roll < failRate / 2) {
      stats.failed5xx++;
      req.resume();
      res.writeHead(roll < failRate / 4 ? 503 : 502).end();
      return;
    }
    if (roll < failRate) {
      stats.timedOut++;
      req.resume();
      setTimeout(() => res.destroy(), opts.hangMs).unref();
      return;
    }
    stats.forwarded++;
    forward(req, res, t);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return Object.assign(self, {
    url: `http://127.0.0.1:${port}`,
    stats,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  });
}

/** Pass one request on to `target` (its path appended to the target's) and stream the answer back. */
export function forward(req: IncomingMessage, res: ServerResponse, t: URL): void {
  const up = request(
    {
      host: t.hostname,
      port: t.port,
      method: req.method,
      path: `${t.pathname.replace(/\/$/, '')}${req.url}`,
      headers: { ...req.headers, host: t.host },
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on('error', () => res.destroy());
  req.pipe(up);
}
