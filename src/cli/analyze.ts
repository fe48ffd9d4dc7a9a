/**
 * `ecg-cds analyze <WFDB record | Observation JSON file> [--json] [--html <file>]` (issue #12 item 6):
 * analyse a local ECG with the shipped models and print its findings. `--json` prints the analysis
 * (beats, runs, findings, quality; never the samples); `--html` writes one self-contained page (inline
 * CSS and SVG, no script, no external request) drawn by the viewer's renderer, so it opens offline and
 * can be attached to a referral.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { type DecodeError, decodeEcgObservation } from '../fhir/ecg-codec.js';
import { formatConfidence } from '../inference/analysis/calibration.js';
import type { AnalysisResult, ModelInfo } from '../inference/analysis/types.js';
import { analyze } from '../inference/analyze.js';
import { durationSeconds, type Ecg } from '../inference/ecg.js';
import { readWfdbRecord } from '../inference/io/record.js';
import { type ExecutionProvider, loadEngine } from '../inference/model/index.js';
import { clock, layoutOf, renderOverview, renderStrips, renderTwelveLead } from '../render/ecg-svg.js';
import { esc } from '../render/paper.js';
import type { EcgView, Trace } from '../render/types.js';
import { viewOfEcg } from '../render/view.js';

export const AI_NOTICE = 'AI-generated, preliminary — requires clinician review.';
/** Longest stretch drawn as strips in the page (a Holter recording gets its overview plus this much). */
const HTML_MAX_STRIP_SECONDS = 600;

export interface AnalyzeOptions {
  readonly input: string;
  readonly json: boolean;
  readonly html?: string;
  readonly models: string;
  readonly provider: ExecutionProvider;
}

/** An input the user can fix (unreadable file, an Observation the codec refuses): exit code 2, no stack. */
export class AnalyzeInputError extends Error {
  override readonly name = 'UsageError';
}

/** A FHIR Observation JSON file (by extension or by its first character), else a WFDB record path. */
async function readInput(input: string): Promise<Ecg> {
  const text = /\.json$/i.test(input)
    ? await readFile(input, 'utf8').catch((e: Error) => {
        throw new AnalyzeInputError(`analyze: cannot read ${input} (${e.message})`);
      })
    : await readFile(input, 'utf8')
        .then((t) => (t.trimStart().startsWith('{') ? t : undefined))
        .catch(() => undefined);
  if (text === undefined) return (await readWfdbRecord(input)).ecg;
  let obs: unknown;
  try {
    obs = JSON.parse(text);
  } catch (e) {
    throw new AnalyzeInputError(`analyze: ${input} is not JSON (${(e as Error).message})`);
  }
  try {
    return decodeEcgObservation(obs);
  } catch (e) {
    if ((e as Error).name !== 'DecodeError') throw e;
    const d = e as DecodeError;
    const where = d.path && !d.message.startsWith(d.path) ? `${d.path}: ` : '';
    throw new AnalyzeInputError(`analyze: ${input}: not a usable ECG Observation: ${where}${d.message}`);
  }
}

const describeEcg = (ecg: Ecg) =>
  `${ecg.leads.length} lead${ecg.leads.length === 1 ? '' : 's'} (${ecg.leads.map((l) => l.name).join(' ')}), ` +
  `${clock(durationSeconds(ecg))} at ${ecg.fs} Hz`;

const modelLine = (models: readonly ModelInfo[]) => models.map((m) => `${m.id} ${m.version}`).join(', ');

/** The findings as text: title and confidence, evidence lines, or why the ECG could not be analysed. */
export function formatAnalysisText(ecg: Ecg, result: AnalysisResult, models: readonly ModelInfo[]): string {
  const lines = [`${ecg.sourceId}: ${describeEcg(ecg)}`];
  if (result.status === 'unable') {
    lines.push(`Unable to analyse: ${result.reason}`);
  } else {
    if (result.heartRateBpm !== null) lines.push(`Heart rate ${Math.round(result.heartRateBpm)}/min`);
    lines.push(result.findings.length ? 'Findings:' : 'No finding.');
    for (const f of result.findings) {
      lines.push(`  ${f.title} (confidence ${formatConfidence(f.confidence)})`);
      for (const e of f.evidence) lines.push(`    - ${e}`);
    }
    for (const l of result.limitations) lines.push(`Limitation: ${l}`);
  }
  lines.push(`Models: ${modelLine(models)}`, AI_NOTICE);
  return `${lines.join('\n')}\n`;
}

