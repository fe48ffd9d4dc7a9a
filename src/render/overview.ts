/**
 * The Holter overview: the whole recording at a glance, a heart-rate trend over a beat-class timeline
 * (one raster row per AAMI class), noisy stretches shaded, each finding's saliency marked and the
 * window shown on paper outlined. Screen units, not paper: this is a chart, not a tracing.
 */
import { BEAT_COLOURS, esc, n } from './paper.js';
import type { BeatClass, EcgView, TimeSpan } from './types.js';

const W = 1000;
const LEFT = 40;
const PLOT = W - LEFT - 10;
const HR_TOP = 18;
const HR_H = 80;
const TL_TOP = HR_TOP + HR_H + 14;
const ROW = 9;
const CLASSES: readonly BeatClass[] = ['N', 'S', 'V', 'F', 'Q'];
const HR_MIN = 30;
const HR_MAX = 200;
/** Columns of the beat-class raster and the heart-rate trend. */
const BINS = 400;

export interface OverviewOptions {
  /** The window drawn on paper, outlined on the overview. */
  readonly window?: TimeSpan;
}

/** Heart-rate trend + beat-class timeline of the whole recording (see the module comment). */
export function renderOverview(view: EcgView, opts: OverviewOptions = {}): string {
  const dur = Math.max(view.durationSeconds, 1e-3);
  const x = (t: number) => LEFT + (t / dur) * PLOT;
  const height = TL_TOP + CLASSES.length * ROW + 22;
  const parts: string[] = [];
  const shade = (s: TimeSpan, cls: string, fill: string, top: number, h: number) =>
    `<rect class="${cls}" x="${n(x(s.start))}" y="${n(top)}" width="${n(Math.max(1, x(s.end) - x(s.start)))}" height="${n(h)}" fill="${fill}"/>`;
  for (const s of view.noisy)
    parts.push(shade(s, 'noisy', '#d1d5db', HR_TOP, TL_TOP + CLASSES.length * ROW - HR_TOP));
  for (const f of view.findings)
    for (const s of f.saliency)
      parts.push(
        shade(s, 'saliency', '#f59e0b', 4, 8).replace(
          'class="saliency"',
          `class="saliency" data-finding="${esc(f.code)}"`,
        ),
      );

  // Heart rate: median instantaneous rate (60 / RR) of the reliable beats in each bin.
  const hr = binnedRate(view, dur);
  const y = (bpm: number) =>
    HR_TOP + HR_H - ((Math.min(HR_MAX, Math.max(HR_MIN, bpm)) - HR_MIN) / (HR_MAX - HR_MIN)) * HR_H;
  for (const bpm of [60, 100, 150])
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + PLOT}" y1="${n(y(bpm))}" y2="${n(y(bpm))}" stroke="#e5e7eb"/>` +
        `<text x="${LEFT - 4}" y="${n(y(bpm) + 3)}" font-size="9" text-anchor="end" fill="#6b7280">${bpm}</text>`,
    );
  const segs: string[] = [];
  let pen = false;
  hr.forEach((bpm, i) => {
    if (bpm === undefined) {
      pen = false;
      return;
    }
    segs.push(`${pen ? 'L' : 'M'}${n(x(((i + 0.5) / hr.length) * dur))} ${n(y(bpm))}`);
    pen = true;
  });
  parts.push(`<path class="hr-trend" d="${segs.join('')}" fill="none" stroke="#2563eb" stroke-width="1.5"/>`);
  parts.push(`<text x="${LEFT}" y="${HR_TOP - 4}" font-size="10" fill="#374151">Heart rate (/min)</text>`);

  // Beat classes: a mark in a class's row for every bin holding such a beat.
  const seen = CLASSES.map(() => new Uint8Array(BINS));
  for (const b of view.beats) {
    const i = Math.min(BINS - 1, Math.floor((b.time / dur) * BINS));
    seen[CLASSES.indexOf(b.label)]![i] = 1;
  }
  CLASSES.forEach((c, r) => {
    const top = TL_TOP + r * ROW;
    parts.push(
      `<text x="${LEFT - 4}" y="${top + ROW - 1}" font-size="9" text-anchor="end" fill="${BEAT_COLOURS[c]}">${c}</text>`,
    );
    const row = seen[r]!;
    for (let i = 0; i < BINS; i++)
      if (row[i])
        parts.push(
          `<rect class="timeline-beat timeline-${c}" x="${n(LEFT + (i / BINS) * PLOT)}" y="${top + 1}" width="${n(PLOT / BINS + 0.3)}" height="${ROW - 2}" fill="${BEAT_COLOURS[c]}"/>`,
        );
  });
  // Time axis: a tick per 1/8 of the recording.
  for (let k = 0; k <= 8; k++) {
    const t = (k / 8) * dur;
    parts.push(
      `<text x="${n(x(t))}" y="${height - 6}" font-size="9" text-anchor="middle" fill="#6b7280">${minutes(t)}</text>`,
    );
  }
  if (opts.window)
    parts.push(
      `<rect class="overview-window" data-start="${n(opts.window.start)}" data-end="${n(opts.window.end)}" ` +
        `x="${n(x(opts.window.start))}" y="${HR_TOP - 2}" width="${n(Math.max(2, x(opts.window.end) - x(opts.window.start)))}" ` +
        `height="${n(TL_TOP + CLASSES.length * ROW - HR_TOP + 4)}" fill="#2563eb" fill-opacity="0.08" stroke="#2563eb" stroke-width="1.5"/>`,
    );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="ecg-overview" width="${W}" height="${height}" ` +
    `viewBox="0 0 ${W} ${height}" data-duration="${n(dur)}" data-plot-left="${LEFT}" data-plot-width="${PLOT}" role="img">` +
    `<rect width="${W}" height="${height}" fill="#fff"/>${parts.join('')}</svg>`
  );
}

/** Heart-rate trend bins: at least 5 s each, so one bin's median is a rate, not one RR interval. */
const HR_BIN_S = 5;

function binnedRate(view: EcgView, dur: number): (number | undefined)[] {
  const count = Math.max(1, Math.min(BINS, Math.ceil(dur / HR_BIN_S)));
  const bins: number[][] = Array.from({ length: count }, () => []);
  const beats = view.beats;
  for (let i = 1; i < beats.length; i++) {
    const a = beats[i - 1]!;
    const b = beats[i]!;
    const rr = b.time - a.time;
    if (!a.reliable || !b.reliable || rr <= 0.2 || rr > 3) continue;
    bins[Math.min(count - 1, Math.floor((b.time / dur) * count))]!.push(60 / rr);
  }
  return bins.map((v) => {
    if (!v.length) return undefined;
    const s = v.sort((p, q) => p - q);
    return s[Math.floor(s.length / 2)];
  });
}

function minutes(t: number): string {
  const m = Math.floor(t / 60);
  const s = Math.round(t % 60);
  return `${m}:${String(s === 60 ? 0 : s).padStart(2, '0')}`;
}
