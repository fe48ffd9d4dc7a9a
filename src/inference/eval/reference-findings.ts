/**
 * Reference findings of a whole record, and the record-level scoring of `ecg-cds eval findings`
 * (docs/findings-evaluation.md states every rule below as a table).
 *
 * WFDB records (MIT-BIH, SVDB): from the `.atr` beat labels and `+` rhythm annotations, applying the
 * product's own rules (runs.ts, rate.ts, findings.ts) to the reference beats, so that a disagreement is the
 * detector's and classifier's, not a difference of definitions. PTB-XL: from the `scp_codes` statements.
 */
import { AAMI_OF_SYMBOL, type AamiClass } from '../analysis/aami.js';
import { isFrequentEctopy, rateCategory } from '../analysis/findings.js';
import { rateAndIrregularity } from '../analysis/rate.js';
import { findPatterns, findRuns, TACHY_BPM } from '../analysis/runs.js';
import type { FindingCode } from '../analysis/types.js';
import type { Annotation } from '../io/wfdb-annotation.js';

/** Codes a reference can carry: the product's, plus atrial flutter, which the product reports as AF-or-flutter. */
export type ReferenceCode = FindingCode | 'atrial-flutter';

/** Codes scored as findings, in report order. 'sinus-rhythm' and 'other-rhythm' are not scored. */
export const SCORED_CODES = [
  'atrial-fibrillation',
  'atrial-flutter',
  'ventricular-tachycardia-run',
  'supraventricular-tachycardia-run',
  'ventricular-bigeminy',
  'ventricular-trigeminy',
  'frequent-pvcs',
  'frequent-pacs',
  'sinus-bradycardia',
  'sinus-tachycardia',
  'paced-rhythm',
] as const satisfies readonly ReferenceCode[];
export type ScoredCode = (typeof SCORED_CODES)[number];

/** Total seconds of `(AFIB`, `(AFL` or `(P` episodes that make the finding (a sustained episode). */
export const MIN_EPISODE_S = 30;
/** Share of reference beats that are paced (`/`) making a record paced without a `(P` annotation. */
export const PACED_BEAT_FRACTION = 0.5;

/** A stretch of one annotated rhythm, [start, end) in samples. */
export interface RhythmEpisode {
  /** The rhythm as annotated, e.g. "(AFIB". */
  readonly rhythm: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Rhythm episodes: each `+` annotation whose aux string starts with "(" opens an episode that lasts to the
 * next one, the last to the end of the record. Time before the first rhythm annotation has no rhythm.
 */
export function rhythmEpisodes(anns: readonly Annotation[], nSamples: number): RhythmEpisode[] {
  const changes = anns
    .filter((a) => a.symbol === '+')
    .map((a) => ({ sample: a.sample, rhythm: a.aux.replace(/\0/g, '').trim() }))
    .filter((c) => c.rhythm.startsWith('('));
  return changes.map((c, i) => ({
    rhythm: c.rhythm,
    start: c.sample,
    end: Math.max(c.sample, i + 1 < changes.length ? changes[i + 1]!.sample : nSamples),
  }));
}

/** Total seconds per annotated rhythm. */
export function rhythmSeconds(episodes: readonly RhythmEpisode[], fs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of episodes) out.set(e.rhythm, (out.get(e.rhythm) ?? 0) + (e.end - e.start) / fs);
  return out;
}

/** The rhythm with the longest total time, or undefined when the record has no rhythm annotations. */
export function dominantRhythm(seconds: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  for (const [rhythm, s] of seconds) if (best === undefined || s > seconds.get(best)!) best = rhythm;
  return best;
}

/**
 * Reference findings of a whole WFDB record from its `.atr` annotations (`nSamples` samples at `fs` Hz).
 * Beat rules use the beats with an AAMI class (EC57 table 1), in time order, as the product's labels.
 */
export function wfdbReferenceFindings(
  anns: readonly Annotation[],
  fs: number,
  nSamples: number,
): ScoredCode[] {
  const beats = anns.filter((a) => AAMI_OF_SYMBOL[a.symbol] !== undefined);
  const labels: AamiClass[] = beats.map((a) => AAMI_OF_SYMBOL[a.symbol]!);
  const samples = beats.map((a) => a.sample);
  const episodes = rhythmEpisodes(anns, nSamples);
  const seconds = rhythmSeconds(episodes, fs);
  const annotated = (rhythm: string) => seconds.has(rhythm);
  const sustained = (rhythm: string) => (seconds.get(rhythm) ?? 0) >= MIN_EPISODE_S;

  const out = new Set<ScoredCode>();
  if (sustained('(AFIB')) out.add('atrial-fibrillation');
  if (sustained('(AFL')) out.add('atrial-flutter');

  // The product's run rule exactly: a run of ≥ 3 is a tachycardia finding only above TACHY_BPM
  // (deriveFindings), so a slow V run (idioventricular) is a VT run only when annotated `(VT`.
  const runs = findRuns(labels, samples, fs).filter((r) => r.rateBpm > TACHY_BPM);
  if (annotated('(VT') || runs.some((r) => r.label === 'V')) out.add('ventricular-tachycardia-run');
  if (annotated('(SVTA') || runs.some((r) => r.label === 'S')) out.add('supraventricular-tachycardia-run');

  const patterns = findPatterns(labels);
  if (annotated('(B') || patterns.some((p) => p.kind === 'bigeminy')) out.add('ventricular-bigeminy');
  if (annotated('(T') || patterns.some((p) => p.kind === 'trigeminy')) out.add('ventricular-trigeminy');

  const durationSeconds = nSamples / fs;
  const count = (c: AamiClass) => labels.filter((l) => l === c).length;
  if (isFrequentEctopy(count('V'), labels.length, durationSeconds)) out.add('frequent-pvcs');
  if (isFrequentEctopy(count('S'), labels.length, durationSeconds)) out.add('frequent-pacs');

  // Sinus brady-/tachycardia only in a record that is mostly sinus, as the product calls the rate only
  // when its rhythm model says sinus.
  if (dominantRhythm(seconds) === '(N') {
    const { heartRateBpm, rrCv } = rateAndIrregularity(samples, fs);
    const category = rateCategory(heartRateBpm, rrCv);
    if (category === 'brady') out.add('sinus-bradycardia');
    if (category === 'tachy') out.add('sinus-tachycardia');
  }

  const paced = beats.filter((a) => a.symbol === '/').length;
  if (sustained('(P') || (beats.length > 0 && paced >= PACED_BEAT_FRACTION * beats.length))
    out.add('paced-rhythm');
  return sortCodes(out);
}

