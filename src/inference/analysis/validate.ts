/**
 * Input limits of analyze(): every limit is explicit here, and breaking one gives an "unable to analyse"
 * result with a reason instead of an exception or a guess.
 */
import type { Ecg } from '../ecg.js';
import type { UnableToAnalyse } from './types.js';

export const LIMITS = {
  /** Slowest and fastest sampling rates accepted (Hz). QRS content needs ≥ 50 Hz; 10 kHz covers every ECG device. */
  minFs: 50,
  maxFs: 10_000,
  /** Shortest record (s): two beats even at 30 bpm, and half a rhythm-model window. */
  minSeconds: 5,
  /** Longest record (s): 24 h Holter. */
  maxSeconds: 24 * 3600,
  /** Most samples per lead (memory bound: 4 bytes each, a few copies per stage). */
  maxSamplesPerLead: 50_000_000,
  maxLeads: 16,
  /** Peak-to-peak amplitude (mV) below which every lead is a flat line (lead off). */
  flatMv: 0.05,
} as const;

/** The first limit the ECG breaks, or undefined when it can be analysed. */
export function checkInput(ecg: Ecg): UnableToAnalyse | undefined {
  const unable = (code: UnableToAnalyse['code'], reason: string): UnableToAnalyse => ({
    status: 'unable',
    sourceId: ecg.sourceId,
    code,
    reason,
  });
  if (ecg.leads.length === 0) return unable('no-leads', 'the ECG has no leads');
  if (ecg.leads.length > LIMITS.maxLeads)
    return unable(
      'no-leads',
      `the ECG has ${ecg.leads.length} leads; at most ${LIMITS.maxLeads} are accepted`,
    );
  if (!Number.isFinite(ecg.fs) || ecg.fs < LIMITS.minFs || ecg.fs > LIMITS.maxFs) {
    return unable('bad-rate', `sampling rate ${ecg.fs} Hz is outside ${LIMITS.minFs}–${LIMITS.maxFs} Hz`);
  }
  const n = ecg.leads[0]!.samples.length;
  if (ecg.leads.some((l) => l.samples.length !== n)) return unable('no-leads', 'the leads differ in length');
  if (n > LIMITS.maxSamplesPerLead)
    return unable('too-long', `${n} samples per lead; at most ${LIMITS.maxSamplesPerLead} are accepted`);
  const seconds = n / ecg.fs;
  if (seconds < LIMITS.minSeconds)
    return unable(
      'too-short',
      `${seconds.toFixed(1)} s recorded; at least ${LIMITS.minSeconds} s are needed`,
    );
  if (seconds > LIMITS.maxSeconds)
    return unable('too-long', `${(seconds / 3600).toFixed(1)} h recorded; at most 24 h are accepted`);
  let flat = true;
  for (const lead of ecg.leads) {
    let lo = Infinity;
    let hi = -Infinity;
    const x = lead.samples;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (!Number.isFinite(v))
        return unable(
          'not-finite',
          `lead ${lead.name} holds a non-numeric sample at ${(i / ecg.fs).toFixed(2)} s`,
        );
      if (lead.invalid?.[i]) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo >= LIMITS.flatMv) flat = false;
  }
  if (flat)
    return unable(
      'flat-line',
      `every lead is flat (peak-to-peak below ${LIMITS.flatMv} mV): leads off or disconnected`,
    );
  return undefined;
}
