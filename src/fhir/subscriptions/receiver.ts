/**
 * The notification endpoint (`<PUBLIC_BASE_URL>/fhir/notify`) for the delivery styles FHIR servers use:
 * - bodyless POST (R4 rest-hook without payload, https://hl7.org/fhir/R4/subscription.html#2.46.7.1): re-query;
 * - `PUT /fhir/notify/Observation/:id` with the resource (R4 rest-hook with payload);
 * - `POST` of the resource with an HMAC-SHA256 `X-Signature` (webhook style);
 * - Subscriptions Backport IG notification Bundles (handshake, heartbeat, event-notification).
 * Senders prove themselves with the Subscription's notify token (`Authorization: Bearer`, what our
 * Subscriptions' `channel.header` carries: ./notify-token.ts), SUBSCRIPTION_SECRET given out of band
 * (bearer or `X-Ecg-Cds-Secret`), or an HMAC-SHA256 `X-Signature` keyed with the secret.
 * It answers 2xx as soon as the work is queued; the queue dedupes by Observation id + version.
 *
 * Order of checks (issue #11), cheapest and least revealing first: method and path (405/404), then the
 * sender from headers alone (401, body never read), then Content-Type and Content-Length (415/413, body
 * never read), then the body is read (bounded), then parsed and validated (400 naming the field).
 * The HMAC style cannot be checked without the body: its raw bytes are read (bounded) and verified
 * before they are parsed, and until the signature verifies every failure is a 401.
 * Every answer that is not a bare 2xx is an OperationOutcome; no stack trace or path ever leaves.
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  Router,
} from 'express';
import type { StateStore } from '../../batch/checkpoint.js';
import type { AnalysisQueue } from '../../batch/queue.js';
import { clientFault, correlationId, errSummary } from '../../ops/http-errors.js';
import type { Logger } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import type { FhirAccess } from '../client.js';
import { ECG_OBSERVATION_CODES } from '../ecg-codec.js';
import { sendOutcome } from '../http-outcome.js';
import { parseBackportBundle } from './backport.js';
import { createGapTracker, type GapState } from './gaps.js';
import {
  AnyResource,
  FHIR_ID,
  fieldOf,
  NotificationBundle,
  NotifiedObservation,
  SubscriptionStatusParameters,
} from './notify-schema.js';
import type { NotifyTokens } from './notify-token.js';
import { bearerOf, hasSharedSecret, hasValidSignature, looksLikeSignature } from './verify.js';

export interface ReceiverDeps {
  /** Keeps the gap tracker's counters across restarts (Redis or a FHIR `Basic`). */
  readonly gapState?: StateStore<GapState>;
  /** Unset: every notification is refused (401). Also the HMAC key of `X-Signature`. */
  readonly secret?: string;
  /** Our Subscriptions' notify tokens (`Authorization: Bearer <token>`, ./notify-token.ts). */
  readonly tokens?: NotifyTokens;
  readonly queue: AnalysisQueue;
  readonly fhir: FhirAccess;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly maxBodyBytes?: number;
  /** Where the first ping re-query starts (default: 24 h before start-up). */
  readonly since?: Date;
}

const ECG_CODES = new Set(ECG_OBSERVATION_CODES.split(','));

interface CodedResource {
  readonly resourceType?: string;
  readonly code?: { readonly coding?: ReadonlyArray<{ readonly system?: string; readonly code?: string }> };
}

/** An Observation coded as an ECG (LOINC 11524-6 / 34534-8 …, see ECG_OBSERVATION_CODES). */
export function isEcgObservation(r: CodedResource | undefined): boolean {
  const coding = r?.resourceType === 'Observation' ? r.code?.coding : undefined;
  return Array.isArray(coding) && coding.some((c) => ECG_CODES.has(`${c?.system}|${c?.code}`));
}

type Style = 'ping' | 'put' | 'hmac' | 'backport';
/** How the sender proved itself: the shared secret in a header, or an HMAC over the body (checked later). */
type Proof = 'secret' | 'signature';

/** Content types a notification body may have (`application/json+fhir` is what DSTU2-era servers send). */
const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];

interface NotifyLocals {
  proof?: Proof;
  /** True once an HMAC signature has been checked against the body. */
  verified?: boolean;
  style?: Style;
}
const locals = (res: Response) => res.locals as NotifyLocals;

