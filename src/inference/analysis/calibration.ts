/**
 * Finding-level confidence (issue #9 item 4): the probability that a finding is present on the ECG.
 *
 * A finding's raw score (the mean class probability of the windows or beats it rests on) is mapped by a
 * per-finding Platt scaling, p = σ(a·logit(score) + b), fitted on out-of-sample finding-level
 * predictions (`training/calibration/fit-findings.ts`, `models/finding-calibration.json`; reliability
 * diagrams in the model card). Findings without a fitted map keep their score. Either way a confidence
 * stays inside [{@link MIN_CONFIDENCE}, {@link MAX_CONFIDENCE}]: no model output is certainty.
 */
import type { Finding, FindingCode } from './types.js';

export const MAX_CONFIDENCE = 0.99;
export const MIN_CONFIDENCE = 0.01;

export interface PlattMap {
  readonly a: number;
  readonly b: number;
}

export type FindingCalibration = Readonly<Partial<Record<FindingCode, PlattMap>>>;

const EPS = 1e-6;

export function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

export function applyPlatt(score: number, map: PlattMap | undefined): number {
  const p = map ? 1 / (1 + Math.exp(-(map.a * logit(score) + map.b))) : score;
  const bounded = Number.isFinite(p) ? p : 0.5;
  return Math.min(MAX_CONFIDENCE, Math.max(MIN_CONFIDENCE, bounded));
}

export function calibrateFindings(findings: readonly Finding[], calibration?: FindingCalibration): Finding[] {
  return findings.map((f) => ({ ...f, confidence: applyPlatt(f.confidence, calibration?.[f.code]) }));
}

/**
 * A confidence as people read it: rounded to whole percent, never "100 %" or "0 %" ("> 99 %", "< 1 %").
 */
export function formatConfidence(p: number): string {
  if (!(p < 0.995)) return '> 99 %';
  if (!(p >= 0.005)) return '< 1 %';
  return `${Math.round(100 * p)} %`;
}
