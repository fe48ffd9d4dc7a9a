/**
 * `analyze()`'s result → the {@link EcgView} the renderer draws, on the server (the viewer's API and
 * `ecg-cds analyze --html`); browser code takes the view as JSON and never bundles this file.
 */
import type { AnalysisResult } from '../inference/analysis/types.js';
import { signalQuality } from '../inference/dsp/quality.js';
import { durationSeconds, type Ecg } from '../inference/ecg.js';
import type { EcgView, TimeSpan } from './types.js';

/** The view of an analysed ECG; for a noisy ECG the analysis refused, where the noise is (shaded). */
export function viewOfEcg(ecg: Ecg, result: AnalysisResult): EcgView {
  const unreadable =
    result.status === 'unable' && result.code === 'poor-signal-quality'
      ? signalQuality(
          ecg.leads.map((l) => l.samples),
          ecg.fs,
          { invalid: ecg.leads.map((l) => l.invalid) },
        )
          .filter((s) => !s.readable)
          .map((s) => ({ start: s.start / ecg.fs, end: s.end / ecg.fs }))
      : [];
  return viewOfAnalysis(result, durationSeconds(ecg), unreadable);
}

/** Reduce an analysis (or an "unable to analyse") to what is drawn; `durationSeconds` for 'unable'. */
export function viewOfAnalysis(
  result: AnalysisResult,
  durationSeconds: number,
  /** For 'unable': the stretches a quality index found unreadable (the analysis keeps none). */
  unreadable: readonly TimeSpan[] = [],
): EcgView {
  if (result.status === 'unable')
    return {
      status: 'unable',
      reason: result.reason,
      durationSeconds,
      heartRateBpm: null,
      beats: [],
      runs: [],
      findings: [],
      noisy: mergeSpans(unreadable),
      limitations: [],
    };
  const { beats, fs } = result;
  return {
    status: 'ok',
    durationSeconds: result.durationSeconds,
    heartRateBpm: result.heartRateBpm,
    lead: result.lead,
    beats: beats.map((b) => ({ time: b.time, label: b.label, reliable: b.reliable })),
    runs: result.runs.flatMap((r) => {
      const first = beats[r.first];
      const last = beats[r.first + r.length - 1];
      if (!first || !last) return [];
      return [{ label: r.label, start: first.time, end: last.time, beats: r.length, rateBpm: r.rateBpm }];
    }),
    findings: result.findings.map((f) => ({
      code: f.code,
      title: f.title,
      confidence: f.confidence,
      evidence: f.evidence,
      saliency: f.saliency.map((s) => ({ start: s.start, end: s.end, weight: s.weight })),
    })),
    noisy: mergeSpans(
      result.quality.segments
        .filter((s) => !s.readable)
        .map((s) => ({ start: s.start / fs, end: s.end / fs })),
    ),
    limitations: result.limitations,
  };
}

/** Sorted union of spans (adjacent quality windows become one shaded stretch). */
export function mergeSpans(spans: readonly TimeSpan[]): TimeSpan[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const out: TimeSpan[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end + 1e-9)
      out[out.length - 1] = { start: last.start, end: Math.max(last.end, s.end) };
    else out.push({ start: s.start, end: s.end });
  }
  return out;
}
