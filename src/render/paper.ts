/**
 * Standard ECG paper in SVG user units of one millimetre: 25 mm/s, 10 mm/mV, a 1 mm minor and a 5 mm
 * major grid (AHA/ACCF/HRS recommendations for the standardization of the ECG, Kligfield et al.,
 * Circulation 2007;115:1306). Pure string building: no DOM, so Node tests read the same SVG a browser draws.
 */
import type { BeatClass, EcgView, TimeSpan, TraceLead, ViewFinding, ViewRun } from './types.js';

export const MM_PER_S = 25;
export const MM_PER_MV = 10;
/** Screen pixels per millimetre of paper (≈ 96 dpi × 1.06: a little larger than life, easier to read). */
export const PX_PER_MM = 4;

/** Colour of each beat class's label (N stays quiet; ectopy stands out). */
export const BEAT_COLOURS: Readonly<Record<BeatClass, string>> = {
  N: '#4b5563',
  S: '#1d4ed8',
  V: '#b91c1c',
  F: '#c2410c',
  Q: '#111827',
};

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Fixed-point number for SVG coordinates (2 decimals, no trailing zeros). */
export const n = (v: number): string => String(Math.round(v * 100) / 100);

/** `<svg>` root in millimetres, `widthMm × heightMm` of paper. */
export function svgRoot(widthMm: number, heightMm: number, cls: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="ecg-paper ${cls}" width="${n(widthMm * PX_PER_MM)}" ` +
    `height="${n(heightMm * PX_PER_MM)}" viewBox="0 0 ${n(widthMm)} ${n(heightMm)}" ` +
    `data-mm-per-s="${MM_PER_S}" data-mm-per-mv="${MM_PER_MV}" role="img">${gridDefs()}` +
    `<rect class="grid" x="0" y="0" width="${n(widthMm)}" height="${n(heightMm)}" fill="url(#ecg-grid-major)"/>` +
    `${body}</svg>`
  );
}

/** The grid as two patterns: 1 mm minor lines inside 5 mm major squares. */
function gridDefs(): string {
  return (
    '<defs>' +
    '<pattern id="ecg-grid-minor" class="grid-minor" width="1" height="1" patternUnits="userSpaceOnUse">' +
    '<path d="M 1 0 L 0 0 0 1" fill="none" stroke="#f6c9c9" stroke-width="0.05"/></pattern>' +
    '<pattern id="ecg-grid-major" class="grid-major" width="5" height="5" patternUnits="userSpaceOnUse">' +
    '<rect width="5" height="5" fill="#fff8f8"/><rect width="5" height="5" fill="url(#ecg-grid-minor)"/>' +
    '<path d="M 5 0 L 0 0 0 5" fill="none" stroke="#e59a9a" stroke-width="0.15"/></pattern>' +
    '</defs>'
  );
}

/** The 1 mV, 200 ms calibration pulse (10 mm tall, 5 mm wide) with its baseline at `y`. */
export function calibrationPulse(x: number, y: number): string {
  const h = MM_PER_MV;
  return `<path class="calibration" d="M ${n(x)} ${n(y)} h 1 v ${-h} h 5 v ${h} h 1" fill="none" stroke="#111" stroke-width="0.25"/>`;
}

/** Largest excursion drawn, in mV, so one lead does not scribble over its neighbours. */
const CLAMP_MV = 3;

/**
 * The lead between `t0` and `t1` seconds as one path, x from `x0`, baseline at `y`. Invalid samples
 * break the path (a gap, not a flat line).
 */
export function tracePath(
  lead: TraceLead,
  fs: number,
  t0: number,
  t1: number,
  x0: number,
  y: number,
  clampMv: { readonly up: number; readonly down: number } = { up: CLAMP_MV, down: CLAMP_MV },
): string {
  const from = Math.max(0, Math.floor(t0 * fs));
  const to = Math.min(lead.samples.length, Math.ceil(t1 * fs));
  if (to <= from) return '';
  const mmPerSample = MM_PER_S / fs;
  // Each band is drawn around its own median, as electrocardiographs restore the baseline for display:
  // an electrode offset or slow wander must not push the tracing off its row.
  const offset = bandMedian(lead, from, to);
  const parts: string[] = [];
  let pen = false;
  for (let i = from; i < to; i++) {
    if (lead.invalid?.[i]) {
      pen = false;
      continue;
    }
    const v = Math.max(-clampMv.down, Math.min(clampMv.up, (lead.samples[i] ?? 0) - offset));
    parts.push(`${pen ? 'L' : 'M'}${n(x0 + (i - from) * mmPerSample)} ${n(y - v * MM_PER_MV)}`);
    pen = true;
  }
  return `<path class="trace" data-lead="${esc(lead.name)}" d="${parts.join('')}" fill="none" stroke="#111" stroke-width="0.25" stroke-linejoin="round"/>`;
}

/** Median of the valid samples in [from, to) (0 when none). */
function bandMedian(lead: TraceLead, from: number, to: number): number {
  const v: number[] = [];
  for (let i = from; i < to; i++) if (!lead.invalid?.[i]) v.push(lead.samples[i] ?? 0);
  if (!v.length) return 0;
  v.sort((a, b) => a - b);
  return v[v.length >> 1]!;
}

export interface Band {
  /** Seconds shown: [t0, t1). */
  readonly t0: number;
  readonly t1: number;
  /** Left edge (mm) of t0 and the band's top and height (mm). */
  readonly x0: number;
  readonly top: number;
  readonly height: number;
}

const xOf = (b: Band, t: number) => b.x0 + (t - b.t0) * MM_PER_S;

/** The part of `s` inside the band, or undefined. */
function clip(b: Band, s: TimeSpan): TimeSpan | undefined {
  const start = Math.max(b.t0, s.start);
  const end = Math.min(b.t1, s.end);
  return end > start ? { start, end } : undefined;
}

function spanRect(b: Band, s: TimeSpan, attrs: string): string {
  return `<rect ${attrs} x="${n(xOf(b, s.start))}" y="${n(b.top)}" width="${n((s.end - s.start) * MM_PER_S)}" height="${n(b.height)}"/>`;
}

/** Noisy stretches shaded grey. */
export function noisyShading(b: Band, noisy: readonly TimeSpan[]): string {
  return noisy
    .map((s) => clip(b, s))
    .filter((s): s is TimeSpan => s !== undefined)
    .map((s) => spanRect(b, s, 'class="noisy" fill="#9ca3af" fill-opacity="0.35"'))
    .join('');
}

/** Each finding's saliency spans in amber, more opaque where the decision rests more. */
export function saliencyHighlights(b: Band, findings: readonly ViewFinding[]): string {
  const out: string[] = [];
  for (const f of findings)
    for (const s of f.saliency) {
      const c = clip(b, s);
      if (c)
        out.push(
          spanRect(
            b,
            c,
            `class="saliency" data-finding="${esc(f.code)}" fill="#f59e0b" fill-opacity="${n(0.12 + 0.23 * s.weight)}"`,
          ),
        );
    }
  return out.join('');
}

/** Runs (VT / SVT) outlined in the class's colour, with "V run ×5, 160/min" above. */
export function runOutlines(b: Band, runs: readonly ViewRun[]): string {
  const out: string[] = [];
  for (const r of runs) {
    // The span from the first R peak to the last, widened by 0.2 s each side so the QRS complexes show.
    const c = clip(b, { start: r.start - 0.2, end: r.end + 0.2 });
    if (!c) continue;
    const colour = BEAT_COLOURS[r.label];
    out.push(
      `<g class="run run-${r.label}">${spanRect(b, c, `fill="${colour}" fill-opacity="0.08" stroke="${colour}" stroke-width="0.3"`)}` +
        `<text x="${n(xOf(b, c.start) + 0.5)}" y="${n(b.top + b.height - 1)}" font-size="2.5" fill="${colour}">` +
        `${r.label} run ×${r.beats}, ${Math.round(r.rateBpm)}/min</text></g>`,
    );
  }
  return out.join('');
}

/** One label (N/S/V/F/Q) above each beat; unreliable beats in grey italics. */
export function beatLabels(b: Band, view: EcgView): string {
  const out: string[] = [];
  for (const beat of view.beats) {
    if (beat.time < b.t0 || beat.time >= b.t1) continue;
    const colour = beat.reliable ? BEAT_COLOURS[beat.label] : '#9ca3af';
    const weight = beat.label === 'N' ? 'normal' : 'bold';
    out.push(
      `<text class="beat-label beat-${beat.label}" data-time="${n(beat.time)}" x="${n(xOf(b, beat.time))}" ` +
        `y="${n(b.top + 3)}" font-size="2.8" font-weight="${weight}"${beat.reliable ? '' : ' font-style="italic"'} ` +
        `text-anchor="middle" fill="${colour}">${beat.label}</text>`,
    );
  }
  return out.join('');
}

export function label(x: number, y: number, text: string, cls = 'lead-name'): string {
  return `<text class="${cls}" x="${n(x)}" y="${n(y)}" font-size="3" font-family="sans-serif" fill="#111">${esc(text)}</text>`;
}
