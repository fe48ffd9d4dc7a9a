/**
 * What a card needs from one analysed ECG, in a form that survives a round trip through the FHIR server:
 * the write-back stores it as DiagnosticReport + Observations, and any instance reads it back from there
 * (so cards never depend on one process's memory). Built from `analyze()`'s result by `summarize()`.
 */
import type { AamiClass } from '../inference/analysis/aami.js';
import type { AnalysisResult, FindingCode, RhythmClass } from '../inference/analysis/types.js';

export interface StoredFinding {
  readonly code: FindingCode;
  readonly title: string;
  /** 0..1 */
  readonly confidence: number;
  readonly evidence: readonly string[];
  /** Seconds from the start of the ECG. */
  readonly onset?: number;
}

export interface SourceEcg {
  /** Observation logical id on the FHIR server. */
  readonly observationId: string;
  readonly versionId?: string;
  /** `Patient/<id>` */
  readonly subject?: string;
  readonly effective?: string;
}

export interface ModelSet {
  /** e.g. "ecg-cds-models" */
  readonly name: string;
  /** One version string for the model set, e.g. "beat-cnn@2.0.0+rhythm-cnn@1.0.0+ae-quality@1.0.0". */
  readonly version: string;
  /** Public link to the model card. */
  readonly modelCardUrl: string;
}

export interface StoredResult {
  /** Set when read back from the server. */
  readonly reportId?: string;
  readonly source: SourceEcg;
  readonly modelVersion: string;
  readonly status: 'ok' | 'unable';
  /** When status is 'unable'. */
  readonly unable?: { readonly code: string; readonly reason: string };
  readonly heartRateBpm?: number | null;
  readonly rhythm?: { readonly label: RhythmClass; readonly probability: number };
  readonly counts?: Readonly<Record<AamiClass, number>>;
  readonly durationSeconds?: number;
  readonly lead?: string;
  /** Fraction of the record where the analysis abstained (noise or atypical signal). */
  readonly abstainedFraction?: number;
  readonly findings: readonly StoredFinding[];
  readonly limitations: readonly string[];
}

/** Reduce an analysis to what is stored and rendered (no per-beat arrays, no waveform). */
export function summarize(result: AnalysisResult, source: SourceEcg, modelVersion: string): StoredResult {
  if (result.status === 'unable')
    return {
      source,
      modelVersion,
      status: 'unable',
      unable: { code: result.code, reason: result.reason },
      findings: [],
      limitations: [],
    };
  return {
    source,
    modelVersion,
    status: 'ok',
    heartRateBpm: result.heartRateBpm,
    rhythm: { label: result.rhythm.label, probability: result.rhythm.probability },
    counts: result.counts,
    durationSeconds: result.durationSeconds,
    lead: result.lead,
    abstainedFraction: result.quality.abstainedFraction,
    findings: result.findings.map((f) => ({
      code: f.code,
      title: f.title,
      confidence: f.confidence,
      evidence: f.evidence,
      ...(f.onset !== undefined ? { onset: f.onset } : {}),
    })),
    limitations: result.limitations,
  };
}
