/**
 * Where the nightly job keeps its checkpoint and run summaries: in Redis when the deployment is
 * distributed (REDIS_URL), otherwise on the FHIR server itself as `Basic` resources with fixed
 * identifiers (https://hl7.org/fhir/R4/basic.html), so a single instance needs no extra storage.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { FhirAccess } from '../fhir/client.js';
import {
  BATCH_STATE_SYSTEM as STATE_SYSTEM,
  BATCH_STATE_EXTENSION as STATE_URL,
} from '../fhir/definitions/canonical.js';
import { redisOptions } from './bullmq.js';

/** How far the job got: every ECG updated before `lastUpdated` is analysed with `modelVersion` (or failed). */
export interface Checkpoint {
  readonly modelVersion: string;
  /** meta.lastUpdated of the last ECG whose work, and all before it, is finished. */
  readonly lastUpdated?: string;
  /** The last run finished its pass (false: killed or failed; the next run resumes). */
  readonly complete: boolean;
  readonly savedAt: string;
}

export interface RunSummary {
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly modelVersion: string;
  /** `catch-up`: the pass at start-up and after a FHIR outage (catchup.ts). */
  readonly mode: 'full' | 'incremental' | 'range' | 'catch-up';
  /** ECGs the reader returned. */
  readonly seen: number;
  /** Already analysed with this model version (skipped). */
  readonly alreadyAnalysed: number;
  readonly queued: number;
  readonly analysed: number;
  readonly failed: number;
  /** Findings of this run's analyses by code (`unable`, `none` included). */
  readonly byFinding: Readonly<Record<string, number>>;
  /** Findings that were absent from the previous analysis of the same ECG (or it had none). */
  readonly newFindings: number;
  readonly dryRun: boolean;
  /** Dead letters queued again at the start of the run (dead-letter.ts). */
  readonly deadLettersRetried?: number;
}

export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>;
  save(cp: Checkpoint): Promise<void>;
  /** Keep a run summary (the last 100 in Redis; one Basic per run on FHIR). */
  record(summary: RunSummary): Promise<void>;
  /**
   * Take the run lock so that one replica runs the nightly job at a time; resolves with its release, or
   * undefined when another holder has it. Redis: SET NX with a TTL renewed while held (a killed holder's
   * lock expires). FHIR store: always granted (one instance without Redis).
   */
  lock(ttlMs?: number): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/** Redis keys `<prefix>:nightly:checkpoint` and `<prefix>:nightly:runs` (a capped list, newest first). */