/** The tracing as the viewer draws it; a Holter recording gets its overview then strips (no scrolling offline). */
function tracingSvg(trace: Trace, view: EcgView): string {
  const layout = layoutOf(trace);
  if (layout === 'twelve-lead') return renderTwelveLead(trace, view);
  if (layout === 'strips') return renderStrips(trace, view);
  const shown = Math.min(view.durationSeconds, HTML_MAX_STRIP_SECONDS);
  const note =
    shown < view.durationSeconds
      ? `<p class="muted">Strips show the first ${esc(clock(shown))} of ${esc(clock(view.durationSeconds))}; the overview shows all of it.</p>`
      : '';
  return (
    `<div class="overview">${renderOverview(view)}</div>${note}` +
    `<div class="paper">${renderStrips(trace, view, { start: 0, seconds: shown })}</div>`
  );
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#111827;background:#fff}
h1{font-size:1.3rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1rem 0 .4rem}
.muted{color:#6b7280;font-size:.9rem}
.layout{display:flex;gap:1.5rem;align-items:flex-start;flex-wrap:wrap}
.tracing{flex:1 1 60%;overflow-x:auto}.tracing svg{display:block;max-width:none}
aside{flex:0 1 22rem;border-left:3px solid #e5e7eb;padding-left:1rem}
.finding h3{font-size:1rem;margin:.6rem 0 .2rem}.finding ul{margin:.2rem 0;padding-left:1.2rem}
.confidence{color:#374151;font-weight:normal}
.unable{background:#fef3c7;padding:.5rem .8rem;border-radius:4px}
.ai-notice{background:#eef2ff;border:1px solid #c7d2fe;padding:.5rem .8rem;border-radius:4px;font-weight:600}
@media print{.tracing{overflow:visible}}
`;

/** One self-contained HTML page: the tracing (inline SVG) with the findings and evidence beside it. */
export function renderAnalysisHtml(
  ecg: Ecg,
  result: AnalysisResult,
  models: readonly ModelInfo[],
  generatedAt: Date = new Date(),
): string {
  const view = viewOfEcg(ecg, result);
  const trace: Trace = { fs: ecg.fs, leads: ecg.leads };
  const aside: string[] = [];
  if (view.status === 'unable') {
    aside.push(`<p class="unable">Unable to analyse: ${esc(view.reason ?? '')}</p>`);
  } else {
    if (view.heartRateBpm !== null) aside.push(`<p>Heart rate ${Math.round(view.heartRateBpm)}/min</p>`);
    aside.push('<h2>Findings</h2>');
    if (!view.findings.length) aside.push('<p>No finding.</p>');
    for (const f of view.findings)
      aside.push(
        `<section class="finding" data-code="${esc(f.code)}"><h3>${esc(f.title)} ` +
          `<span class="confidence">${esc(formatConfidence(f.confidence))}</span></h3>` +
          `<ul>${f.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul></section>`,
      );
    if (view.noisy.length)
      aside.push(`<p class="muted">Grey: ${view.noisy.length} stretch(es) too noisy to read.</p>`);
    for (const l of view.limitations) aside.push(`<p class="muted">${esc(l)}</p>`);
    aside.push(
      '<p class="muted">Labels above beats: N normal, S supraventricular, V ventricular, F fusion, ' +
        'Q unclassifiable. Amber: where a finding rests. Outlined: runs. 25 mm/s, 10 mm/mV.</p>',
    );
  }
  aside.push(`<p class="muted">Models: ${esc(modelLine(models))}</p>`);
  aside.push(`<p class="ai-notice">${esc(AI_NOTICE)}</p>`);
  const title = `ECG analysis — ${ecg.sourceId}`;
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body>` +
    `<header><h1>${esc(title)}</h1><p class="muted">${esc(describeEcg(ecg))} · analysed ` +
    `${esc(generatedAt.toISOString().slice(0, 16).replace('T', ' '))} UTC</p></header>` +
    `<div class="layout"><section class="tracing" data-layout="${layoutOf(trace)}">${tracingSvg(trace, view)}</section>` +
    `<aside>${aside.join('')}</aside></div></body></html>\n`
  );
}

/** Run the command; writes to `out`. */
export async function runAnalyze(
  opts: AnalyzeOptions,
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const ecg = await readInput(opts.input);
  const engine = await loadEngine(opts.models, { provider: opts.provider });
  let result: AnalysisResult;
  let models: ModelInfo[];
  try {
    result = await analyze(ecg, engine);
    models = [engine.beat, engine.rhythm, engine.quality].map((m) => ({
      id: m.manifest.id,
      version: m.manifest.version,
      provider: m.provider,
    }));
  } finally {
    await engine.dispose();
  }
  if (result.status === 'ok') models = [...result.models];
  out(opts.json ? `${JSON.stringify(result)}\n` : formatAnalysisText(ecg, result, models));
  if (opts.html)
    await writeFile(opts.html, renderAnalysisHtml(ecg, result, models)).catch((e: Error) => {
      throw new AnalyzeInputError(`analyze: cannot write --html ${opts.html} (${e.message})`);
    });
  return 0;
}
