/**
 * What `analyze()` returns: everything a card or a report renders, and nothing about HTTP or FHIR.
 */
import type { QualitySegment } from '../dsp/quality.js';
import type { AamiClass } from './aami.js';

/** Rhythm classes of the rhythm model (PhysioNet/CinC 2017 labels). */
export type { RhythmClass } from './rhythm-input.js';

import type { RhythmClass } from './rhythm-input.js';

export interface Beat {
  /** R-peak sample index at the record's sampling rate. */
  readonly sample: number;
  /** Seconds from the start of the record. */
  readonly time: number;
  readonly label: AamiClass;
  /** Calibrated class probabilities in AAMI order N, S, V, F, Q. */
  readonly probabilities: readonly number[];
  /** False where the quality gates make the analysis abstain: such beats count toward no finding. */
  readonly reliable: boolean;
}

/** Derived findings; codes are stable identifiers for cards, reports and tests. */
export type FindingCode =
  | 'atrial-fibrillation'
  | 'other-rhythm'
  | 'sinus-rhythm'
  | 'sinus-bradycardia'
  | 'sinus-tachycardia'
  | 'ventricular-tachycardia-run'
  | 'supraventricular-tachycardia-run'
  | 'ventricular-bigeminy'
  | 'ventricular-trigeminy'
  | 'frequent-pvcs'
  | 'frequent-pacs'
  | 'paced-rhythm';

/** A stretch of the record, in seconds, that a finding points at (its saliency). */
export interface Span {
  readonly start: number;
  readonly end: number;
  /** Relative weight 0..1 (1 = the part that drove the decision most). */
  readonly weight: number;
}

export interface Finding {
  readonly code: FindingCode;
  /** Plain-language name, e.g. "Atrial fibrillation". */
  readonly title: string;
  /** Calibrated probability or, for rule-based findings, the mean probability of the beats they rest on. */
  readonly confidence: number;
  /** Evidence sentences a card or report can show, e.g. "irregularly irregular RR, coefficient of variation 0.24". */
  readonly evidence: readonly string[];
  /** Where in the waveform the decision comes from, strongest first. */
  readonly saliency: readonly Span[];
  /** First onset, seconds from the start. */
  readonly onset?: number;
  /** Episode findings (AF or flutter): fraction 0..1 of the analysed time in the rhythm. */
  readonly burden?: number;
  /** Episode findings: the episodes, seconds from the start, in time order. */
  readonly episodes?: readonly { readonly start: number; readonly end: number }[];
}

export interface BeatRun {
  readonly label: 'V' | 'S';
  /** Index of the first beat of the run in `beats`. */
  readonly first: number;
  readonly length: number;
  /** Mean rate inside the run, beats per minute. */
  readonly rateBpm: number;
}

export interface RhythmWindow {
  readonly start: number;
  readonly end: number;
  readonly probabilities: Readonly<Record<RhythmClass, number>>;
}

export interface ModelInfo {
  readonly id: string;
  readonly version: string;
  readonly provider: string;
}

export interface Analysis {
  readonly status: 'ok';
  readonly sourceId: string;
  readonly fs: number;
  readonly durationSeconds: number;
  /** Name of the lead beats were classified on. */
  readonly lead: string;
  readonly heartRateBpm: number | null;
  readonly beats: readonly Beat[];
  readonly counts: Readonly<Record<AamiClass, number>>;
  readonly runs: readonly BeatRun[];
  readonly rhythm: {
    readonly label: RhythmClass;
    readonly probability: number;
    readonly windows: readonly RhythmWindow[];
  };
  readonly quality: {
    readonly segments: readonly QualitySegment[];
    /** Fraction of the record no lead can be read in (statistical index). */
    readonly unreadableFraction: number;
    /** Fraction of the primary lead the autoencoder gate marks unreliable. */
    readonly autoencoderUnreliableFraction: number;
    /** Fraction of the record where the analysis abstains (either gate). */
    readonly abstainedFraction: number;
  };
  readonly findings: readonly Finding[];
  /** What the analysis could not do and why, e.g. beat-level findings withheld in a noisy recording. */
  readonly limitations: readonly string[];
  readonly models: readonly ModelInfo[];
  /** Per-stage wall time in ms (dsp, model), for Server-Timing and metrics. */
  readonly timings: Readonly<Record<string, number>>;
}

/** Why an ECG could not be analysed; `code` is stable, `reason` is for people. */
export interface UnableToAnalyse {
  readonly status: 'unable';
  readonly sourceId: string;
  readonly code:
    | 'no-leads'
    | 'too-short'
    | 'too-long'
    | 'bad-rate'
    | 'flat-line'
    | 'not-finite'
    | 'poor-signal-quality'
    | 'no-beats';
  readonly reason: string;
  /** For 'poor-signal-quality': fraction 0..1 of the recording the quality gates flag. */
  readonly fraction?: number;
}

export type AnalysisResult = Analysis | UnableToAnalyse;
