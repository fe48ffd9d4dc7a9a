/**
 * Finding-level confidence calibration (issue #9 item 4): fits `models/finding-calibration.json`.
 *
 *   npx tsx training/calibration/fit-findings.ts [--data ../shared/data] [--out models/finding-calibration.json]
 *
 * What is calibrated: P(finding present on the ECG | the product reported it, raw score), one Platt map
 * p = σ(a·logit(score) + b) per finding code, on finding-level predictions from data the deciding model
 * never trained on:
 *  - rhythm findings (atrial fibrillation or flutter): the CinC 2017 validation part
 *    (training/rhythm/cinc-split.json; used only for the rhythm model's early stopping, never for its
 *    weights), reference = the record's CinC label A;
 *  - beat findings (VT / SVT runs, bigeminy, trigeminy, frequent PVCs / PACs): svdb-dev cut into
 *    5-minute excerpts (the beat model trained on MIT-BIH DS1 only), reference = `eval findings`' WFDB
 *    rules (src/inference/eval/reference-findings.ts) on the excerpt's annotations.
 * The reliability diagram is computed on cross-validated predictions: 5 folds grouped by record, each
 * fold's maps fitted on the other four. The shipped map is then fitted on all of it. DS2 and PTB-XL are
 * never read. Codes with fewer than MIN_REPORTED reported findings keep their raw score (capped).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyze } from '../../src/inference/analyze.js';
import { logit, type PlattMap } from '../../src/inference/analysis/calibration.js';
import type { FindingCode } from '../../src/inference/analysis/types.js';
import type { Ecg } from '../../src/inference/ecg.js';
import { wfdbReferenceFindings } from '../../src/inference/eval/reference-findings.js';
import { readAnnotations, readWfdbRecord } from '../../src/inference/io/record.js';
import { loadEngine } from '../../src/inference/model/engine.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data' },
    out: { type: 'string', default: 'models/finding-calibration.json' },
    models: { type: 'string', default: 'models' },
  },
});
const DATA = values.data!;
const EXCERPT_S = 300;
const FOLDS = 5;
const MIN_REPORTED = 10;
const BINS = 10;

interface Point {
  code: FindingCode;
  score: number;
  present: boolean;
  group: string;
}

const engine = await loadEngine(values.models!);
// Fitting uses raw scores: analyze() with no maps applies only the [0.01, 0.99] bounds.
const raw = { ...engine, findingCalibration: {} };
const points: Point[] = [];

// Rhythm: CinC 2017 validation records.
const split = JSON.parse(readFileSync('training/rhythm/cinc-split.json', 'utf8')) as { validation: string[] };
const reference = new Map(
  readFileSync(join(DATA, 'cinc2017', 'REFERENCE-v3.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.trim().split(',') as [string, string]),
);
let done = 0;
for (const name of split.validation) {
  const rec = await readWfdbRecord(join(DATA, 'cinc2017', name));
  const result = await analyze({ ...rec.ecg, sourceId: name }, raw);
  if (++done % 100 === 0) process.stderr.write(`cinc ${done}/${split.validation.length}\n`);
  if (result.status !== 'ok') continue;
  for (const f of result.findings)
    if (f.code === 'atrial-fibrillation')
      points.push({ code: f.code, score: f.confidence, present: reference.get(name) === 'A', group: name });
}

// Beats: svdb-dev 5-minute excerpts.
const svdb = join(DATA, 'svdb-dev');
const BEAT_CODES = new Set<FindingCode>([
  'ventricular-tachycardia-run',
  'supraventricular-tachycardia-run',
  'ventricular-bigeminy',
  'ventricular-trigeminy',
  'frequent-pvcs',
  'frequent-pacs',
]);
for (const name of readdirSync(svdb).filter((f) => f.endsWith('.hea')).map((f) => f.slice(0, -4)).sort()) {
  const rec = await readWfdbRecord(join(svdb, name));
  const anns = await readAnnotations(join(svdb, name));
  const { fs } = rec.ecg;
  const n = rec.ecg.leads[0]!.samples.length;
  const len = Math.round(EXCERPT_S * fs);
  for (let start = 0; start + len <= n; start += len) {
    const ecg: Ecg = {
      ...rec.ecg,
      sourceId: `${name}@${start}`,
      leads: rec.ecg.leads.map((l) => ({
        name: l.name,
        samples: l.samples.subarray(start, start + len),
        ...(l.invalid ? { invalid: l.invalid.subarray(start, start + len) } : {}),
      })),
    };
    const part = anns.filter((a) => a.sample >= start && a.sample < start + len).map((a) => ({ ...a, sample: a.sample - start }));
    const ref = new Set<string>(wfdbReferenceFindings(part, fs, len));
    const result = await analyze(ecg, raw);
    if (result.status !== 'ok') continue;
    for (const f of result.findings)
      if (BEAT_CODES.has(f.code)) points.push({ code: f.code, score: f.confidence, present: ref.has(f.code), group: name });
  }
  process.stderr.write(`svdb ${name}\n`);
}
await engine.dispose();

/** Platt scaling by Newton's method on the log loss, with a weak ridge toward the identity (a=1, b=0). */
function fitPlatt(ps: readonly Point[]): PlattMap {
  let a = 1;
  let b = 0;
  const ridge = 1;
  for (let it = 0; it < 100; it++) {
    let ga = ridge * (a - 1);
    let gb = ridge * b;
    let haa = ridge;
    let hab = 0;
    let hbb = ridge;
    for (const p of ps) {
      const x = logit(p.score);
      const q = 1 / (1 + Math.exp(-(a * x + b)));
      const r = q - (p.present ? 1 : 0);
      const w = q * (1 - q);
      ga += r * x;
      gb += r;
      haa += w * x * x;
      hab += w * x;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { a, b };
}

const platt = (m: PlattMap, s: number) => 1 / (1 + Math.exp(-(m.a * logit(s) + m.b)));

function reliabilityOf(pairs: readonly { p: number; y: boolean }[]) {
  const bins = Array.from({ length: BINS }, (_, i) => ({ from: i / BINS, to: (i + 1) / BINS, n: 0, meanPredicted: 0, observed: 0 }));
  for (const { p, y } of pairs) {
    const bin = bins[Math.min(BINS - 1, Math.floor(p * BINS))]!;
    bin.n++;
    bin.meanPredicted += p;
    bin.observed += y ? 1 : 0;
  }
  let ece = 0;
  for (const bin of bins)
    if (bin.n > 0) {
      bin.meanPredicted /= bin.n;
      bin.observed /= bin.n;
      ece += (bin.n / pairs.length) * Math.abs(bin.meanPredicted - bin.observed);
    }
  return { ece, bins: bins.filter((x) => x.n > 0) };
}

const maps: Record<string, PlattMap> = {};
const report: Record<string, unknown> = {};
for (const code of [...new Set(points.map((p) => p.code))].sort()) {
  const ps = points.filter((p) => p.code === code);
  const positives = ps.filter((p) => p.present).length;
  const entry: Record<string, unknown> = { reported: ps.length, present: positives };
  entry['rawScores'] = reliabilityOf(ps.map((p) => ({ p: p.score, y: p.present })));
  if (ps.length >= MIN_REPORTED && positives > 0 && positives < ps.length) {
    // Record-grouped folds: every record's points in one fold.
    const groups = [...new Set(ps.map((p) => p.group))].sort();
    const fold = new Map(groups.map((g, i) => [g, i % FOLDS]));
    const oof: { p: number; y: boolean }[] = [];
    for (let k = 0; k < FOLDS; k++) {
      const train = ps.filter((p) => fold.get(p.group) !== k);
      const test = ps.filter((p) => fold.get(p.group) === k);
      if (test.length === 0 || train.length === 0) continue;
      const m = fitPlatt(train);
      for (const p of test) oof.push({ p: platt(m, p.score), y: p.present });
    }
    entry['crossValidated'] = reliabilityOf(oof);
    maps[code] = fitPlatt(ps);
    entry['map'] = maps[code];
  } else entry['map'] = 'none (too few reported findings, or all one outcome): raw score kept';
  report[code] = entry;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {}
const out = {
  description:
    'Per-finding Platt maps p = sigmoid(a*logit(score)+b): P(finding present | reported). Fitted by training/calibration/fit-findings.ts.',
  command: 'npx tsx training/calibration/fit-findings.ts',
  commit,
  data: {
    rhythm: `cinc2017 validation part (${split.validation.length} records), REFERENCE-v3.csv sha256 ${sha(join(DATA, 'cinc2017', 'REFERENCE-v3.csv'))}`,
    beats: `svdb-dev, ${EXCERPT_S}-s excerpts`,
    models: Object.fromEntries(['beat', 'rhythm', 'quality'].map((r) => [r, `${engine[r as 'beat'].manifest.id}@${engine[r as 'beat'].manifest.version}`])),
  },
  maps,
  reliability: report,
};
writeFileSync(values.out!, `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(report, null, 1));
