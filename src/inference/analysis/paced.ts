/**
 * Paced ECGs (issue #9 item 3): beats started by a pacemaker have a shape and timing the beat and rhythm
 * models never learned (MIT-BIH's paced records are excluded from training, as in every inter-patient
 * protocol), so a paced ECG is reported as "paced rhythm: not analysed for arrhythmia", never as PVCs,
 * VT runs or "other rhythm".
 */
import type { PacingResult } from '../dsp/pacing.js';
import type { Finding } from './types.js';

export const PACED_LIMITATION =
  'paced rhythm: pacemaker spikes precede most beats, so the ECG is not analysed for arrhythmias';

export function pacedFinding(pacing: PacingResult, beatCount: number): Finding {
  const pct = Math.round(100 * pacing.pacedBeatFraction);
  return {
    code: 'paced-rhythm',
    title: 'Paced rhythm: not analysed for arrhythmia',
    confidence: pacing.pacedBeatFraction,
    evidence: [
      `pacemaker spikes before ${pct} % of ${beatCount} beats (${pacing.spikes.length} spikes)`,
      'arrhythmia findings are not made on paced ECGs',
    ],
    saliency: [],
  };
}
