/**
 * Configuration: environment → validated, typed Config (zod). Nothing else reads process.env
 * (STYLE: config in one place). Secrets (FHIR_TOKEN, SUBSCRIPTION_SECRET) come only from env and are
 * never logged: `redactedConfig()` is what start-up prints.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { setDefinitionsBase } from './fhir/definitions/canonical.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

/** True when `Intl` knows the IANA time zone `tz` (it throws a RangeError otherwise). */
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A variable holding JSON: parsed here, then validated by the schema piped after it. */
function jsonText(name: string) {
  return z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be JSON` });
      return z.NEVER;
    }
  });
}

/**
 * A list of origins (`scheme://host[:port]`, http or https): a JSON array or a comma list. A path,
 * query or credentials are refused rather than dropped, so nobody believes a path restricts anything.
 */
const origins = z
  .string()
  .transform((s, ctx) => {
    const text = s.trim();
    let items: unknown = text
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (text.startsWith('[')) {
      try {
        items = JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array or a comma list of origins' });
        return z.NEVER;
      }
    }
    return items;
  })
  .pipe(
    z.array(
      z.string().transform((o, ctx) => {
        const u = URL.canParse(o) ? new URL(o) : undefined;
        if (
          !u ||
          (u.protocol !== 'https:' && u.protocol !== 'http:') ||
          u.username ||
          u.password ||
          u.pathname !== '/' ||
          u.search ||
          u.hash
        ) {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(o)} is not an http(s) origin (scheme://host[:port])`,
          });
          return z.NEVER;
        }
        return u.origin;
      }),
    ),
  );

/**
 * A trusted CDS client: its keys pinned by `jwksUrl`, an inline `jwks` or a `jwksFile` (at most one);
 * with none, its tokens must name an allow-listed `jku` (src/cds-hooks/auth.ts).
 */
const trustedIssuer = z
  .object({
    iss: z.string().min(1),
    jwksUrl: z.string().url().optional(),
    jwks: z.object({ keys: z.array(z.looseObject({ kty: z.string() })) }).optional(),
    jwksFile: z.string().min(1).optional(),
  })
  .refine((i) => [i.jwksUrl, i.jwks, i.jwksFile].filter((x) => x !== undefined).length <= 1, {
    error: 'give at most one of jwksUrl, jwks, jwksFile',
  });

