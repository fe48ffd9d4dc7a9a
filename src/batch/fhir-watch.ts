/**
 * Notices when the FHIR server goes away and comes back, so that a catch-up pass (catchup.ts) can
 * analyse what arrived meanwhile: notifications the server could not deliver, jobs that could not read.
 * Passive first: every call through the wrapped {@link FhirAccess} reports its outcome (the client has
 * already retried, so a failure here is an outage, not a blip). Active as well once started: a
 * CapabilityStatement probe every `probeMs` while up (a quiet service still notices), every
 * `downProbeMs` while down (recovery is noticed without traffic).
 */
import type { FhirAccess } from '../fhir/client.js';
import type { Logger } from '../ops/log.js';

export interface FhirWatchOptions {
  /** Called on each down → up transition after start(). */
  readonly onRecover: () => void;
  readonly log?: Logger;
  /** Probe period while up (default 30 s). */
  readonly probeMs?: number;
  /** Probe period while down (default 5 s). */
  readonly downProbeMs?: number;
}

export interface FhirWatch {
  /** The same FHIR access, observed. */
  readonly fhir: FhirAccess;
  /** False from an outage until the next success. */
  readonly up: boolean;
  /** Start probing and reporting recoveries. */
  start(): void;
  close(): void;
}

/** An outage, as opposed to a refusal: no answer (transport, timeout) or a gateway/unavailable status. */
export function isOutage(err: unknown): boolean {
  const e = err as { name?: string; status?: number; transport?: string } | undefined;
  if (e?.name !== 'FhirRequestError') return false;
  return e.transport !== undefined || [502, 503, 504].includes(e.status ?? 0);
}

export function watchFhir(inner: FhirAccess, o: FhirWatchOptions): FhirWatch {
  let up = true;
  let started = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    if (!started || closed) return;
    clearTimeout(timer);
    timer = setTimeout(probe, up ? (o.probeMs ?? 30_000) : (o.downProbeMs ?? 5_000));
    timer.unref();
  };
  const probe = () => {
    void wrapped
      .capabilities()
      .catch(() => undefined)
      .finally(schedule);
  };
  const ok = () => {
    if (up) return;
    up = true;
    o.log?.info({ event: 'fhir.recovered' }, 'FHIR server reachable again');
    schedule();
    if (started && !closed) o.onRecover();
  };
  const failed = (err: unknown) => {
    if (!isOutage(err)) {
      // An answer, even a 4xx, means the server is there.
      if (typeof (err as { status?: unknown } | undefined)?.status === 'number') ok();
      return;
    }
    if (!up) return;
    up = false;
    o.log?.warn({ event: 'fhir.down', err: (err as Error).message }, 'FHIR server unreachable');
    schedule();
  };

  async function* observeIterable<T>(it: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      for await (const x of it) {
        ok();
        yield x;
      }
      ok();
    } catch (err) {
      failed(err);
      throw err;
    }
  }

  // Every method of FhirAccess, present and future: a promise or an async iterable comes back.
  const wrapped = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (out instanceof Promise)
          return out.then(
            (v) => {
              ok();
              return v;
            },
            (err: unknown) => {
              failed(err);
              throw err;
            },
          );
        if (out && typeof (out as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
          return observeIterable(out as AsyncIterable<unknown>);
        return out;
      };
    },
  });

  return {
    fhir: wrapped,
    get up() {
      return up;
    },
    start() {
      if (started) return;
      started = true;
      schedule();
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
