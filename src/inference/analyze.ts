/**
 * analyze(ecg) → Analysis: the pipeline as one short composition (STYLE habit 2).
 *   check limits → signal quality → QRS → beat classes → rhythm → runs and patterns → findings.
 */
import { classifyBeats } from './analysis/beats.js';
import { deriveFindings } from './analysis/findings.js';
import { primaryLeadFirst } from './analysis/leads.js';
import { rateAndIrregularity } from './analysis/rate.js';
import { classifyRhythm } from './analysis/rhythm.js';
import { findPatterns, findRuns } from './analysis/runs.js';
import { countBy, timer, unreadableFraction } from './analysis/summary.js';
import type { AnalysisResult } from './analysis/types.js';
import { checkInput } from './analysis/validate.js';
import { detectQrs } from './dsp/qrs.js';
import { signalQuality } from './dsp/quality.js';
import { durationSeconds, type Ecg } from './ecg.js';
import type { Engine } from './model/engine.js';

/** Fraction of the record that must be readable for any finding (below it: "unable to analyse"). */
export const MIN_READABLE_FRACTION = 0.2;

export async function analyze(ecg: Ecg, engine: Engine): Promise<AnalysisResult> {
  const problem = checkInput(ecg);
  if (problem) return problem;
  const t = timer();
  const { lead, leads } = primaryLeadFirst(ecg);
  const quality = signalQuality(leads, ecg.fs, {
    invalid: [lead.invalid, ...ecg.leads.filter((l) => l !== lead).map((l) => l.invalid)],
  });
  const unreadable = unreadableFraction(quality);
  if (1 - unreadable < MIN_READABLE_FRACTION) {
    return {
      status: 'unable',
      sourceId: ecg.sourceId,
      code: 'unreadable',
      reason: `${Math.round(100 * unreadable)} % of the recording is too noisy to read`,
    };
  }
  const peaks = detectQrs(leads, ecg.fs);
  if (peaks.length < 2) {
    return {
      status: 'unable',
      sourceId: ecg.sourceId,
      code: 'no-beats',
      reason: 'fewer than two heartbeats were found',
    };
  }
  const dsp = t.lap();
  const beats = await classifyBeats(engine.beat, lead.samples, ecg.fs, peaks);
  const rhythm = await classifyRhythm(
    engine.rhythm,
    lead.samples,
    ecg.fs,
    lead.invalid ? { invalid: lead.invalid } : {},
  );
  const model = t.lap();
  const labels = beats.map((b) => b.label);
  const runs = findRuns(labels, peaks, ecg.fs);
  const { heartRateBpm, rrCv } = rateAndIrregularity(peaks, ecg.fs);
  const seconds = durationSeconds(ecg);
  const findings = deriveFindings({
    beats,
    runs,
    patterns: findPatterns(labels),
    rhythm,
    heartRateBpm,
    rrCv,
    durationSeconds: seconds,
  });
  return {
    status: 'ok',
    sourceId: ecg.sourceId,
    fs: ecg.fs,
    durationSeconds: seconds,
    lead: lead.name,
    heartRateBpm,
    beats,
    counts: countBy(labels),
    runs,
    rhythm,
    quality: { segments: quality, unreadableFraction: unreadable },
    findings,
    models: [engine.beat, engine.rhythm].map((m) => ({
      id: m.manifest.id,
      version: m.manifest.version,
      provider: m.provider,
    })),
    timings: { dsp, model, total: dsp + model },
  };
}