/** PTB-XL SCP-ECG statement → reference finding (statements not listed here make no scored finding). */
export const SCP_FINDINGS: Readonly<Record<string, ScoredCode>> = {
  AFIB: 'atrial-fibrillation',
  AFLT: 'atrial-flutter',
  STACH: 'sinus-tachycardia',
  SBRAD: 'sinus-bradycardia',
  PVC: 'frequent-pvcs',
  PAC: 'frequent-pacs',
  BIGU: 'ventricular-bigeminy',
  TRIGU: 'ventricular-trigeminy',
  PACE: 'paced-rhythm',
};

/**
 * PTB-XL `scp_codes`, a Python dict literal such as "{'NORM': 100.0, 'SR': 0.0}", → statement → likelihood.
 * Likelihood 0 means "unknown", not absent (PTB-XL, Wagner et al. 2020, section "Methods").
 */
export function parseScpCodes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/'([^']+)'\s*:\s*(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)/g))
    out[m[1]!] = Number(m[2]);
  return out;
}

/** Reference findings of a PTB-XL record: every mapped statement present, at any likelihood. */
export function ptbxlReferenceFindings(scpCodes: string): ScoredCode[] {
  const out = new Set<ScoredCode>();
  for (const statement of Object.keys(parseScpCodes(scpCodes))) {
    const code = SCP_FINDINGS[statement];
    if (code) out.add(code);
  }
  return sortCodes(out);
}

/** Record-level counts of one finding code; se = tp/(tp+fn), ppv = tp/(tp+fp), 0 when the denominator is 0. */
export interface FindingScore {
  tp: number;
  fn: number;
  fp: number;
  se: number;
  ppv: number;
}

export interface FindingsScore {
  findings: Record<ScoredCode, FindingScore>;
  /** Scored findings reported but absent from the reference, per 100 records. */
  falsePer100: number;
}

/**
 * Score found against reference codes over records. The product's 'atrial-fibrillation' means "AF or
 * flutter": it is a true positive of the AF row on an AF record and of the flutter row on a flutter record,
 * and a false positive only where the reference has neither; the flutter row has no false positives.
 * Codes outside {@link SCORED_CODES} (sinus-rhythm, other-rhythm) are ignored.
 */
export function scoreFindings(
  records: readonly { readonly reference: readonly string[]; readonly found: readonly string[] }[],
): FindingsScore {
  const counts = Object.fromEntries(SCORED_CODES.map((c) => [c, { tp: 0, fn: 0, fp: 0 }])) as Record<
    ScoredCode,
    { tp: number; fn: number; fp: number }
  >;
  for (const r of records) {
    const ref = new Set(r.reference);
    const found = new Set(r.found);
    for (const code of SCORED_CODES) {
      // Both AF rows are scored against the one AF-or-flutter finding.
      const isFound = found.has(code === 'atrial-flutter' ? 'atrial-fibrillation' : code);
      const isRef = ref.has(code);
      const c = counts[code];
      if (isFound && isRef) c.tp++;
      else if (isRef) c.fn++;
      else if (isFound && code !== 'atrial-flutter') {
        if (!(code === 'atrial-fibrillation' && ref.has('atrial-flutter'))) c.fp++;
      }
    }
  }
  const findings = {} as Record<ScoredCode, FindingScore>;
  let falseFindings = 0;
  for (const code of SCORED_CODES) {
    const { tp, fn, fp } = counts[code];
    falseFindings += fp;
    findings[code] = {
      tp,
      fn,
      fp,
      se: tp + fn > 0 ? tp / (tp + fn) : 0,
      ppv: tp + fp > 0 ? tp / (tp + fp) : 0,
    };
  }
  return { findings, falsePer100: records.length ? (100 * falseFindings) / records.length : 0 };
}

function sortCodes(codes: Iterable<ScoredCode>): ScoredCode[] {
  return [...codes].sort();
}
