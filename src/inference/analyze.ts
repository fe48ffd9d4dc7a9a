/**
 * analyze(ecg) → Analysis: the pipeline as one short composition (STYLE habit 2).
 *   limits → quality gates → QRS → beat classes → rhythm → runs and patterns → findings.
 */
import { aeGate } from './analysis/ae-gate.js';
import { classifyBeats } from './analysis/beats.js';
import { calibrateFindings } from './analysis/calibration.js';
import { afEpisodes, conductedInAf } from './analysis/episodes.js';
import { deriveFindings } from './analysis/findings.js';
import { chooseLeads, primaryLeadFirst } from './analysis/leads.js';
import { PACED_LIMITATION, pacedFinding } from './analysis/paced.js';
import { rateAndIrregularity } from './analysis/rate.js';
import { reliability } from './analysis/reliability.js';
import { classifyRhythmLeads, LONG_RECORD_S, noisyWindowFraction } from './analysis/rhythm.js';
import { findPatterns, findRuns } from './analysis/runs.js';
import { countBy, timer, unreadableFraction } from './analysis/summary.js';
import type { AnalysisResult, UnableToAnalyse } from './analysis/types.js';
import { checkInput } from './analysis/validate.js';
import { detectPacing } from './dsp/pacing.js';
import { detectQrsDetailed } from './dsp/qrs.js';
import { signalQuality } from './dsp/quality.js';
import { durationSeconds, type Ecg } from './ecg.js';
import type { Engine } from './model/engine.js';

/**
 * Largest fraction of the record the statistical index may flag before the whole record is "unable to
 * analyse: poor signal quality" (a finding must not rest on a minority of readable signal).
 */
export const MAX_UNREADABLE_FRACTION = 0.5;
/** Fraction of beats that must be reliable (both gates) for beat-level findings: runs, patterns, ectopy. */
export const MIN_RELIABLE_BEATS = 0.5;

export async function analyze(ecg: Ecg, engine: Engine): Promise<AnalysisResult> {
  const problem = checkInput(ecg);
  if (problem) return problem;
  const t = timer();
  const { leads, ordered } = primaryLeadFirst(ecg);
  // QRS first, on every lead: its per-lead feature signals feed the quality index too.
  const detection = detectQrsDetailed(leads, ecg.fs);
  const peaks = detection.peaks;
  const quality = signalQuality(leads, ecg.fs, {
    leadFeatures: detection.leadFeatures,
    peaks,
    invalid: ordered.map((l) => l.invalid),
  });
  const seconds = durationSeconds(ecg);
  const { beatLead: lead, beatLeads, rhythmLeads } = chooseLeads(ordered, quality, seconds <= LONG_RECORD_S);
  // The autoencoder learned clean MIT-BIH beats, the beat model's training distribution: it gates beats.
  // The rhythm model, trained on other devices too (CinC 2017) with a noise class, is gated by the
  // statistical index alone.
  const gate = await aeGate(engine.quality, lead.samples, ecg.fs, engine.qualityThreshold);
  const readable = reliability(lead.samples.length, quality, []);
  const usable = reliability(lead.samples.length, quality, gate.segments);
  if (readable.fraction > MAX_UNREADABLE_FRACTION)
    return poorQuality(ecg, readable.fraction, 'quality index');
  if (peaks.length < 2)
    return {
      status: 'unable',
      sourceId: ecg.sourceId,
      code: 'no-beats',
      reason: 'fewer than two heartbeats were found',
    };
  const pacing = detectPacing(leads, ecg.fs, peaks);
  const dsp = t.lap();
  const beatSamples = beatLeads.map((l) => l.samples);
  const classified = (await classifyBeats(engine.beat, beatSamples, ecg.fs, peaks)).map((b) => ({
    ...b,
    reliable: usable.isReliable(b.sample),
  }));
  const rhythm = await classifyRhythmLeads(engine.rhythm, rhythmLeads, ecg.fs, {
    unreliableFraction: (a, b) => readable.fractionIn(a * ecg.fs, b * ecg.fs),
  });
  const model = t.lap();
  // Noise honesty: where most of the record is noise (to the quality index or the rhythm model), nothing is
  // found in it: "unable to analyse", never "no finding".
  const noisy = noisyWindowFraction(rhythm);
  if (rhythm.label === '~' || noisy > MAX_UNREADABLE_FRACTION)
    return poorQuality(ecg, noisy, 'quality index and rhythm model');
  const af = afEpisodes(rhythm.windows);
  const beats = conductedInAf(classified, af.episodes);
  // Unreliable beats become Q (unclassifiable) for pattern finding, so no run or pattern spans noise.
  const labels = beats.map((b) => (b.reliable ? b.label : 'Q'));
  const runs = findRuns(labels, peaks, ecg.fs);
  const { heartRateBpm, rrCv } = rateAndIrregularity(peaks, ecg.fs, (i) => readable.isReliable(peaks[i]!));
  const reliableBeats = beats.filter((b) => b.reliable);
  const withholdBeatFindings = reliableBeats.length < MIN_RELIABLE_BEATS * beats.length;
  const unreliablePct = Math.round((100 * (beats.length - reliableBeats.length)) / beats.length);
  const limitations = [
    ...(withholdBeatFindings
      ? [`beat-level findings withheld: ${unreliablePct} % of beats lie in noisy or atypical signal`]
      : []),
    ...(pacing.paced ? [PACED_LIMITATION] : []),
  ];
  const patterns = findPatterns(labels);
  const derived = pacing.paced
    ? [pacedFinding(pacing, beats.length)]
    : deriveFindings({
        beats,
        runs,
        patterns,
        rhythm,
        af,
        heartRateBpm,
        rrCv,
        durationSeconds: seconds,
        withholdBeatFindings,
      });
  const findings = calibrateFindings(derived, engine.findingCalibration);
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

function poorQuality(ecg: Ecg, fraction: number, by: string): UnableToAnalyse {
  const pct = Math.round(100 * fraction);
  return {
    status: 'unable',
    sourceId: ecg.sourceId,
    code: 'poor-signal-quality',
    reason: `poor signal quality: ${pct} % of the recording is noise (${by})`,
    fraction,
  };
}
