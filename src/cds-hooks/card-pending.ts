/**
 * The card for an ECG whose analysis did not finish within HOOK_BUDGET_MS (issue #14): the analysis
 * goes on in the analysis pool (or the background queue) and its report is written back, so the next
 * patient-view shows the findings. Info only: no finding is known yet, so none is shown or implied.
 * Kept beside cards.ts (which another change is editing) and free of links, whose origin policy lives there.
 */
import { AI_NOTICE, type CardOptions, stableUuid } from './cards.js';
import type { Card } from './types.js';

export interface PendingEcg {
  readonly observationId: string;
  readonly versionId?: string;
}

export function analysisPendingCard(ecg: PendingEcg, opts: CardOptions): Card {
  return {
    uuid: stableUuid(`${ecg.observationId}|${ecg.versionId ?? ''}|pending`),
    summary: 'AI ECG analysis in progress: results will appear shortly',
    detail: [
      `**${AI_NOTICE}**`,
      '',
      'A recent ECG of this patient is being analysed by the AI; the analysis did not finish in the time a card may take.',
      'No finding is shown for it and none is implied. Its report is saved when the analysis completes:',
      'open the patient again in a minute to see the AI results, or read the tracing directly.',
    ].join('\n'),
    indicator: 'info',
    source: { label: opts.sourceLabel, url: opts.modelCardUrl },
  };
}
