/**
 * From beats, runs and rhythm to findings: each with a confidence, evidence sentences and saliency spans.
 *
 * Thresholds and their sources:
 *  - sinus bradycardia < 60 bpm, tachycardia > 100 bpm (AHA/ACCF/HRS recommendations for the
 *    standardization and interpretation of the ECG, part II, Mason et al., Circulation 115:1325, 2007);
 *  - "frequent" ectopy: at least 2 ectopic beats, and a burden of ≥ 5 % of readable beats, or ≥ 30 per hour
 *    on recordings of an hour or more (Lown grading, Lown & Wolf, Circulation 44:130, 1971, is defined on
 *    long Holter recordings; on short strips a burden criterion is used instead, set at half the 10 %
 *    burden linked to PVC-induced cardiomyopathy, Baman et al., Heart Rhythm 7:865-869, 2010). Sporadic
 *    ectopic beats stay in the counts without becoming a finding.
 */
import type { AamiClass } from './aami.js';
import { type AfEpisodes, afEpisodes, episodesOf } from './episodes.js';
import { countCouplets, type PatternEpisode, TACHY_BPM } from './runs.js';
import type { Beat, BeatRun, Finding, RhythmClass, RhythmWindow, Span } from './types.js';

export const BRADY_BPM = 60;
/** RR coefficient of variation below which a rhythm counts as regular (sinus RR CV is typically < 0.1). */
export const REGULAR_RR_CV = 0.15;
export const FREQUENT_PER_HOUR = 30;
/** Share of normally conducted (N) beats above which a regular rhythm is read as sinus-driven. */
export const SINUS_NORMAL_SHARE = 0.9;
export const FREQUENT_BURDEN = 0.05;
/** Seconds of waveform shown around a beat a finding rests on. */
const BEAT_SPAN_S = 0.4;
/** Most saliency spans kept per finding (strongest first). */
const MAX_SPANS = 5;

export interface FindingInputs {
  readonly beats: readonly Beat[];
  readonly runs: readonly BeatRun[];
  readonly patterns: readonly PatternEpisode[];
  readonly rhythm: {
    readonly label: RhythmClass;
    readonly probability: number;
    readonly windows: readonly RhythmWindow[];
  };
  readonly heartRateBpm: number | null;
  readonly rrCv: number | null;
  readonly durationSeconds: number;
  /** AF (or flutter) episodes; computed from `rhythm.windows` when absent. */
  readonly af?: AfEpisodes;
  /** True when too little of the record is reliable for beat-level findings (runs, patterns, ectopy). */
  readonly withholdBeatFindings?: boolean;
}

/** "hh:mm:ss" of a time in seconds, as the evidence sentences show it. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [h, m, s % 60].map((v) => String(v).padStart(2, '0')).join(':');
}

/**
 * The product's burden rule for "frequent" ectopy (see the header): at least 2 ectopic beats, and ≥ 5 % of
 * readable beats, or ≥ 30 per hour on recordings of an hour or more. `eval findings` applies the same rule
 * to the reference labels.
 */
export function isFrequentEctopy(ectopic: number, readableBeats: number, durationSeconds: number): boolean {
  const perHourRule = durationSeconds >= 3600 && (ectopic * 3600) / durationSeconds >= FREQUENT_PER_HOUR;
  const burdenRule = ectopic >= FREQUENT_BURDEN * readableBeats;
  return ectopic >= 2 && (perHourRule || burdenRule);
}

/**
 * The product's rate rule: a regular rhythm (RR coefficient of variation < {@link REGULAR_RR_CV}) below
 * {@link BRADY_BPM} is bradycardia, above {@link TACHY_BPM} tachycardia; irregular rhythms get no rate call.
 */
export function rateCategory(heartRateBpm: number | null, rrCv: number | null): 'brady' | 'tachy' | null {
  if (heartRateBpm === null || rrCv === null || !(rrCv < REGULAR_RR_CV)) return null;
  if (heartRateBpm < BRADY_BPM) return 'brady';
  if (heartRateBpm > TACHY_BPM) return 'tachy';
  return null;
}

