/**
 * `ecg-cds eval findings --db <dir> --records <DS1|DS2|all|list> [--json] [--models <dir>] [--provider cpu|cuda]`
 *
 * Runs the whole pipeline, analyze(), on each whole record and compares its findings with reference
 * findings, record by record (src/inference/eval/reference-findings.ts; the rules are tabled in
 * docs/findings-evaluation.md). The database is PTB-XL when `ptbxl_database.csv` lies in --db (records
 * by ecg_id), else a WFDB folder with `.atr` reference annotations (MIT-BIH, SVDB).
 */
import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RECORD_SETS } from '../inference/analysis/aami.js';
import type { FindingCode, UnableToAnalyse } from '../inference/analysis/types.js';
import { analyze } from '../inference/analyze.js';
import type { Ecg } from '../inference/ecg.js';
import {
  type FindingScore,
  ptbxlReferenceFindings,
  SCORED_CODES,
  type ScoredCode,
  scoreFindings,
  wfdbReferenceFindings,
} from '../inference/eval/reference-findings.js';
import { RecordReadError } from '../inference/io/errors.js';
import { parsePtbxlDatabase } from '../inference/io/ptbxl.js';
import { readAnnotations, readWfdbRecord } from '../inference/io/record.js';
import { type Engine, type ExecutionProvider, loadEngine } from '../inference/model/index.js';
import { progressBar } from './progress.js';
import { resolveRecords } from './records.js';

export interface FindingsRecordReport {
  record: string;
  /** Reference finding codes, sorted. */
  reference: ScoredCode[];
  /** Finding codes analyze() reported (each once, sorted); [] when it was unable to analyse. */
  found: FindingCode[];
  status: 'ok' | 'unable';
  /** Why analyze() was unable to analyse (only when status is 'unable'). */
  unable?: UnableToAnalyse['code'];
}

export interface EvalFindingsReport {
  records: FindingsRecordReport[];
  findings: Record<ScoredCode, FindingScore>;
  falsePer100: number;
  /** Records analyze() was unable to analyse (their reference findings count as false negatives). */
  unable: number;
}

/** One record to evaluate: its name in the report and a loader for its signal and reference findings. */
export interface FindingsSource {
  readonly name: string;
  load(): Promise<{ ecg: Ecg; reference: ScoredCode[] }>;
}

export const PTBXL_DATABASE = 'ptbxl_database.csv';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** WFDB records with `.atr` annotations; `spec` as for the other eval commands (DS1, DS2, all, list). */
async function wfdbSources(db: string, spec: string): Promise<FindingsSource[]> {
  const names = await resolveRecords(db, spec, RECORD_SETS);
  return names.map((name) => ({
    name,
    async load() {
      const path = join(db, name);
      // Header and signals first, then annotations: a missing record is reported by its .hea.
      const { ecg } = await readWfdbRecord(path);
      const anns = await readAnnotations(path, 'atr');
      const nSamples = ecg.leads[0]?.samples.length ?? 0;
      return { ecg, reference: wfdbReferenceFindings(anns, ecg.fs, nSamples) };
    },
  }));
}

/**
 * PTB-XL records by ecg_id: `all` = the rows whose 500 Hz record is present, else a comma list of ids.
 * A record is looked up at its `filename_hr` path, else beside the CSV (the committed test fixtures).
 */
async function ptbxlSources(db: string, spec: string): Promise<FindingsSource[]> {
  const csv = join(db, PTBXL_DATABASE);
  const rows = parsePtbxlDatabase(await readFile(csv, 'utf8'), csv);
  const located = await Promise.all(
    rows.map(async (row) => {
      const candidates = [join(db, row.filenameHr), join(db, basename(row.filenameHr))];
      const present = await Promise.all(candidates.map((c) => exists(`${c}.hea`)));
      return { row, path: candidates.find((_, i) => present[i]) };
    }),
  );
  let chosen: typeof located;
  if (spec === 'all') chosen = located.filter((r) => r.path !== undefined);
  else {
    const byId = new Map(located.map((r) => [r.row.ecgId, r]));
    chosen = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        const r = /^\d+$/.test(s) ? byId.get(Number(s)) : undefined;
        if (!r) throw new RecordReadError(csv, `no row with ecg_id "${s}"`);
        return r;
      });
  }
  return chosen.map(({ row, path }) => ({
    // The name of the record files without "_hr", e.g. "00351": the ecg_id zero-padded as PTB-XL writes it.
    name: basename(row.filenameHr).replace(/_hr$/, ''),
    async load() {
      const { ecg } = await readWfdbRecord(path ?? join(db, row.filenameHr));
      return { ecg, reference: ptbxlReferenceFindings(row.scpCodes) };
    },
  }));
}

