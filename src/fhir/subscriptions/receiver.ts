/**
 * The notification endpoint (`<PUBLIC_BASE_URL>/fhir/notify`) for the delivery styles FHIR servers use:
 * - bodyless POST (R4 rest-hook without payload, https://hl7.org/fhir/R4/subscription.html#2.46.7.1): re-query;
 * - `PUT /fhir/notify/Observation/:id` with the resource (R4 rest-hook with payload);
 * - `POST` of the resource with an HMAC-SHA256 `X-Signature` (webhook style);
 * - Subscriptions Backport IG notification Bundles (handshake, heartbeat, event-notification).
 * It answers 2xx as soon as the work is queued; the queue dedupes by Observation id + version.
 */
import express, { type Request, type Response, Router } from 'express';
import type { AnalysisQueue } from '../../batch/queue.js';
import type { Logger } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import type { FhirAccess } from '../client.js';
import { ECG_OBSERVATION_CODES } from '../ecg-codec.js';
import { parseBackportBundle } from './backport.js';
import { createGapTracker } from './gaps.js';
import { hasSharedSecret, hasValidSignature } from './verify.js';

export interface ReceiverDeps {
  /** Unset: every notification is refused (401). */
  readonly secret?: string;
  readonly queue: AnalysisQueue;
  readonly fhir: FhirAccess;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly maxBodyBytes?: number;
  /** Where the first ping re-query starts (default: 24 h before start-up). */
  readonly since?: Date;
}

const ECG_CODES = new Set(ECG_OBSERVATION_CODES.split(','));

export function isEcgObservation(r: fhir4.FhirResource | undefined): r is fhir4.Observation {
  return (
    r?.resourceType === 'Observation' &&
    (r.code?.coding ?? []).some((c) => ECG_CODES.has(`${c.system}|${c.code}`))
  );
}

type Style = 'ping' | 'put' | 'hmac' | 'backport';

/** Express router for /fhir/notify. */
export function createNotifyReceiver(deps: ReceiverDeps): Router {
  const router = Router();
  const count = (style: Style, result: string) => deps.metrics.notifications.inc({ style, result });
  const enqueue = (id: string, versionId?: string) =>
    deps.queue.enqueue({ observationId: id, ...(versionId ? { versionId } : {}), reason: 'subscription' });
  const gaps = createGapTracker({ fhir: deps.fhir, enqueue, ...(deps.since ? { since: deps.since } : {}) });
  const background = (what: string, p: Promise<unknown>) =>
    p.catch((err: Error) => deps.log.warn({ event: 'notify.requery-failed', what, err: err.name }));

  router.use(express.raw({ type: () => true, limit: deps.maxBodyBytes ?? 10 * 1024 * 1024 }));

  const authorised = (req: Request, raw: Buffer): 'secret' | 'hmac' | false => {
    const secret = deps.secret;
    if (!secret) return false;
    if (hasSharedSecret(secret, req.get('authorization'), req.get('x-ecg-cds-secret'))) return 'secret';
    if (req.get('x-signature') && hasValidSignature(secret, req.get('x-signature'), raw)) return 'hmac';
    return false;
  };
  const answer = (res: Response, style: Style, result: string, status: number) => {
    count(style, result);
    res.status(status).end();
  };
  const deny = (res: Response, style: Style) => {
    count(style, 'unauthorised');
    res.status(401).end();
  };
  const parse = (raw: Buffer): unknown => {
    if (raw.length === 0) return undefined;
    return JSON.parse(raw.toString('utf8'));
  };

  router.put('/Observation/:id', async (req, res) => {
    const raw = rawBody(req);
    if (!authorised(req, raw)) return deny(res, 'put');
    const obs = safeParse(parse, raw) as fhir4.Observation | undefined;
    if (obs?.resourceType !== 'Observation') return answer(res, 'put', 'invalid', 400);
    if (!isEcgObservation(obs)) return answer(res, 'put', 'ignored', 200);
    await enqueue(req.params.id, obs.meta?.versionId);
    count('put', 'queued');
    res.status(200).end();
  });

  router.post('/', async (req, res) => {
    const raw = rawBody(req);
    const how = authorised(req, raw);
    const body = how ? safeParse(parse, raw) : undefined;
    const style: Style =
      raw.length === 0 ? 'ping' : how === 'hmac' || req.get('x-signature') ? 'hmac' : 'backport';
    if (!how) return deny(res, style);
    if (body === undefined) {
      if (raw.length > 0) return answer(res, style, 'invalid', 400);
      background('ping', gaps.requery());
      count('ping', 'queued');
      return void res.status(200).end();
    }
    const status = parseBackportBundle(body);
    if (status) {
      count('backport', status.type);
      if (status.type === 'event-notification' || status.type === 'heartbeat') {
        for (const e of status.events) {
          const ref = /^(?:.*\/)?Observation\/([^/]+)(?:\/_history\/([^/]+))?$/.exec(e.focus ?? '');
          if (ref) await enqueue(ref[1]!, ref[2]);
        }
        if (gaps.observe(status)) background('gap', gaps.requery());
      }
      return void res.status(200).end();
    }
    const resource = body as fhir4.FhirResource;
    if (!isEcgObservation(resource) || !resource.id) return answer(res, style, 'ignored', 200);
    await enqueue(resource.id, resource.meta?.versionId);
    count(style, 'queued');
    res.status(200).end();
  });
  return router;
}

function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function safeParse(parse: (raw: Buffer) => unknown, raw: Buffer): unknown {
  try {
    return parse(raw);
  } catch {
    return undefined;
  }
}
