/**
 * Which leads the analysis uses (issue #9 item 3: a 12-lead ECG uses its leads, so one noisy lead does not
 * make a clean ECG unreadable).
 *
 * QRS detection and the quality index already use every lead (fused / best lead per segment). The beat
 * model was trained on MIT-BIH's modified lead II, so beats are classified on the primary lead (MLII, II,
 * else the first) unless that lead is clearly worse than another: then on the cleanest lead. The rhythm
 * model reads the {@link RHYTHM_LEADS} cleanest leads of a short ECG and averages their window
 * probabilities (a multi-lead vote: AF's irregular RR shows in every lead, its f-waves best in some); a
 * long recording (Holter) is read on the beat lead only, to keep its cost linear in one lead.
 */
import type { QualitySegment } from '../dsp/quality.js';
import { type Ecg, type Lead, primaryLead } from '../ecg.js';

/** Leads the rhythm model reads on a short recording. */
export const RHYTHM_LEADS = 3;
/**
 * The primary lead is replaced only when it is poor (mean index below this) and another lead is clearly
 * better (by {@link PRIMARY_LEAD_MARGIN}): the beat model knows lead II morphology best, so a slightly
 * cleaner V1 is not worth the change of morphology.
 */
export const PRIMARY_LEAD_POOR = 0.5;
export const PRIMARY_LEAD_MARGIN = 0.2;

export function primaryLeadFirst(ecg: Ecg): { lead: Lead; leads: Float32Array[]; ordered: Lead[] } {
  const lead = primaryLead(ecg);
  const ordered = [lead, ...ecg.leads.filter((l) => l !== lead)];
  return { lead, leads: ordered.map((l) => l.samples), ordered };
}

export interface LeadChoice {
  /** The lead beats are classified on (timing, templates, the lead named in evidence). */
  readonly beatLead: Lead;
  /**
   * The beat lead, then every other lead cleanest first: a beat model with a per-lead vote (manifest
   * `leadVote`) averages its probabilities over the first few.
   */
  readonly beatLeads: readonly Lead[];
  /** The leads the rhythm model reads, cleanest first. */
  readonly rhythmLeads: readonly Lead[];
  /** Mean quality index per lead, in `ordered` order. */
  readonly leadQuality: readonly number[];
}

/**
 * Rank `ordered` leads (primary first, as the quality segments list them) by their mean quality index.
 * `short`: the recording is short enough for the multi-lead rhythm vote.
 */
export function chooseLeads(
  ordered: readonly Lead[],
  segments: readonly QualitySegment[],
  short: boolean,
): LeadChoice {
  const leadQuality = ordered.map((_, i) =>
    segments.length === 0 ? 1 : segments.reduce((a, s) => a + (s.leadSqi[i] ?? 0), 0) / segments.length,
  );
  const rank = ordered.map((_, i) => i).sort((a, b) => leadQuality[b]! - leadQuality[a]! || a - b);
  const best = rank[0]!;
  const poor =
    leadQuality[0]! < PRIMARY_LEAD_POOR && leadQuality[best]! > leadQuality[0]! + PRIMARY_LEAD_MARGIN;
  const beatIndex = poor ? best : 0;
  const beatLead = ordered[beatIndex]!;
  const rhythmLeads = short
    ? [beatLead, ...rank.filter((i) => i !== beatIndex).map((i) => ordered[i]!)].slice(0, RHYTHM_LEADS)
    : [beatLead];
  const beatLeads = [beatLead, ...rank.filter((i) => i !== beatIndex).map((i) => ordered[i]!)];
  return { beatLead, beatLeads, rhythmLeads, leadQuality };
}