/**
 * The records `spec` selects in `db`: PTB-XL when `ptbxl_database.csv` is there, else WFDB. Resolved before
 * any model loads, so a bad --records fails at once.
 */
export async function findingsSources(db: string, spec: string): Promise<FindingsSource[]> {
  const sources = (await exists(join(db, PTBXL_DATABASE)))
    ? await ptbxlSources(db, spec)
    : await wfdbSources(db, spec);
  if (sources.length === 0) throw new RecordReadError(db, `no records selected by "${spec}"`);
  return sources;
}

/** Analyse every record and score its findings (see the file comment). */
export async function evaluateFindings(
  sources: readonly FindingsSource[],
  engine: Engine,
): Promise<EvalFindingsReport> {
  const records: FindingsRecordReport[] = [];
  const bar = progressBar(sources.length, 'eval findings');
  try {
    for (const source of sources) {
      const { ecg, reference } = await source.load();
      const result = await analyze(ecg, engine);
      records.push(
        result.status === 'ok'
          ? {
              record: source.name,
              reference,
              found: [...new Set(result.findings.map((f) => f.code))].sort(),
              status: 'ok',
            }
          : { record: source.name, reference, found: [], status: 'unable', unable: result.code },
      );
      bar.tick(source.name);
    }
  } finally {
    bar.stop();
  }
  return {
    records,
    ...scoreFindings(records),
    unable: records.filter((r) => r.status === 'unable').length,
  };
}

/** A readable report: reference and found codes per record, then per-code counts, false findings, unable. */
export function formatFindingsReport(r: EvalFindingsReport): string {
  const pct = (v: number) => (100 * v).toFixed(1).padStart(7);
  const n = (v: number) => String(v).padStart(5);
  const width = Math.max(6, ...r.records.map((x) => x.record.length));
  const lines = [`${'record'.padEnd(width)}  reference → found`];
  for (const x of r.records) {
    const found = x.status === 'ok' ? x.found.join(' ') || '-' : `unable (${x.unable})`;
    lines.push(`${x.record.padEnd(width)}  ${x.reference.join(' ') || '-'} → ${found}`);
  }
  lines.push('', `${'finding'.padEnd(33)}   TP   FN   FP     Se%   PPV%`);
  for (const code of SCORED_CODES) {
    const c = r.findings[code];
    lines.push(`${code.padEnd(33)}${n(c.tp)}${n(c.fn)}${n(c.fp)} ${pct(c.se)}${pct(c.ppv)}`);
  }
  lines.push(
    '',
    `records ${r.records.length}; false findings per 100 records ${r.falsePer100.toFixed(1)}; unable to analyse ${r.unable}`,
    '(atrial-fibrillation is the product\'s "AF or flutter" finding, scored on both AF rows; sinus-rhythm and other-rhythm are not scored)',
  );
  return `${lines.join('\n')}\n`;
}

export async function runEvalFindings(opts: {
  db: string;
  records: string;
  json: boolean;
  models: string;
  provider: ExecutionProvider;
}): Promise<number> {
  const sources = await findingsSources(opts.db, opts.records);
  const engine = await loadEngine(opts.models, {
    provider: opts.provider,
    warn: (m) => process.stderr.write(`ecg-cds: warning: ${m}\n`),
  });
  try {
    const report = await evaluateFindings(sources, engine);
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatFindingsReport(report));
  } finally {
    await engine.dispose();
  }
  return 0;
}
