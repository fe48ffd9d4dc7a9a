/**
 * The ECG renderer in Node (issue #12): the SVG's structure on real records analysed by the shipped
 * models — paper scale and grid, the 12-lead layout, beat labels one per beat, highlighted spans where
 * the analysis put them, noisy stretches shaded.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Analysis } from '../../src/inference/analysis/types.js';
import { analyze } from '../../src/inference/analyze.js';
import { durationSeconds, type Ecg } from '../../src/inference/ecg.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { type Engine, loadEngine } from '../../src/inference/model/index.js';
import { clock, layoutOf, renderOverview, renderStrips, renderTwelveLead } from '../../src/render/ecg-svg.js';
import type { EcgView, Trace } from '../../src/render/types.js';
import { mergeSpans, viewOfAnalysis } from '../../src/render/view.js';
import { FIXTURES, REPO_ROOT } from '../support/shared-data.js';

let engine: Engine;
before(async () => {
  engine = await loadEngine(join(REPO_ROOT, 'models'));
});
after(() => engine?.dispose());

async function load(path: string): Promise<{ ecg: Ecg; trace: Trace; view: EcgView; analysis: Analysis }> {
  const { ecg } = await readWfdbRecord(join(FIXTURES, path));
  const result = await analyze(ecg, engine);
  assert.equal(result.status, 'ok');
  const trace: Trace = { fs: ecg.fs, leads: ecg.leads };
  return { ecg, trace, view: viewOfAnalysis(result, durationSeconds(ecg)), analysis: result as Analysis };
}

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;
const attrs = (svg: string, cls: string, attr: string) =>
  [...svg.matchAll(new RegExp(`<[^>]*class="${cls}"[^>]*>`, 'g'))].map((m) =>
    Number(new RegExp(`${attr}="([-\\d.]+)"`).exec(m[0])?.[1]),
  );

describe('ECG paper', () => {
  it('draws 1 mm minor and 5 mm major grid squares in a millimetre viewBox at 25 mm/s and 10 mm/mV', async () => {
    const { trace, view } = await load('mitdb/mitdb-119-21m-24m');
    const svg = renderStrips(trace, view, { start: 0, seconds: 10 });
    assert.match(svg, /<pattern id="ecg-grid-minor"[^>]* width="1" height="1"/);
    assert.match(svg, /<pattern id="ecg-grid-major"[^>]* width="5" height="5"/);
    assert.match(svg, /data-mm-per-s="25" data-mm-per-mv="10"/);
    // The calibration pulse is 10 mm (1 mV) tall and 5 mm (200 ms) wide.
    assert.match(svg, /class="calibration" d="M [\d.]+ [\d.]+ h 1 v -10 h 5 v 10 h 1"/);
    // One row per lead for a 10-s window of a two-lead record; the trace spans 10 s × 25 mm/s = 250 mm.
    assert.equal(count(svg, /class="strip"/g), 2);
    const d = /class="trace" data-lead="[^"]+" d="([^"]+)"/.exec(svg)![1]!;
    const xs = [...d.matchAll(/[ML]([-\d.]+) /g)].map((m) => Number(m[1]));
    assert.ok(Math.abs(xs[xs.length - 1]! - xs[0]! - 250) < 0.1, `span ${xs[xs.length - 1]! - xs[0]!} mm`);
  });

  it('puts one label above each beat in the window, V labels where the analysis found PVCs', async () => {
    const { trace, view } = await load('mitdb/mitdb-119-21m-24m');
    const svg = renderStrips(trace, view, { start: 30, seconds: 20 });
    const inWindow = view.beats.filter((b) => b.time >= 30 && b.time < 50);
    assert.ok(inWindow.length > 15);
    assert.equal(count(svg, /class="beat-label /g), inWindow.length);
    const v = inWindow.filter((b) => b.label === 'V').length;
    assert.ok(v > 3, `bigeminy excerpt: ${v} V beats in 20 s`);
    assert.equal(count(svg, /class="beat-label beat-V"/g), v);
    // Labels sit at the beat's time on paper: x = 10 mm margin + (t − row start) × 25 mm/s.
    const first = inWindow[0]!;
    const x = Number(
      new RegExp(`data-time="${Math.round(first.time * 100) / 100}" x="([\\d.]+)"`).exec(svg)![1],
    );
    assert.ok(Math.abs(x - (10 + (first.time - 30) * 25)) < 0.02);
  });

  it('highlights each finding’s saliency spans in the window', async () => {
    const { trace, view } = await load('mitdb/mitdb-119-21m-24m');
    const spans = view.findings.flatMap((f) => f.saliency.map((s) => ({ ...s, code: f.code })));
    assert.ok(spans.length > 0, 'the bigeminy excerpt has salient spans');
    const s = spans[0]!;
    const start = Math.floor(s.start / 10) * 10;
    const svg = renderStrips(trace, view, { start, seconds: 10 });
    const rects = [
      ...svg.matchAll(/<rect class="saliency" data-finding="([^"]+)"[^>]*x="([\d.]+)"[^>]*width="([\d.]+)"/g),
    ];
    const mine = rects.filter((m) => m[1] === s.code);
    assert.ok(mine.length > 0);
    const expectX = 10 + (Math.max(s.start, start) - start) * 25;
    assert.ok(
      mine.some((m) => Math.abs(Number(m[2]) - expectX) < 0.02),
      `x ${expectX}`,
    );
  });

  it('lays 12 leads out 3 × 4 over a lead II rhythm strip with beat labels', async () => {
    const { trace, view } = await load('ptbxl/00318_hr');
    assert.equal(layoutOf(trace), 'twelve-lead');
    const svg = renderTwelveLead(trace, view);
    const names = [...svg.matchAll(/class="lead-name"[^>]*>([^<]+)</g)].map((m) => m[1]);
    assert.deepEqual(names.slice(0, 12), [
      'I',
      'aVR',
      'V1',
      'V4',
      'II',
      'aVL',
      'V2',
      'V5',
      'III',
      'aVF',
      'V3',
      'V6',
    ]);
    assert.equal(count(svg, /class="trace"/g), 13);
    // Each cell is 2.5 s = 62.5 mm: the four columns start at 10, 72.5, 135, 197.5 mm.
    const starts = [...svg.matchAll(/class="trace" data-lead="[^"]+" d="M([\d.]+) /g)]
      .slice(0, 4)
      .map((m) => Number(m[1]));
    assert.deepEqual(starts, [10, 72.5, 135, 197.5]);
    assert.match(svg, /<g class="rhythm-strip">/);
    assert.equal(count(svg, /class="beat-label /g), view.beats.filter((b) => b.time < 10).length);
  });

  it('shades noisy stretches (0 dB electrode-motion noise)', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'nstdb/nstdb-118e00-5m-7m'));
    const result = await analyze(ecg, engine);
    // The noise strip is unable to analyse: the view says why and draws the trace alone.
    const view = viewOfAnalysis(result, durationSeconds(ecg));
    assert.equal(view.status, 'unable');
    assert.ok(view.reason);
    const noisy: EcgView = { ...view, noisy: [{ start: 2, end: 5 }] };
    const svg = renderStrips({ fs: ecg.fs, leads: ecg.leads }, noisy, { start: 0, seconds: 10 });
    const widths = attrs(svg, 'noisy', 'width');
    assert.deepEqual(widths, [75, 75]); // 3 s × 25 mm/s, under each of the two leads
  });
});

describe('Holter overview', () => {
  it('draws a heart-rate trend, a beat-class timeline and the window outline over the whole recording', async () => {
    const { trace, view } = await load('mitdb/mitdb-119-21m-24m');
    assert.equal(layoutOf(trace), 'holter');
    const svg = renderOverview(view, { window: { start: 60, end: 70 } });
    assert.match(svg, /class="hr-trend" d="M/);
    assert.ok(count(svg, /class="timeline-beat timeline-N"/g) > 100);
    assert.ok(count(svg, /class="timeline-beat timeline-V"/g) > 50);
    const w = /class="overview-window" data-start="60" data-end="70" x="([\d.]+)"/.exec(svg);
    assert.ok(w);
    // x = left 40 + 60 s / 180 s × 950 px
    assert.ok(Math.abs(Number(w[1]) - (40 + (60 / view.durationSeconds) * 950)) < 0.02);
  });

  it('clock and span merging', () => {
    assert.equal(clock(75), '1:15');
    assert.equal(clock(3725), '1:02:05');
    assert.deepEqual(
      mergeSpans([
        { start: 4, end: 6 },
        { start: 0, end: 2 },
        { start: 2, end: 3 },
      ]),
      [
        { start: 0, end: 3 },
        { start: 4, end: 6 },
      ],
    );
  });
});
