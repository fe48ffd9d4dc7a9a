/**
 * The ECG record every stage of the analysis engine works on.
 *
 * Values are physical (millivolts); digital units never leave the readers and codecs
 * (STYLE habit 4). Invalid samples are marked in a mask, never replaced by zeros.
 */

/** One lead: samples in mV at the record's sampling rate. */
export interface Lead {
  /** Lead name as the source spells it (e.g. "MLII", "V1", "II", "aVR"). */
  readonly name: string;
  /** Samples in millivolts. */
  readonly samples: Float32Array;
  /** 1 where the sample is invalid (ADC saturation, `E`/`L`/`U` tokens, WFDB invalid value). */
  readonly invalid?: Uint8Array;
}

export interface Ecg {
  readonly leads: readonly Lead[];
  /** Sampling rate in Hz (samples per second per lead). */
  readonly fs: number;
  /** Start time of the first sample, if the source states it. */
  readonly startTime?: Date;
  /** Where the record came from (a record name or resource id), for logs and provenance. */
  readonly sourceId: string;
}

/** Duration of the record in seconds (leads share one length). */
export function durationSeconds(ecg: Ecg): number {
  const n = ecg.leads[0]?.samples.length ?? 0;
  return n / ecg.fs;
}

/** Canonical form of a lead name for matching: case-insensitive, "ML" prefix and spaces ignored. */
export function canonicalLeadName(name: string): string {
  const n = name.trim().toUpperCase().replace(/\s+/g, '');
  if (n === 'MLII') return 'II';
  if (n.startsWith('ML') && n.length > 2) return n.slice(2);
  if (n.startsWith('LEAD')) return n.slice(4);
  return n;
}

/** Find a lead by name (case-insensitive; "MLII" matches "II"). */
export function findLead(ecg: Ecg, name: string): Lead | undefined {
  const wanted = canonicalLeadName(name);
  return ecg.leads.find((l) => canonicalLeadName(l.name) === wanted);
}

/**
 * The lead rhythm analysis prefers: MLII, then II, else the first lead.
 * MIT-BIH annotations and most single-lead models are built on modified lead II.
 */
export function primaryLead(ecg: Ecg): Lead {
  const exactMl = ecg.leads.find((l) => l.name.trim().toUpperCase() === 'MLII');
  const lead = exactMl ?? findLead(ecg, 'II') ?? ecg.leads[0];
  if (!lead) throw new RangeError(`ECG ${ecg.sourceId} has no leads`);
  return lead;
}

/** Index of the lead returned by {@link primaryLead}. */
export function primaryLeadIndex(ecg: Ecg): number {
  return ecg.leads.indexOf(primaryLead(ecg));
}
