/**
 * `ecg-cds eval rhythm --db <dir with REFERENCE-v3.csv or REFERENCE.csv> [--records all|list|@file] [--json]`
 *
 * Scores the shipped rhythm model, through the shipped TypeScript pipeline, against record-level labels
 * N / A / O / ~ with the PhysioNet/CinC Challenge 2017 metric: F1x = 2·TPx / (row sum + column sum of x),
 * score = mean of F1 for N, A and O (the noisy class is scored but not averaged; Clifford et al. 2017).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { classifyRhythm } from '../inference/analysis/rhythm.js';
import { RHYTHM_CLASSES, type RhythmClass } from '../inference/analysis/rhythm-input.js';
import { primaryLead } from '../inference/ecg.js';
import { RecordReadError } from '../inference/io/errors.js';
import { readWfdbRecord } from '../inference/io/record.js';
import type { ModelSession } from '../inference/model/session.js';
import { progressBar } from './progress.js';

export interface EvalRhythmReport {
  n: number;
  f1: Record<RhythmClass, number>;
  score: number;
  confusion: Record<RhythmClass, Record<RhythmClass, number>>;
}

/** Labels from `REFERENCE-v3.csv` (preferred) or `REFERENCE.csv`: lines "record,label". */
export async function readReference(dir: string): Promise<Map<string, RhythmClass>> {
  for (const name of ['REFERENCE-v3.csv', 'REFERENCE.csv']) {
    let text: string;
    try {
      text = await readFile(join(dir, name), 'latin1');
    } catch {
      continue;
    }
    const out = new Map<string, RhythmClass>();
    for (const [i, line] of text.split(/\r?\n/).entries()) {
      if (!line.trim()) continue;
      const [rec, label] = line.split(',').map((s) => s.trim());
      if (!rec || !RHYTHM_CLASSES.includes(label as RhythmClass)) {
        throw new RecordReadError(join(dir, name), `line ${i + 1}: expected "record,N|A|O|~", got "${line}"`);
      }
      out.set(rec, label as RhythmClass);
    }
    return out;
  }
  throw new RecordReadError(dir, 'neither REFERENCE-v3.csv nor REFERENCE.csv found');
}

/** `all`, a comma list, or `@file` (a JSON array or whitespace-separated names). */
async function selectRecords(spec: string, reference: Map<string, RhythmClass>): Promise<string[]> {
  if (spec === 'all') return [...reference.keys()];
  if (spec.startsWith('@')) {
    const text = await readFile(spec.slice(1), 'utf8').catch((err) => {
      throw new RecordReadError(
        spec.slice(1),
        `cannot read record list (${(err as NodeJS.ErrnoException).code})`,
      );
    });
    const trimmed = text.trim();
    return trimmed.startsWith('[') ? (JSON.parse(trimmed) as string[]) : trimmed.split(/\s+/);
  }
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** F1 per class and the Challenge score from a confusion matrix (rows reference, columns predicted). */
export function challengeScore(
  confusion: EvalRhythmReport['confusion'],
): Pick<EvalRhythmReport, 'f1' | 'score'> {
  const f1 = {} as Record<RhythmClass, number>;
  for (const c of RHYTHM_CLASSES) {
    const row = RHYTHM_CLASSES.reduce((a, p) => a + confusion[c][p], 0);
    const col = RHYTHM_CLASSES.reduce((a, r) => a + confusion[r][c], 0);
    f1[c] = row + col > 0 ? (2 * confusion[c][c]) / (row + col) : 0;
  }
  return { f1, score: (f1.N + f1.A + f1.O) / 3 };
}

export async function evaluateRhythm(opts: {
  db: string;
  records: string;
  model: ModelSession;
}): Promise<EvalRhythmReport> {
  const reference = await readReference(opts.db);
  const names = await selectRecords(opts.records, reference);
  const confusion = Object.fromEntries(
    RHYTHM_CLASSES.map((r) => [r, Object.fromEntries(RHYTHM_CLASSES.map((p) => [p, 0]))]),
  ) as EvalRhythmReport['confusion'];
  const bar = progressBar(names.length, 'eval rhythm');
  try {
    for (const name of names) {
      const truth = reference.get(name);
      if (!truth) throw new RecordReadError(join(opts.db, name), 'record has no label in the reference file');
      const { ecg } = await readWfdbRecord(join(opts.db, name));
      const lead = primaryLead(ecg);
      const r = await classifyRhythm(
        opts.model,
        lead.samples,
        ecg.fs,
        lead.invalid ? { invalid: lead.invalid } : {},
      );
      confusion[truth][r.label]++;
      bar.tick(name);
    }
  } finally {
    bar.stop();
  }
  return { n: names.length, ...challengeScore(confusion), confusion };
}

export function formatRhythmReport(r: EvalRhythmReport): string {
  const lines = [`records ${r.n}`, `class    F1`];
  for (const c of RHYTHM_CLASSES) lines.push(`${c.padEnd(5)} ${r.f1[c].toFixed(3)}`);
  lines.push(
    `CinC 2017 score (mean F1 of N, A, O): ${r.score.toFixed(3)}`,
    '',
    'confusion (rows reference, columns predicted)',
  );
  lines.push(`     ${RHYTHM_CLASSES.map((c) => c.padStart(6)).join('')}`);
  for (const c of RHYTHM_CLASSES)
    lines.push(`${c.padEnd(5)}${RHYTHM_CLASSES.map((p) => String(r.confusion[c][p]).padStart(6)).join('')}`);
  return `${lines.join('\n')}\n`;
}
