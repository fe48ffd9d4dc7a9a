/**
 * What the ECG renderer draws: samples in mV plus a view of the analysis reduced to what is drawn
 * (beat labels, runs, saliency spans, noisy stretches). Plain data, no DOM and no Node APIs, so one
 * renderer serves the SMART viewer and the demo EHR (bundled for the browser) and `analyze --html`.
 */

/** AAMI beat classes as drawn above the beats (ANSI/AAMI EC57). */
export type BeatClass = 'N' | 'S' | 'V' | 'F' | 'Q';

export interface TraceLead {
  /** Lead name as the source spells it ("II", "MLII", "V1"). */
  readonly name: string;
  /** Samples in millivolts. */
  readonly samples: ArrayLike<number>;
  /** 1 where a sample is invalid: drawn as a gap, never as a flat line. */
  readonly invalid?: ArrayLike<number>;
}

export interface Trace {
  /** Sampling rate in Hz, shared by the leads. */
  readonly fs: number;
  readonly leads: readonly TraceLead[];
}

/** A stretch of the recording in seconds from its start. */
export interface TimeSpan {
  readonly start: number;
  readonly end: number;
}

export interface ViewBeat {
  /** Seconds from the start (R peak). */
  readonly time: number;
  readonly label: BeatClass;
  /** False where the quality gates made the analysis abstain. */
  readonly reliable: boolean;
}

export interface ViewRun extends TimeSpan {
  readonly label: 'V' | 'S';
  readonly beats: number;
  readonly rateBpm: number;
}

export interface ViewFinding {
  readonly code: string;
  readonly title: string;
  /** 0..1 */
  readonly confidence: number;
  readonly evidence: readonly string[];
  /** Where the decision comes from, strongest first (weight 0..1). */
  readonly saliency: readonly (TimeSpan & { readonly weight: number })[];
}

/** The analysis as the renderer needs it (see view.ts for the reduction from `analyze()`'s result). */
export interface EcgView {
  readonly status: 'ok' | 'unable';
  /** Why the ECG could not be analysed (status 'unable'). */
  readonly reason?: string;
  readonly durationSeconds: number;
  readonly heartRateBpm: number | null;
  /** Lead the beats were classified on. */
  readonly lead?: string;
  readonly beats: readonly ViewBeat[];
  readonly runs: readonly ViewRun[];
  readonly findings: readonly ViewFinding[];
  /** Stretches no lead could be read in (quality index). */
  readonly noisy: readonly TimeSpan[];
  readonly limitations: readonly string[];
}