export function deriveFindings(x: FindingInputs): Finding[] {
  const out: Finding[] = [];
  const { beats, rhythm } = x;
  const labels = beats.map((b) => (b.reliable ? b.label : 'Q'));
  const reliable = beats.filter((b) => b.reliable);
  const rate =
    x.heartRateBpm === null ? 'heart rate unknown' : `heart rate ${Math.round(x.heartRateBpm)} bpm`;
  const irregularity = x.rrCv === null ? undefined : `RR coefficient of variation ${x.rrCv.toFixed(2)}`;
  const windowsWith = (c: RhythmClass) =>
    x.rhythm.windows.filter((w) => argmax(w.probabilities) === c).length;

  const af = x.af ?? afEpisodes(rhythm.windows);
  if (rhythm.label === 'A' || af.episodes.length > 0) {
    // Atrial fibrillation or flutter: the rhythm model's A class was trained on both (CinC 2017 "AF" and
    // MIT-BIH (AFIB and (AFL windows); flutter alone is too rare in the data here to learn (model card).
    const episodes = af.episodes.length > 0 ? af.episodes : episodesOf(rhythm.windows, 'A');
    const weight = episodes.reduce((a, e) => a + (e.end - e.start), 0);
    const score =
      weight > 0
        ? episodes.reduce((a, e) => a + e.meanProbability * (e.end - e.start), 0) / weight
        : rhythm.probability;
    const burden = af.analysedSeconds > 0 ? Math.min(1, weight / af.analysedSeconds) : 1;
    const longest = episodes.reduce((a, e) => Math.max(a, e.end - e.start), 0);
    const first = episodes[0]?.start ?? firstWindow(rhythm.windows, 'A') ?? 0;
    out.push({
      code: 'atrial-fibrillation',
      title: 'Atrial fibrillation or flutter',
      confidence: score,
      evidence: [
        `burden ${Math.round(100 * burden)} % of ${formatDuration(af.analysedSeconds)} analysed, ${episodes.length} episode${episodes.length === 1 ? '' : 's'}, longest ${formatDuration(longest)}, onset at ${clock(first)}`,
        `irregularly irregular RR${irregularity ? `, ${irregularity}` : ''}`,
        `rhythm model: atrial fibrillation or flutter in ${windowsWith('A')} of ${rhythm.windows.length} windows`,
        rate,
      ],
      saliency: windowSpans(rhythm.windows, 'A'),
      onset: first,
      burden,
      episodes: episodes.map((e) => ({ start: e.start, end: e.end })),
    });
  } else if (x.heartRateBpm !== null && (rhythm.label === 'N' || rhythm.label === 'O')) {
    const hr = x.heartRateBpm;
    // A regular rhythm of normally conducted beats is sinus-driven even where the rhythm model (trained on
    // CinC "Other", which holds sinus tachycardia too) said "other": the rate finding follows the rate
    // actually measured.
    const normalShare =
      reliable.length > 0 ? reliable.filter((b) => b.label === 'N').length / reliable.length : 0;
    const sinusLike = rhythm.label === 'N' || normalShare >= SINUS_NORMAL_SHARE;
    const sinusScore = 1 - meanOf(rhythm.windows, 'A') - meanOf(rhythm.windows, '~');
    const sinus = (code: Finding['code'], title: string): Finding => ({
      code,
      title,
      confidence: rhythm.label === 'N' ? rhythm.probability : sinusScore,
      evidence: [
        `${rate} in a regular rhythm${rhythm.label === 'N' ? ' read as sinus by the rhythm model' : ''}`,
        ...(irregularity ? [irregularity] : []),
        ...(reliable.length > 0
          ? [`${Math.round(100 * normalShare)} % of ${reliable.length} readable beats normally conducted`]
          : []),
      ],
      saliency: windowSpans(rhythm.windows, 'N'),
    });
    const category = rateCategory(hr, x.rrCv);
    if (sinusLike && category === 'brady') out.push(sinus('sinus-bradycardia', 'Sinus bradycardia'));
    else if (sinusLike && category === 'tachy') out.push(sinus('sinus-tachycardia', 'Sinus tachycardia'));
    else if (rhythm.label === 'N') out.push(sinus('sinus-rhythm', 'Sinus rhythm'));
  }
  // "Other rhythm" only where no named finding fits (added at the end).
  const other = (): Finding => ({
    code: 'other-rhythm',
    title: 'Rhythm other than sinus or atrial fibrillation',
    confidence: rhythm.probability,
    evidence: [`rhythm model: other rhythm in ${windowsWith('O')} of ${rhythm.windows.length} windows`, rate],
    saliency: windowSpans(rhythm.windows, 'O'),
    ...(firstWindow(rhythm.windows, 'O') !== undefined ? { onset: firstWindow(rhythm.windows, 'O')! } : {}),
  });
  const withOther = (list: Finding[]): Finding[] =>
    rhythm.label === 'O' && list.every((f) => f.code === 'sinus-rhythm') ? [...list, other()] : list;

  if (x.withholdBeatFindings) return withOther(out);

  // One finding per run class (however many runs), led by the longest run; its confidence rests on the
  // beats of that run.
  for (const label of ['V', 'S'] as const) {
    const runs = x.runs.filter((r) => r.label === label && r.rateBpm > TACHY_BPM);
    if (runs.length === 0) continue;
    const v = label === 'V';
    const longest = runs.reduce((m, r) => (r.length > m.length ? r : m), runs[0]!);
    const involved = beats.slice(longest.first, longest.first + longest.length);
    const firstBeat = beats[runs[0]!.first]!;
    const kind = v ? 'ventricular' : 'supraventricular';
    out.push({
      code: v ? 'ventricular-tachycardia-run' : 'supraventricular-tachycardia-run',
      title: v ? 'Ventricular tachycardia (run)' : 'Supraventricular tachycardia (run)',
      confidence: meanProbability(involved, label),
      evidence: [
        runs.length === 1
          ? `run of ${longest.length} ${kind} beats at ${Math.round(longest.rateBpm)} bpm at ${clock(involved[0]!.time)}`
          : `${runs.length} runs of ${kind} beats, first at ${clock(firstBeat.time)}; longest ${longest.length} beats at ${Math.round(longest.rateBpm)} bpm at ${clock(involved[0]!.time)}`,
      ],
      saliency: runs
        .slice()
        .sort((p, q) => q.length - p.length)
        .slice(0, MAX_SPANS)
        .map((r) => ({
          start: beats[r.first]!.time - BEAT_SPAN_S / 2,
          end: beats[r.first + r.length - 1]!.time + BEAT_SPAN_S / 2,
          weight: r.length / longest.length,
        })),
      onset: firstBeat.time,
    });
  }

  for (const kind of ['bigeminy', 'trigeminy'] as const) {
    const episodes = x.patterns.filter((p) => p.kind === kind);
    if (episodes.length === 0) continue;
    const cycles = episodes.reduce((a, p) => a + p.cycles, 0);
    const first = beats[episodes[0]!.first]!;
    const vBeats = episodes
      .flatMap((p) => beats.slice(p.first, p.first + p.length))
      .filter((b) => b.label === 'V');
    out.push({
      code: kind === 'bigeminy' ? 'ventricular-bigeminy' : 'ventricular-trigeminy',
      title: kind === 'bigeminy' ? 'Ventricular bigeminy' : 'Ventricular trigeminy',
      confidence: meanProbability(vBeats, 'V'),
      evidence: [
        `${cycles} ${kind} cycles in ${episodes.length} episode${episodes.length > 1 ? 's' : ''}, first at ${clock(first.time)}`,
      ],
      saliency: episodes.slice(0, MAX_SPANS).map((p) => ({
        start: beats[p.first]!.time - BEAT_SPAN_S / 2,
        end: beats[p.first + p.length - 1]!.time + BEAT_SPAN_S / 2,
        weight: 1,
      })),
      onset: first.time,
    });
  }

  for (const [cls, code, name, title] of [
    ['V', 'frequent-pvcs', 'PVC', 'Frequent premature ventricular contractions'],
    ['S', 'frequent-pacs', 'PAC', 'Frequent premature atrial (supraventricular) contractions'],
  ] as const) {
    const ectopic = reliable.filter((b) => b.label === cls);
    if (!isFrequentEctopy(ectopic.length, reliable.length, x.durationSeconds)) continue;
    const couplets = countCouplets(labels, cls as AamiClass);
    const perHour = (ectopic.length * 3600) / x.durationSeconds;
    out.push({
      code,
      title,
      confidence: meanProbability(ectopic, cls),
      evidence: [
        `${ectopic.length} ${name}s${couplets ? ` including ${couplets} couplet${couplets > 1 ? 's' : ''}` : ''}, first at ${clock(ectopic[0]!.time)}`,
        `${((100 * ectopic.length) / reliable.length).toFixed(1)} % of ${reliable.length} readable beats (${Math.round(perHour)} per hour)`,
      ],
      saliency: ectopic
        .slice()
        .sort((a, b) => b.probabilities[classIndex(cls)]! - a.probabilities[classIndex(cls)]!)
        .slice(0, MAX_SPANS)
        .map((b) => ({
          start: b.time - BEAT_SPAN_S / 2,
          end: b.time + BEAT_SPAN_S / 2,
          weight: b.probabilities[classIndex(cls)]!,
        })),
      onset: ectopic[0]!.time,
    });
  }
  return withOther(out);
}

