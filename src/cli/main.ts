/**
 * `ecg-cds` command line: thin commands over the parts of the service.
 * Usage: ecg-cds <command> [subcommand] [options]; `ecg-cds help` lists them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ExecutionProvider, loadRole } from '../inference/model/index.js';
import { runDatasetBeats } from './dataset.js';
import { runDatasetRhythm } from './dataset-rhythm.js';
import { runEvalAe } from './eval-ae.js';
import { evaluateBeats, formatBeatsReport } from './eval-beats.js';
import { runEvalFindings } from './eval-findings.js';
import { runEvalQrs } from './eval-qrs.js';
import { evaluateRhythm, formatRhythmReport } from './eval-rhythm.js';

/** The shipped models folder of this checkout. */
export const DEFAULT_MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

const USAGE = `usage: ecg-cds <command> [options]

commands:
  eval qrs --db <wfdb-dir> [--records all|100,101,...] [--json] [--out <dir>]
      score the QRS detector against reference beat annotations (EC57-style)
  eval beats --db <wfdb-dir> --records <DS1|DS2|all|list> [--json] [--out <dir>] [--metrics <file>]
      score the shipped beat classifier (own QRS detector, shipped ONNX model), AAMI classes
  eval rhythm --db <dir with REFERENCE-v3.csv or REFERENCE.csv> [--records all|list|@file] [--json] [--metrics <file>]
      score the shipped rhythm model (N, A, O, ~) with the PhysioNet/CinC 2017 metric
  eval ae --db <wfdb-dir> [--records all|DS2|list] [--json] [--metrics <file>]
      fraction of 2.048-s segments the quality autoencoder flags unreliable (training/README.md)
  eval findings --db <wfdb-dir or PTB-XL dir> --records <DS1|DS2|all|list> [--json]
      run analyze() on whole records and score its findings against reference findings
      (docs/findings-evaluation.md); PTB-XL when ptbxl_database.csv is in --db (records by ecg_id)
  dataset beats --db <wfdb-dir> --records <DS1|DS2|all|list> --out <dir> [--peaks detected|reference]
                [--beat-leads primary|all] [--labels reference|none]
      export beat-model inputs and labels as .npy for training (all: every lead's window per beat)
  dataset rhythm --db <dir> [--records all|DS1|DS2|list] [--stride <s>] --out <dir>
      export rhythm-model inputs (10-s windows + RR/AF features) and labels as .npy for training
  dev-token --aud <url> [--key <path>] [--sub <id>] [--ttl <s>]
      print a CDS Hooks client JWT for <url> (the exact endpoint called), signed by the local dev key
      (created at .ecg-cds/dev-key.json on first use); trusted only by a service in demo/dev mode
  analyze <record-path | observation.json> [--json] [--html <file>]
      analyse a local ECG (WFDB record or FHIR ECG Observation JSON) with the shipped models and print
      its findings; --json prints the analysis (no samples), --html writes one self-contained page
      (inline SVG on ECG paper, findings and evidence beside it; opens offline)
  import <record-path> --patient <id> [--fhir <url>] [--token <t>]
      encode a WFDB/CinC record as an ECG Observation; create it on --fhir (conditional create on the
      record name) and print its id, or print the Observation JSON when --fhir is absent
  worker
      consume the analysis queue on REDIS_URL (BullMQ) against FHIR_BASE_URL until SIGTERM
  subscriptions ensure [--rotate]
      create or update the rest-hook (and, where supported, backport topic) Subscription on
      FHIR_BASE_URL, notifying PUBLIC_BASE_URL/fhir/notify with a per-Subscription token derived from
      SUBSCRIPTION_SECRET; --rotate revokes the current tokens and writes new ones
  backfill --since <date> [--until <date>] [--dry-run]
      run the nightly back-analysis now over ECGs updated in [since, until) against FHIR_BASE_URL,
      with a progress bar; --dry-run lists what would be analysed and writes nothing
  dlq list [--json]
      the dead-lettered ECGs (analysis jobs that failed every attempt) with their rounds, attempts and
      last error; in Redis with REDIS_URL, else on FHIR_BASE_URL (demo: PUBLIC_BASE_URL/fhir)
  dlq retry <job-id>... | --all [--json]
      analyse those dead letters again now against FHIR_BASE_URL (whatever their rounds) and report
      each outcome; exit code 1 if any still fails
  help
      this text

options for commands that run models: --models <dir> (default: the shipped models), --provider cpu|cuda
`;

