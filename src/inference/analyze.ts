/**
 * analyze(ecg) → Analysis: the pipeline as one short composition (STYLE habit 2).
 *   limits → quality gates → QRS → beat classes → rhythm → runs and patterns → findings.
 */
import { aeGate } from './analysis/ae-gate.js';
import { classifyBeats } from './analysis/beats.js';
import { deriveFindings } from './analysis/findings.js';
import { primaryLeadFirst } from './analysis/leads.js';
import { rateAndIrregularity } from './analysis/rate.js';
import { reliability } from './analysis/reliability.js';
import { classifyRhythm } from './analysis/rhythm.js';
import { findPatterns, findRuns } from './analysis/runs.js';
import { countBy, timer, unreadableFraction } from './analysis/summary.js';
import type { AnalysisResult } from './analysis/types.js';
import { checkInput } from './analysis/validate.js';
import { detectQrsDetailed } from './dsp/qrs.js';
import { signalQuality } from './dsp/quality.js';
import { durationSeconds, type Ecg } from './ecg.js';
import type { Engine } from './model/engine.js';

/** Fraction of the record the statistical index must find readable for any finding (else "unable to analyse"). */
export const MIN_READABLE_FRACTION = 0.2;
/** Fraction of beats that must be reliable (both gates) for beat-level findings: runs, patterns, ectopy. */
export const MIN_RELIABLE_BEATS = 0.5;

export async function analyze(ecg: Ecg, engine: Engine): Promise<AnalysisResult> {
  const problem = checkInput(ecg);
  if (problem) return problem;
  const t = timer();
  const { lead, leads } = primaryLeadFirst(ecg);
  // QRS first: its per-lead feature signals feed the quality index too.
  const detection = detectQrsDetailed(leads, ecg.fs);
  const peaks = detection.peaks;
  const quality = signalQuality(leads, ecg.fs, {
    leadFeatures: detection.leadFeatures,
    invalid: [lead.invalid, ...ecg.leads.filter((l) => l !== lead).map((l) => l.invalid)],
  });
  // The autoencoder learned clean MIT-BIH beats, the beat model's training distribution: it gates beats.
  // The rhythm model, trained on other devices too (CinC 2017) with a noise class, is gated by the
  // statistical index alone.
  const gate = await aeGate(engine.quality, lead.samples, ecg.fs, engine.qualityThreshold);
  const readable = reliability(lead.samples.length, quality, []);
  const usable = reliability(lead.samples.length, quality, gate.segments);
  if (1 - readable.fraction < MIN_READABLE_FRACTION) {
    const reason = `${Math.round(100 * readable.fraction)} % of the recording is too noisy to read`;
    return { status: 'unable', sourceId: ecg.sourceId, code: 'poor-signal-quality', reason };
  }
  if (peaks.length < 2)
    return {
      status: 'unable',
      sourceId: ecg.sourceId,
      code: 'no-beats',
      reason: 'fewer than two heartbeats were found',
    };
  const dsp = t.lap();
  const beats = (await classifyBeats(engine.beat, lead.samples, ecg.fs, peaks)).map((b) => ({
    ...b,
    reliable: usable.isReliable(b.sample),
  }));
  const rhythm = await classifyRhythm(engine.rhythm, lead.samples, ecg.fs, {
    ...(lead.invalid ? { invalid: lead.invalid } : {}),
    unreliableFraction: (a, b) => readable.fractionIn(a * ecg.fs, b * ecg.fs),
  });
  const model = t.lap();
  // Unreliable beats become Q (unclassifiable) for pattern finding, so no run or pattern spans noise.
  const labels = beats.map((b) => (b.reliable ? b.label : 'Q'));
  const runs = findRuns(labels, peaks, ecg.fs);
  const { heartRateBpm, rrCv } = rateAndIrregularity(peaks, ecg.fs, (i) => readable.isReliable(peaks[i]!));
  const seconds = durationSeconds(ecg);
  const reliableBeats = beats.filter((b) => b.reliable);
  const withholdBeatFindings = reliableBeats.length < MIN_RELIABLE_BEATS * beats.length;
  const unreliablePct = Math.round((100 * (beats.length - reliableBeats.length)) / beats.length);
  const limitations = withholdBeatFindings
    ? [`beat-level findings withheld: ${unreliablePct} % of beats lie in noisy or atypical signal`]
    : [];
  const patterns = findPatterns(labels);
  const findings = deriveFindings({
    beats,
    runs,
    patterns,
    rhythm,
    heartRateBpm,
    rrCv,
    durationSeconds: seconds,
    withholdBeatFindings,
  });
  return {
    status: 'ok',
    sourceId: ecg.sourceId,
    fs: ecg.fs,
    durationSeconds: seconds,
    lead: lead.name,
    heartRateBpm,
    beats,
    counts: countBy(reliableBeats.map((b) => b.label)),
    runs,
    rhythm,
    quality: {
      segments: quality,
      unreadableFraction: unreadableFraction(quality),
      autoencoderUnreliableFraction: gate.unreliableFraction,
      abstainedFraction: usable.fraction,
    },
    findings,
    limitations,
    models: [engine.beat, engine.rhythm, engine.quality].map((m) => ({
      id: m.manifest.id,
      version: m.manifest.version,
      provider: m.provider,
    })),
    timings: { dsp, model, total: dsp + model },
  };
}