function classIndex(c: AamiClass): number {
  return ['N', 'S', 'V', 'F', 'Q'].indexOf(c);
}

function meanProbability(beats: readonly Beat[], c: AamiClass): number {
  if (beats.length === 0) return 0;
  const k = classIndex(c);
  return beats.reduce((a, b) => a + b.probabilities[k]!, 0) / beats.length;
}

function meanOf(windows: readonly RhythmWindow[], c: RhythmClass): number {
  return windows.length === 0 ? 0 : windows.reduce((a, w) => a + w.probabilities[c], 0) / windows.length;
}

/** "45 s", "12 min", "1 h 05 min" for evidence sentences. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function argmax(p: Readonly<Record<RhythmClass, number>>): RhythmClass {
  let best: RhythmClass = 'N';
  for (const c of ['A', 'O', '~'] as const) if (p[c] > p[best]) best = c;
  return best;
}

function windowSpans(windows: readonly RhythmWindow[], c: RhythmClass): Span[] {
  return windows
    .map((w) => ({ start: w.start, end: w.end, weight: w.probabilities[c] }))
    .sort((a, b) => b.weight - a.weight)
    .slice(0, MAX_SPANS);
}

function firstWindow(windows: readonly RhythmWindow[], c: RhythmClass): number | undefined {
  return windows.find((w) => argmax(w.probabilities) === c)?.start;
}