/** Error the user can fix by changing the command line: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const modelOptions = {
  models: { type: 'string', default: DEFAULT_MODELS_DIR },
  provider: { type: 'string', default: 'cpu' },
} as const;

function provider(p: string): ExecutionProvider {
  if (p !== 'cpu' && p !== 'cuda') throw new UsageError(`--provider must be cpu or cuda, got ${p}`);
  return p;
}

const warn = (m: string) => process.stderr.write(`ecg-cds: warning: ${m}\n`);

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'eval' && sub === 'qrs') {
    const { values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        records: { type: 'string', default: 'all' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
      },
      strict: true,
    });
    if (!values.db) throw new UsageError('eval qrs: --db <wfdb-dir> is required');
    return runEvalQrs({ db: values.db, records: values.records, json: values.json, out: values.out });
  }
  if (command === 'eval' && (sub === 'beats' || sub === 'rhythm')) {
    const { values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        records: { type: 'string', default: 'all' },
        json: { type: 'boolean', default: false },
        metrics: { type: 'string' },
        ...(sub === 'beats' ? { out: { type: 'string' } } : {}),
        ...modelOptions,
      },
      strict: true,
    });
    if (!values.db) throw new UsageError(`eval ${sub}: --db <dir> is required`);
    const db = values.db;
    const out = typeof values.out === 'string' ? values.out : undefined;
    const model = await loadRole(values.models, sub === 'beats' ? 'beat' : 'rhythm', {
      provider: provider(values.provider),
      warn,
    });
    try {
      let json: unknown;
      let text: string;
      let metrics: object;
      if (sub === 'beats') {
        const report = await evaluateBeats({ db, records: values.records, out, model });
        // The JSON shape is the exact interface; calibration goes to the table and the metrics file.
        const { calibration, ...exact } = report;
        const { records: _perRecord, ...summary } = exact;
        json = exact;
        text = formatBeatsReport(report);
        metrics = { ...summary, calibration };
      } else {
        const report = await evaluateRhythm({ db, records: values.records, model });
        json = report;
        text = formatRhythmReport(report);
        metrics = report;
      }
      process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : text);
      if (values.metrics) {
        const { id, version } = model.manifest;
        await mergeMetrics(values.metrics, `${sub}:${values.records}`, {
          model: { id, version, provider: model.provider },
          ...metrics,
        });
      }
    } finally {
      await model.dispose();
    }
    return 0;
  }
  if (command === 'dataset' && sub === 'beats') {
    const { values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        records: { type: 'string', default: 'all' },
        out: { type: 'string' },
        peaks: { type: 'string', default: 'detected' },
        'beat-leads': { type: 'string', default: 'primary' },
        labels: { type: 'string', default: 'reference' },
      },
      strict: true,
    });
    if (!values.db || !values.out)
      throw new UsageError('dataset beats: --db <wfdb-dir> and --out <dir> are required');
    return runDatasetBeats({
      db: values.db,
      records: values.records,
      out: values.out,
      peaks: values.peaks as 'detected' | 'reference',
      beatLeads: values['beat-leads'] as 'primary' | 'all',
      labels: values.labels as 'reference' | 'none',
    });
  }
  if (command === 'eval' && sub === 'ae') {
    const { values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        records: { type: 'string', default: 'all' },
        json: { type: 'boolean', default: false },
        metrics: { type: 'string' },
        ...modelOptions,
      },
      strict: true,
    });
    if (!values.db) throw new UsageError('eval ae: --db <wfdb-dir> is required');
    return runEvalAe({
      db: values.db,
      records: values.records,
      models: values.models,
      provider: provider(values.provider),
      json: values.json,
      ...(values.metrics ? { metrics: values.metrics } : {}),
    });
  }
  if (command === 'eval' && sub === 'findings') {
    const { values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        records: { type: 'string', default: 'all' },
        json: { type: 'boolean', default: false },
        ...modelOptions,
      },
      strict: true,
    });
    if (!values.db) throw new UsageError('eval findings: --db <dir> is required');
    return runEvalFindings({
      db: values.db,
      records: values.records,
      json: values.json,
      models: values.models,
      provider: provider(values.provider),
    });
  }
  if (command === 'dataset' && sub === 'rhythm') {
    const { values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        records: { type: 'string', default: 'all' },
        out: { type: 'string' },
        stride: { type: 'string' },
      },
      strict: true,
    });
    if (!values.db || !values.out)
      throw new UsageError('dataset rhythm: --db <dir> and --out <dir> are required');
    const strideS = values.stride === undefined ? undefined : Number(values.stride);
    return runDatasetRhythm({
      db: values.db,
      records: values.records,
      out: values.out,
      ...(strideS === undefined ? {} : { strideS }),
    });
  }
  if (command === 'dev-token') {
    const { values } = parseArgs({
      args: argv.slice(1),
      options: {
        aud: { type: 'string' },
        key: { type: 'string' },
        sub: { type: 'string' },
        ttl: { type: 'string' },
      },
      strict: true,
    });
    if (!values.aud || !URL.canParse(values.aud))
      throw new UsageError('dev-token: --aud <url> (the absolute URL of the CDS endpoint) is required');
    const ttlSec = values.ttl === undefined ? undefined : Number(values.ttl);
    if (ttlSec !== undefined && !(Number.isInteger(ttlSec) && ttlSec > 0))
      throw new UsageError('dev-token: --ttl must be a positive whole number of seconds');
    // Loaded here so the other commands do not pay for jose.
    const { DEFAULT_DEV_KEY_PATH, loadOrCreateDevKey, signDevToken } = await import(
      '../cds-hooks/dev-key.js'
    );
    const key = await loadOrCreateDevKey(resolve(values.key ?? DEFAULT_DEV_KEY_PATH)).catch((e: Error) => {
      throw e.name === 'DevKeyError' ? new UsageError(e.message) : e;
    });
    const token = await signDevToken(key, {
      aud: values.aud,
      ...(values.sub === undefined ? {} : { sub: values.sub }),
      ...(ttlSec === undefined ? {} : { ttlSec }),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  }
  if (command === 'analyze') {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      options: { json: { type: 'boolean', default: false }, html: { type: 'string' }, ...modelOptions },
      allowPositionals: true,
      strict: true,
    });
    const [input, ...extra] = positionals;
    if (!input || extra.length)
      throw new UsageError('analyze: one <record-path | observation.json> is required');
    const { runAnalyze } = await import('./analyze.js');
    return runAnalyze({
      input,
      json: values.json,
      ...(values.html === undefined ? {} : { html: values.html }),
      models: values.models,
      provider: provider(values.provider),
    });
  }
  if (command === 'import') {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      options: { patient: { type: 'string' }, fhir: { type: 'string' }, token: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const [recordPath, ...extra] = positionals;
    if (!recordPath || extra.length || !values.patient)
      throw new UsageError('import: <record-path> and --patient <id> are required');
    if (values.fhir !== undefined && !URL.canParse(values.fhir))
      throw new UsageError('import: --fhir must be an absolute URL (the FHIR base)');
    const { runImport } = await import('./import.js');
    return runImport({
      recordPath,
      patientId: values.patient,
      ...(values.fhir === undefined ? {} : { fhir: values.fhir }),
      ...(values.token === undefined ? {} : { token: values.token }),
    });
  }
  if (command === 'worker') {
    if (argv.length > 1)
      throw new UsageError('worker takes no arguments (configure it with env, e.g. REDIS_URL)');
    const { runWorker } = await import('./batch.js');
    return runWorker();
  }
  if (command === 'subscriptions' && sub === 'ensure') {
    const extra = argv.slice(2);
    if (extra.some((a) => a !== '--rotate')) throw new UsageError('subscriptions ensure takes only --rotate');
    const { runSubscriptionsEnsure } = await import('./subscriptions.js');
    return runSubscriptionsEnsure({ rotate: extra.includes('--rotate') });
  }
  if (command === 'backfill') {
    const { values } = parseArgs({
      args: argv.slice(1),
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!values.since) throw new UsageError('backfill: --since <date> is required');
    const { runBackfill } = await import('./batch.js');
    return runBackfill({
      since: values.since,
      ...(values.until === undefined ? {} : { until: values.until }),
      dryRun: values['dry-run'],
    });
  }
  if (command === 'dlq' && (sub === 'list' || sub === 'retry')) {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { json: { type: 'boolean', default: false }, all: { type: 'boolean', default: false } },
      allowPositionals: sub === 'retry',
      strict: true,
    });
    const { runDlqList, runDlqRetry } = await import('./dlq.js');
    if (sub === 'list') return runDlqList({ json: values.json });
    return runDlqRetry({ ids: positionals, all: values.all, json: values.json });
  }
  throw new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(' ')}\n\n${USAGE}`);
}

/** Merge one section into a metrics JSON file (models/metrics.json), keeping the other sections. */
async function mergeMetrics(file: string, key: string, section: unknown): Promise<void> {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    // a new file
  }
  current[key] = { ...(section as object), measuredAt: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(current, null, 2)}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error;
    const known =
      e instanceof UsageError ||
      e.name === 'UsageError' ||
      e.name === 'ConfigError' ||
      e.name === 'BulkExportError' ||
      e.name === 'RecordReadError' ||
      e.name === 'ModelLoadError' ||
      e.name === 'DecodeError' ||
      e.name === 'FhirRequestError' ||
      (e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      (e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
    process.stderr.write(`ecg-cds: ${known ? e.message : (e.stack ?? String(e))}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