export function redisCheckpointStore(url: string, prefix = 'ecg-cds', name = 'nightly'): CheckpointStore {
  const redis = new Redis({ ...redisOptions(url), lazyConnect: false, maxRetriesPerRequest: 3 });
  const key = `${prefix}:${name}`;
  return {
    async load() {
      const raw = await redis.get(`${key}:checkpoint`);
      return raw ? (JSON.parse(raw) as Checkpoint) : undefined;
    },
    async save(cp) {
      await redis.set(`${key}:checkpoint`, JSON.stringify(cp));
    },
    async lock(ttlMs = 60_000) {
      const lockKey = `${key}:lock`;
      const token = randomUUID();
      if ((await redis.set(lockKey, token, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
      // Renew only while the lock is still ours (compare-and-expire in one script).
      const renew = setInterval(() => {
        void redis.eval(RENEW, 1, lockKey, token, String(ttlMs)).catch(() => undefined);
      }, ttlMs / 3);
      renew.unref();
      return async () => {
        clearInterval(renew);
        await redis.eval(RELEASE, 1, lockKey, token);
      };
    },
    async record(summary) {
      await redis.multi().lpush(`${key}:runs`, JSON.stringify(summary)).ltrim(`${key}:runs`, 0, 99).exec();
    },
    async close() {
      await redis.quit();
    },
  };
}

// Canonical URLs under FHIR_DEFINITIONS_BASE (issue #13), as live bindings.
export { STATE_SYSTEM, STATE_URL };

/** `Basic.code` of a store's resources: `<name>-state` (`nightly-state` for the nightly job). */
const codeOf = (name: string) => ({ coding: [{ system: STATE_SYSTEM, code: `${name}-state` }] });

/** One JSON value kept across restarts (the checkpoints, the Subscription gap state). */
export interface StateStore<T> {
  load(): Promise<T | undefined>;
  save(value: T): Promise<void>;
  close(): Promise<void>;
}

/** A `Basic` carrying `value` as JSON in an extension, identified by <STATE_SYSTEM>|<value>. */
export function stateBasic(value: unknown, identifier: string, name: string): fhir4.Basic {
  return {
    resourceType: 'Basic',
    identifier: [{ system: STATE_SYSTEM, value: identifier }],
    code: codeOf(name),
    extension: [{ url: STATE_URL, valueString: JSON.stringify(value) }],
  };
}

/** The JSON value of a {@link stateBasic}; undefined when it has none or it does not parse. */
export function stateOf<T>(basic: fhir4.Basic | undefined): T | undefined {
  const raw = basic?.extension?.find((e) => e.url === STATE_URL)?.valueString;
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}

/** One `Basic` (identifier <STATE_SYSTEM>|<identifier>) updated in place. */
export function fhirStateStore<T>(
  fhir: Pick<FhirAccess, 'search' | 'create' | 'update'>,
  identifier: string,
  name: string,
): StateStore<T> {
  let id: string | undefined;
  const find = async (): Promise<fhir4.Basic | undefined> => {
    const bundle = await fhir.search('Basic', { identifier: `${STATE_SYSTEM}|${identifier}` });
    return bundle.entry?.[0]?.resource as fhir4.Basic | undefined;
  };
  return {
    async load() {
      const basic = await find();
      id = basic?.id;
      return stateOf<T>(basic);
    },
    async save(value) {
      id ??= (await find())?.id;
      if (id) await fhir.update({ ...stateBasic(value, identifier, name), id });
      else {
        const created = await fhir.create(stateBasic(value, identifier, name), {
          ifNoneExist: `identifier=${STATE_SYSTEM}|${identifier}`,
        });
        id = created.id;
      }
    },
    async close() {},
  };
}

/** A Redis key holding `value` as JSON. */
export function redisStateStore<T>(url: string, key: string): StateStore<T> {
  const redis = new Redis({ ...redisOptions(url), lazyConnect: false, maxRetriesPerRequest: 3 });
  return {
    async load() {
      const raw = await redis.get(key);
      return raw ? (JSON.parse(raw) as T) : undefined;
    },
    async save(value) {
      await redis.set(key, JSON.stringify(value));
    },
    async close() {
      await redis.quit();
    },
  };
}

/** The checkpoint (identifier <STATE_SYSTEM>|<name>-checkpoint) updated in place; one `Basic` per run summary. */
export function fhirCheckpointStore(fhir: FhirAccess, name = 'nightly'): CheckpointStore {
  const state = fhirStateStore<Checkpoint>(fhir, `${name}-checkpoint`, name);
  return {
    load: () => state.load(),
    save: (cp) => state.save(cp),
    async record(summary) {
      const ident = `${name}-run-${summary.runId}`;
      await fhir.create(stateBasic(summary, ident, name), {
        ifNoneExist: `identifier=${STATE_SYSTEM}|${ident}`,
      });
    },
    async lock() {
      return async () => {};
    },
    async close() {},
  };
}

/** Where state lives: Redis when the deployment has it, else the FHIR server (see the top of this file). */
export interface StateLocation {
  readonly redisUrl?: string;
  readonly redisPrefix: string;
  readonly fhir: FhirAccess;
}

/** The checkpoint store called `name` ('nightly', 'catchup') where state lives. */
export function checkpointStoreAt(at: StateLocation, name: string): CheckpointStore {
  return at.redisUrl
    ? redisCheckpointStore(at.redisUrl, at.redisPrefix, name)
    : fhirCheckpointStore(at.fhir, name);
}

/** A JSON state store called `name` where state lives (Redis key `<prefix>:<name>:state`). */
export function stateStoreAt<T>(at: StateLocation, name: string): StateStore<T> {
  return at.redisUrl
    ? redisStateStore<T>(at.redisUrl, `${at.redisPrefix}:${name}:state`)
    : fhirStateStore<T>(at.fhir, `${name}-state`, name);
}