/** Express router for /fhir/notify. */
export function createNotifyReceiver(deps: ReceiverDeps): Router {
  const router = Router();
  const limit = deps.maxBodyBytes ?? 10 * 1024 * 1024;
  const count = (style: Style, result: string) => deps.metrics.notifications.inc({ style, result });
  const enqueue = (id: string, versionId?: string) =>
    deps.queue.enqueue({ observationId: id, ...(versionId ? { versionId } : {}), reason: 'subscription' });
  const gaps = createGapTracker({
    fhir: deps.fhir,
    enqueue,
    ...(deps.since ? { since: deps.since } : {}),
    ...(deps.gapState ? { state: deps.gapState } : {}),
  });
  const background = (what: string, p: Promise<unknown>) =>
    p.catch((err: Error) => deps.log.warn({ event: 'notify.requery-failed', what, err: err.name }));

  const deny = (res: Response, style: Style) => {
    count(style, 'unauthorised');
    // The body may not have been read: close the connection rather than drain what an unknown sender sent.
    res.set('Connection', 'close').set('WWW-Authenticate', 'Bearer');
    sendOutcome(res, 401, 'notification sender not authenticated');
  };
  const refuse = (res: Response, style: Style, status: number, text: string, field?: string) => {
    count(style, status === 413 ? 'too-large' : status === 415 ? 'unsupported' : 'invalid');
    sendOutcome(res, status, text, field);
  };

  /** Headers only: who is sending, and is the body acceptable in type and size. Never reads the body. */
  const gate =
    (styleOf: (req: Request) => Style): RequestHandler =>
    async (req, res, next) => {
      const style = styleOf(req);
      locals(res).style = style;
      const secret = deps.secret;
      let proof: Proof | undefined;
      const bearer = bearerOf(req.get('authorization'));
      // A Subscription's own token (what channel.header carries), or the secret itself given out of band.
      if (secret && bearer !== undefined && deps.tokens && (await deps.tokens.accepts(bearer)))
        proof = 'secret';
      else if (secret && hasSharedSecret(secret, req.get('authorization'), req.get('x-ecg-cds-secret')))
        proof = 'secret';
      else if (secret && looksLikeSignature(req.get('x-signature'))) proof = 'signature';
      if (!proof) return deny(res, style);
      locals(res).proof = proof;
      if (proof === 'secret' && bodyExpected(req)) {
        if (!req.is(JSON_TYPES)) {
          res.set('Connection', 'close');
          return refuse(res, style, 415, `Content-Type must be one of ${JSON_TYPES.join(', ')}`);
        }
        if (Number(req.get('content-length') ?? 0) > limit) {
          res.set('Connection', 'close');
          return refuse(res, style, 413, `request body larger than ${limit} bytes`);
        }
      }
      next();
    };

  /** Reads the raw bytes, bounded (413 beyond, also for bodies that inflate past it); no parsing. */
  const read = express.raw({ type: () => true, limit });

  /** The HMAC style: verify before anything else looks at the body; the type check comes after. */
  const verified = (req: Request, res: Response, raw: Buffer): boolean => {
    const style = locals(res).style ?? 'hmac';
    if (locals(res).proof === 'signature') {
      if (!hasValidSignature(deps.secret!, req.get('x-signature'), raw)) {
        deny(res, style);
        return false;
      }
      locals(res).verified = true;
      if (raw.length > 0 && !req.is(JSON_TYPES)) {
        refuse(res, style, 415, `Content-Type must be one of ${JSON_TYPES.join(', ')}`);
        return false;
      }
    }
    return true;
  };

  router.put(
    '/Observation/:id',
    gate(() => 'put'),
    read,
    async (req, res) => {
      const raw = rawBody(req);
      if (!verified(req, res, raw)) return;
      const id = String(req.params['id']);
      if (!FHIR_ID.test(id))
        return refuse(res, 'put', 400, 'the URL must end in Observation/<FHIR id>', 'id');
      if (raw.length === 0) return refuse(res, 'put', 400, 'the Observation is missing from the body');
      const json = parseJson(raw);
      if (json === NOT_JSON) return refuse(res, 'put', 400, 'request body is not valid JSON');
      const obs = NotifiedObservation.safeParse(json);
      if (!obs.success) return refuse(res, 'put', 400, ...issueOf(obs.error.issues, 'Observation'));
      if (obs.data.id !== undefined && obs.data.id !== id)
        return refuse(res, 'put', 400, 'Observation.id does not match the URL', 'Observation.id');
      if (!isEcgObservation(obs.data)) {
        count('put', 'ignored');
        return void res.status(200).end();
      }
      await enqueue(id, obs.data.meta?.versionId);
      count('put', 'queued');
      res.status(200).end();
    },
  );

  router.post(
    '/',
    gate((req) => (!bodyExpected(req) ? 'ping' : req.get('x-signature') ? 'hmac' : 'backport')),
    read,
    async (req, res) => {
      const raw = rawBody(req);
      if (!verified(req, res, raw)) return;
      if (raw.length === 0) {
        background('ping', gaps.requery());
        count('ping', 'queued');
        return void res.status(200).end();
      }
      const style: Style = locals(res).proof === 'signature' ? 'hmac' : 'backport';
      const json = parseJson(raw);
      if (json === NOT_JSON) return refuse(res, style, 400, 'request body is not valid JSON');
      const resource = AnyResource.safeParse(json);
      if (!resource.success)
        return refuse(res, style, 400, 'the body must be a FHIR resource', 'resourceType');

      if (resource.data.resourceType === 'Bundle') {
        const bundle = NotificationBundle.safeParse(json);
        if (!bundle.success) return refuse(res, style, 400, ...issueOf(bundle.error.issues, 'Bundle'));
        const params = SubscriptionStatusParameters.safeParse(bundle.data.entry[0]?.resource);
        if (!params.success)
          return refuse(res, style, 400, ...issueOf(params.error.issues, 'Bundle.entry[0].resource'));
        const status = parseBackportBundle(json);
        if (!status) return refuse(res, style, 400, 'not a subscription notification Bundle', 'Bundle');
        count('backport', status.type);
        if (status.type === 'event-notification' || status.type === 'heartbeat') {
          for (const e of status.events) {
            const ref = /^(?:.*\/)?Observation\/([^/]+)(?:\/_history\/([^/]+))?$/.exec(e.focus ?? '');
            if (ref && FHIR_ID.test(ref[1]!) && (ref[2] === undefined || FHIR_ID.test(ref[2])))
              await enqueue(ref[1]!, ref[2]);
          }
          if (gaps.observe(status)) background('gap', gaps.requery());
        }
        return void res.status(200).end();
      }

      if (resource.data.resourceType !== 'Observation') {
        count(style, 'ignored');
        return void res.status(200).end();
      }
      const obs = NotifiedObservation.safeParse(json);
      if (!obs.success) return refuse(res, style, 400, ...issueOf(obs.error.issues, 'Observation'));
      if (!isEcgObservation(obs.data) || !obs.data.id) {
        count(style, 'ignored');
        return void res.status(200).end();
      }
      await enqueue(obs.data.id, obs.data.meta?.versionId);
      count(style, 'queued');
      res.status(200).end();
    },
  );

  // Known paths, other methods: 405 with the one method each accepts.
  router.all('/', (_req, res) => sendOutcome(res.set('Allow', 'POST'), 405, 'use POST'));
  router.all('/Observation/:id', (_req, res) => sendOutcome(res.set('Allow', 'PUT'), 405, 'use PUT'));
  router.use((_req, res) => sendOutcome(res, 404, 'not found'));

  // This router's error boundary: body read failures and anything thrown by the handlers.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    const style = locals(res).style ?? 'backport';
    const fault = clientFault(err);
    // An HMAC sender is unknown until its signature is checked: it learns nothing but 401.
    if (locals(res).proof === 'signature' && !locals(res).verified) return deny(res, style);
    if (fault) return refuse(res, style, fault.status, fault.message);
    const id = correlationId();
    count(style, 'error');
    deps.log.error({ event: 'notify.error', correlationId: id, err: errSummary(err) });
    res.set('X-Correlation-Id', id);
    sendOutcome(res, 500, `internal error (correlation id ${id})`);
  });
  return router;
}

/** Does the request announce a body? (`Content-Length: 0`, as fetch sends for a bodyless POST, does not.) */
function bodyExpected(req: Request): boolean {
  return req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
}

function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

const NOT_JSON = Symbol('not JSON');

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return NOT_JSON;
  }
}

/** The first zod issue as (text, field) for an OperationOutcome. */
function issueOf(
  issues: ReadonlyArray<{ readonly path: readonly PropertyKey[]; readonly message: string }>,
  resourceType: string,
): [string, string] {
  const issue = issues[0];
  const field = fieldOf(resourceType, issue?.path ?? []);
  return [`${field}: ${issue?.message ?? 'invalid'}`, field];
}
