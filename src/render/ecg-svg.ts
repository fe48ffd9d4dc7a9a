/**
 * The ECG renderer (issue #12): samples + analysis view → SVG on standard ECG paper. One pure module
 * (no DOM globals) used by the SMART viewer, the demo EHR and `analyze --html`, tested in Node.
 *   - 12 leads: the 3×4 layout (I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6, 2.5 s each) over a 10-s
 *     lead II rhythm strip, as printed by electrocardiographs.
 *   - one or two leads: strips of `rowSeconds`, every lead in each row.
 *   - long (Holter) recordings: `renderOverview` (heart-rate trend, beat-class timeline) and a window of
 *     strips anywhere in the recording (`renderStrips` with `start`).
 * Beat labels sit above the beats, runs are outlined, each finding's saliency spans are amber and
 * noisy stretches grey.
 */
import {
  type Band,
  beatLabels,
  calibrationPulse,
  esc,
  label,
  MM_PER_S,
  n,
  noisyShading,
  runOutlines,
  saliencyHighlights,
  svgRoot,
  tracePath,
} from './paper.js';
import type { EcgView, Trace, TraceLead } from './types.js';

export { MM_PER_MV, MM_PER_S, PX_PER_MM } from './paper.js';

/** Recordings longer than this get the Holter overview and a window (seconds). */
export const LONG_RECORDING_S = 60;
const LEFT_MM = 10;
const RIGHT_MM = 5;
const ROW_MM = 25;
/** Strip rows: a 4 mm band for beat labels, then room for 1.8 mV up and 1.2 mV down of trace. */
const STRIP_MM = 35;
const STRIP_BASELINE_MM = 22;
const STRIP_CLAMP = { up: 1.8, down: 1.2 };
const TWELVE = [
  ['I', 'aVR', 'V1', 'V4'],
  ['II', 'aVL', 'V2', 'V5'],
  ['III', 'aVF', 'V3', 'V6'],
] as const;

const canon = (name: string) => {
  const u = name.trim().toUpperCase().replace(/\s+/g, '').replace(/^LEAD/, '');
  return u === 'MLII' ? 'II' : u;
};
export const findTraceLead = (trace: Trace, name: string): TraceLead | undefined =>
  trace.leads.find((l) => canon(l.name) === canon(name));
const durationOf = (trace: Trace) => (trace.leads[0]?.samples.length ?? 0) / trace.fs;

/** True when the trace holds the twelve standard leads. */
export function isTwelveLead(trace: Trace): boolean {
  return TWELVE.flat().every((name) => findTraceLead(trace, name));
}

/** Annotations of one band: shading under the trace, labels above it. */
function annotate(b: Band, view: EcgView | undefined, withLabels: boolean): { under: string; over: string } {
  if (!view) return { under: '', over: '' };
  return {
    under: noisyShading(b, view.noisy) + saliencyHighlights(b, view.findings) + runOutlines(b, view.runs),
    over: withLabels ? beatLabels(b, view) : '',
  };
}

/** The 3×4 12-lead layout with a lead II rhythm strip (10 s, or the recording if shorter). */
export function renderTwelveLead(trace: Trace, view?: EcgView): string {
  const seconds = Math.min(10, durationOf(trace));
  const cell = seconds / 4;
  const width = LEFT_MM + seconds * MM_PER_S + RIGHT_MM;
  const rhythmTop = 3 * ROW_MM + 2;
  const height = rhythmTop + ROW_MM + 5;
  const parts: string[] = [];
  TWELVE.forEach((row, r) => {
    const baseline = r * ROW_MM + ROW_MM * 0.6;
    parts.push(calibrationPulse(1, baseline));
    row.forEach((name, c) => {
      const lead = findTraceLead(trace, name);
      const x0 = LEFT_MM + c * cell * MM_PER_S;
      const b: Band = { t0: c * cell, t1: (c + 1) * cell, x0, top: r * ROW_MM, height: ROW_MM };
      parts.push(view ? noisyShading(b, view.noisy) : '');
      if (lead) parts.push(tracePath(lead, trace.fs, b.t0, b.t1, x0, baseline));
      parts.push(label(x0 + 1, r * ROW_MM + 4, name));
      // The lead change marker between cells, as on printed ECGs.
      if (c > 0)
        parts.push(
          `<path class="lead-change" d="M ${n(x0)} ${n(baseline - 3)} v 6" stroke="#111" stroke-width="0.25"/>`,
        );
    });
  });
  const rhythm = findTraceLead(trace, 'II') ?? trace.leads[0];
  if (rhythm) {
    const b: Band = { t0: 0, t1: seconds, x0: LEFT_MM, top: rhythmTop, height: ROW_MM };
    const baseline = rhythmTop + ROW_MM * 0.6;
    const a = annotate(b, view, true);
    parts.push(
      `<g class="rhythm-strip">${a.under}${calibrationPulse(1, baseline)}` +
        `${tracePath(rhythm, trace.fs, 0, seconds, LEFT_MM, baseline)}${label(LEFT_MM + 1, rhythmTop + 7, rhythm.name)}${a.over}</g>`,
    );
  }
  return svgRoot(width, height, 'ecg-12-lead', parts.join(''));
}

export interface StripOptions {
  /** First second shown (default 0). */
  readonly start?: number;
  /** Seconds shown (default: the whole recording from `start`). */
  readonly seconds?: number;
  /** Seconds per row (default 10). */
  readonly rowSeconds?: number;
}

/** One- and two-lead strips: rows of `rowSeconds`, each row every lead, beat labels on the first. */
export function renderStrips(trace: Trace, view?: EcgView, opts: StripOptions = {}): string {
  const total = durationOf(trace);
  const start = Math.max(0, Math.min(opts.start ?? 0, Math.max(0, total - 0.001)));
  const end = Math.min(total, start + (opts.seconds ?? total));
  const rowSeconds = opts.rowSeconds ?? 10;
  const width = LEFT_MM + rowSeconds * MM_PER_S + RIGHT_MM;
  const parts: string[] = [];
  let top = 0;
  for (let t0 = start; t0 < end - 1e-9; t0 += rowSeconds) {
    const t1 = Math.min(end, t0 + rowSeconds);
    trace.leads.forEach((lead, i) => {
      const b: Band = { t0, t1, x0: LEFT_MM, top, height: STRIP_MM };
      const baseline = top + STRIP_BASELINE_MM;
      const a = annotate(b, view, i === 0);
      parts.push(
        `<g class="strip" data-lead="${esc(lead.name)}" data-start="${n(t0)}" data-end="${n(t1)}">${a.under}` +
          `${calibrationPulse(1, baseline)}${tracePath(lead, trace.fs, t0, t1, LEFT_MM, baseline, STRIP_CLAMP)}` +
          `${label(LEFT_MM + 1, top + STRIP_MM - 1.5, `${lead.name}  ${clock(t0)}`)}${a.over}</g>`,
      );
      top += STRIP_MM;
    });
  }
  return svgRoot(width, Math.max(top, STRIP_MM) + 2, 'ecg-strips', parts.join(''));
}

/** m:ss from the start of the recording. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** How the renderer would draw the whole trace: 12-lead layout, strips, or overview + window. */
export type Layout = 'twelve-lead' | 'strips' | 'holter';

export function layoutOf(trace: Trace): Layout {
  if (isTwelveLead(trace)) return 'twelve-lead';
  return durationOf(trace) > LONG_RECORDING_S ? 'holter' : 'strips';
}

export { renderOverview } from './overview.js';