const indicator = z.enum(['critical', 'warning', 'info', 'none']);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  /** Public URL of this service as CDS clients call it (JWT `aud` is checked against it). */
  PUBLIC_BASE_URL: z.string().url().optional(),
  /** Base of the canonical URLs of our own extensions, CodeSystems and identifier systems (issue #13). */
  FHIR_DEFINITIONS_BASE: z.string().url().optional(),
  /** The hospital's FHIR server. Unset: demo mode with the embedded development FHIR server at /fhir. */
  FHIR_BASE_URL: z.string().url().optional(),
  FHIR_TOKEN: z.string().optional(),
  FHIR_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Origins a CDS hook's `fhirServer` may name (SSRF guard). Default: the origin of the FHIR server above. */
  FHIR_SERVER_ALLOWLIST: origins.optional(),
  /** Largest FHIR response body read, bytes (any FHIR server, ours or the EHR's). */
  FHIR_MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024),
  /** Embedded server only: require a bearer token on /fhir (any of these values). */
  DEV_FHIR_TOKENS: csv.optional(),
  /** Embedded server only: keep its resources in this JSON file across restarts. */
  DEV_FHIR_SNAPSHOT: z.string().optional(),
  /**
   * Embedded server only: the bearer token that may read Subscription.channel.header (others get
   * Subscriptions without it). Default: a random token made at start, known to the service alone.
   */
  DEV_FHIR_ADMIN_TOKEN: z.string().min(16, { error: 'at least 16 characters' }).optional(),
  /** Seed the embedded server with the demo patients (default on in demo mode). */
  DEMO_DATA: bool.optional(),
  MODELS_DIR: z.string().default(resolve(import.meta.dirname, '..', 'models')),
  ORT_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Worker threads of the analysis pool (decode + analysis off the event loop); default: the cores. */
  ANALYSIS_WORKERS: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  /** Most ECGs one analysis worker takes at once when ECGs are waiting (model calls batched across them). */
  ANALYSIS_BATCH: z.coerce.number().int().min(1).max(256).default(16),
  /** JSON array of {"iss": "...", "jwksUrl": "https://..."}: the CDS clients we trust. */
  CDS_TRUSTED_ISSUERS: jsonText('CDS_TRUSTED_ISSUERS').pipe(z.array(trustedIssuer)).optional(),
  /** JWKS URLs a token's `jku` header may name. */
  CDS_JKU_ALLOWLIST: csv.optional(),
  /** Trust the local development issuer (`ecg-cds dev-token`). Default: on in demo mode only. */
  CDS_TRUST_DEV_ISSUER: bool.optional(),
  DEV_KEY_PATH: z.string().default('.ecg-cds/dev-key.json'),
  /** Time budget of one CDS hook call for on-demand analysis, ms (spec: answer in about 500 ms). */
  HOOK_BUDGET_MS: z.coerce.number().int().positive().default(350),
  /** How many recent ECGs a patient-view call looks at. */
  HOOK_MAX_ECGS: z.coerce.number().int().min(1).max(20).default(5),
  /** Card indicator per finding code, JSON object overriding the defaults, e.g. {"sinus-rhythm":"info"}. */
  CARD_POLICY: jsonText('CARD_POLICY').pipe(z.record(z.string(), indicator)).optional(),
  /** IANA time zone in which cards show an ECG's date and time, e.g. Europe/Berlin (default UTC). */
  DISPLAY_TIME_ZONE: z
    .string()
    .default('UTC')
    .refine(isTimeZone, { error: 'must be an IANA time zone such as UTC or Europe/Berlin' }),
  /** Origins that may read the embedded FHIR server from a browser (CORS), JSON array or comma list, or `*`. */
  FHIR_CORS_ORIGINS: csv.optional(),
  MODEL_CARD_URL: z.string().url().optional(),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Subscriptions and nightly back-analysis (issue #5)
  SUBSCRIPTION_SECRET: z.string().min(16).optional(),
  SUBSCRIPTIONS_ENSURE: bool.optional(),
  REDIS_URL: z.string().optional(),
  /** Serve /metrics on a separate listener at this port (issue #11: never on the public port unauthenticated). */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Address of the metrics listener (default: loopback only, for a local scraper or sidecar). */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Bearer token for /metrics: also serve it on the public port, behind `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** Key prefix of the BullMQ queues and the nightly checkpoint in Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[\w.-]+$/)
    .default('ecg-cds'),
  NIGHTLY_CRON: z.string().default('0 2 * * *'),
  NIGHTLY_TIMEZONE: z.string().default('UTC'),
  NIGHTLY_ENABLED: bool.default(true),
  /**
   * ECGs in flight per process (read → analysis → write-back). Above the analysis workers, ECGs wait in the
   * pool and are analysed in batches (ANALYSIS_BATCH), which is where the nightly throughput comes from.
   */
  BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(16),
  BATCH_RATE_PER_SEC: z.coerce.number().positive().default(50),
});

export type Indicator = z.infer<typeof indicator>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicBaseUrl: string;
  /**
   * Base of our definitions' canonical URLs (default `${publicBaseUrl}/fhir`); loadConfig applies it to
   * src/fhir/definitions/canonical.ts, so every process that reads the config writes the same URLs.
   */
  readonly fhirDefinitionsBase: string;
  /** True without FHIR_BASE_URL: embedded FHIR server at /fhir, demo data, dev issuer trusted. */
  readonly demo: boolean;
  readonly fhir: {
    readonly baseUrl: string;
    readonly token?: string;
    readonly timeoutMs: number;
    readonly maxResponseBytes: number;
    /** Origins a hook's `fhirServer` may have (FHIR_SERVER_ALLOWLIST, default the origin of `baseUrl`). */
    readonly serverAllowlist: readonly string[];
  };
  readonly devFhir: {
    readonly tokens?: readonly string[];
    readonly snapshot?: string;
    /** DEV_FHIR_ADMIN_TOKEN: may read Subscription.channel.header; absent → a random one per start. */
    readonly adminToken?: string;
    readonly demoData: boolean;
    /** Browser origins allowed by CORS on `/fhir` (FHIR_CORS_ORIGINS; default `*`: a development server). */
    readonly corsOrigins: '*' | readonly string[];
  };
  readonly modelsDir: string;
  readonly provider: 'cpu' | 'cuda';
  /** Worker threads of the analysis pool (ANALYSIS_WORKERS). */
  readonly analysisWorkers: number;
  /** Most ECGs per worker task under load (ANALYSIS_BATCH). */
  readonly analysisBatch: number;
  readonly auth: {
    readonly issuers: ReadonlyArray<{
      iss: string;
      jwksUrl?: string;
      jwks?: { keys: Array<Record<string, unknown>> };
      jwksFile?: string;
    }>;
    readonly jkuAllowList: readonly string[];
    readonly trustDevIssuer: boolean;
    readonly devKeyPath: string;
  };
  readonly hook: {
    readonly budgetMs: number;
    readonly maxEcgs: number;
    readonly policy: Readonly<Record<string, Indicator>>;
    /** IANA zone of the dates and times cards show (DISPLAY_TIME_ZONE). */
    readonly timeZone: string;
  };
  readonly modelCardUrl: string;
  readonly maxBodyBytes: number;
  readonly logLevel: string;
  readonly subscriptions: { readonly secret?: string; readonly ensureAtStart: boolean };
  readonly redisUrl?: string;
  readonly redisPrefix: string;
  /** Where /metrics is served: its own listener (`port`), and/or the public port behind `token`. */
  readonly metrics: { readonly port?: number; readonly host: string; readonly token?: string };
  readonly nightly: {
    readonly enabled: boolean;
    readonly cron: string;
    readonly timezone: string;
    readonly concurrency: number;
    readonly ratePerSec: number;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parse and validate the environment; throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT)
    throw new ConfigError('invalid configuration: METRICS_PORT: must differ from PORT');
  const demo = e.FHIR_BASE_URL === undefined;
  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const fhirDefinitionsBase = (e.FHIR_DEFINITIONS_BASE ?? `${publicBaseUrl}/fhir`).replace(/\/+$/, '');
  // The one process-wide setting outside Config: the service, its workers and every CLI command that
  // loads the config write the same canonical URLs.
  setDefinitionsBase(fhirDefinitionsBase);
  return {
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl,
    fhirDefinitionsBase,
    demo,
    fhir: {
      baseUrl: (e.FHIR_BASE_URL ?? `${publicBaseUrl}/fhir`).replace(/\/+$/, ''),
      ...(e.FHIR_TOKEN ? { token: e.FHIR_TOKEN } : {}),
      timeoutMs: e.FHIR_TIMEOUT_MS,
      maxResponseBytes: e.FHIR_MAX_RESPONSE_BYTES,
      // Demo mode: the embedded server at PUBLIC_BASE_URL/fhir; production: FHIR_BASE_URL's origin.
      serverAllowlist: e.FHIR_SERVER_ALLOWLIST ?? [new URL(e.FHIR_BASE_URL ?? publicBaseUrl).origin],
    },
    devFhir: {
      ...(e.DEV_FHIR_TOKENS ? { tokens: e.DEV_FHIR_TOKENS } : {}),
      ...(e.DEV_FHIR_SNAPSHOT ? { snapshot: e.DEV_FHIR_SNAPSHOT } : {}),
      ...(e.DEV_FHIR_ADMIN_TOKEN ? { adminToken: e.DEV_FHIR_ADMIN_TOKEN } : {}),
      demoData: e.DEMO_DATA ?? demo,
      corsOrigins: !e.FHIR_CORS_ORIGINS || e.FHIR_CORS_ORIGINS.includes('*') ? '*' : e.FHIR_CORS_ORIGINS,
    },
    modelsDir: e.MODELS_DIR,
    provider: e.ORT_PROVIDER,
    analysisWorkers: e.ANALYSIS_WORKERS,
    analysisBatch: e.ANALYSIS_BATCH,
    auth: {
      issuers: e.CDS_TRUSTED_ISSUERS ?? [],
      jkuAllowList: e.CDS_JKU_ALLOWLIST ?? [],
      trustDevIssuer: e.CDS_TRUST_DEV_ISSUER ?? demo,
      devKeyPath: e.DEV_KEY_PATH,
    },
    hook: {
      budgetMs: e.HOOK_BUDGET_MS,
      maxEcgs: e.HOOK_MAX_ECGS,
      policy: e.CARD_POLICY ?? {},
      timeZone: e.DISPLAY_TIME_ZONE,
    },
    modelCardUrl: e.MODEL_CARD_URL ?? `${publicBaseUrl}/models/MODEL_CARD.md`,
    maxBodyBytes: e.MAX_BODY_BYTES,
    logLevel: e.LOG_LEVEL,
    subscriptions: {
      ...(e.SUBSCRIPTION_SECRET ? { secret: e.SUBSCRIPTION_SECRET } : {}),
      ensureAtStart: e.SUBSCRIPTIONS_ENSURE ?? demo,
    },
    ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL } : {}),
    redisPrefix: e.REDIS_PREFIX,
    metrics: {
      ...(e.METRICS_PORT !== undefined ? { port: e.METRICS_PORT } : {}),
      host: e.METRICS_HOST,
      ...(e.METRICS_TOKEN ? { token: e.METRICS_TOKEN } : {}),
    },
    nightly: {
      enabled: e.NIGHTLY_ENABLED,
      cron: e.NIGHTLY_CRON,
      timezone: e.NIGHTLY_TIMEZONE,
      concurrency: e.BATCH_CONCURRENCY,
      ratePerSec: e.BATCH_RATE_PER_SEC,
    },
  };
}

/** The config with secrets replaced, for the start-up log. */
export function redactedConfig(c: Config): unknown {
  return {
    ...c,
    fhir: { ...c.fhir, token: c.fhir.token ? '[redacted]' : undefined },
    devFhir: {
      ...c.devFhir,
      tokens: c.devFhir.tokens ? '[redacted]' : undefined,
      adminToken: c.devFhir.adminToken ? '[redacted]' : undefined,
    },
    subscriptions: { ...c.subscriptions, secret: c.subscriptions.secret ? '[redacted]' : undefined },
    redisUrl: c.redisUrl ? c.redisUrl.replace(/\/\/[^@]*@/, '//[redacted]@') : undefined,
    metrics: { ...c.metrics, token: c.metrics.token ? '[redacted]' : undefined },
  };
}
