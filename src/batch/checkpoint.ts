/**
 * Where the nightly job keeps its checkpoint and run summaries: in Redis when the deployment is
 * distributed (REDIS_URL), otherwise on the FHIR server itself as `Basic` resources with fixed
 * identifiers (https://hl7.org/fhir/R4/basic.html), so a single instance needs no extra storage.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { FhirAccess } from '../fhir/client.js';
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
  readonly mode: 'full' | 'incremental' | 'range';
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

const SYSTEM = 'urn:ecg-cds:batch';
const STATE_URL = 'urn:ecg-cds:batch:state';
const CODE = { coding: [{ system: SYSTEM, code: 'nightly-state' }] };

/** One `Basic` (identifier urn:ecg-cds:batch|<name>-checkpoint) updated in place; one per run summary. */
export function fhirCheckpointStore(fhir: FhirAccess, name = 'nightly'): CheckpointStore {
  const identifier = { system: SYSTEM, value: `${name}-checkpoint` };
  let id: string | undefined;
  const find = async (): Promise<fhir4.Basic | undefined> => {
    const bundle = await fhir.search('Basic', { identifier: `${SYSTEM}|${identifier.value}` });
    return bundle.entry?.[0]?.resource as fhir4.Basic | undefined;
  };
  const state = (value: unknown, ident: fhir4.Identifier): fhir4.Basic => ({
    resourceType: 'Basic',
    identifier: [ident],
    code: CODE,
    extension: [{ url: STATE_URL, valueString: JSON.stringify(value) }],
  });
  return {
    async load() {
      const basic = await find();
      id = basic?.id;
      const raw = basic?.extension?.find((e) => e.url === STATE_URL)?.valueString;
      return raw ? (JSON.parse(raw) as Checkpoint) : undefined;
    },
    async save(cp) {
      id ??= (await find())?.id;
      if (id) await fhir.update({ ...state(cp, identifier), id });
      else {
        const created = await fhir.create(state(cp, identifier), {
          ifNoneExist: `identifier=${SYSTEM}|${identifier.value}`,
        });
        id = created.id;
      }
    },
    async record(summary) {
      const ident = { system: SYSTEM, value: `${name}-run-${summary.runId}` };
      await fhir.create(state(summary, ident), { ifNoneExist: `identifier=${SYSTEM}|${ident.value}` });
    },
    async lock() {
      return async () => {};
    },
    async close() {},
  };
}
