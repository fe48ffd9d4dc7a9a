/**
 * The SMART on FHIR waveform viewer (issue #12 item 3). After the EHR launch (launch.ts) fhirclient
 * completes the authorization code exchange; the token response carries the patient and the CDS card's
 * `appContext` ({"observation": "Observation/<id>", "report": "DiagnosticReport/<id>"}). The viewer reads
 * both, decodes the waveform with the service's own codec, asks the service for the beat-level analysis
 * (/viewer/api/analysis) and draws it with the one renderer: the ECG on paper, the evidence beside it,
 * and the patient's previous ECG beside the current one.
 */
import FHIR from 'fhirclient';
import { decodeEcgObservation } from '../src/fhir/ecg-codec.js';
import { findTraceLead, LONG_RECORDING_S, layoutOf, renderOverview, renderStrips, renderTwelveLead } from '../src/render/ecg-svg.js';
import type { EcgView, Trace } from '../src/render/types.js';
import { el, formatDate, patientName, showError, svgNode } from './dom.js';

type Client = Awaited<ReturnType<typeof FHIR.oauth2.ready>>;

interface Loaded {
  readonly obs: fhir4.Observation;
  readonly trace: Trace;
  readonly view: EcgView;
}

const ECG_CODES = 'http://loinc.org|11524-6,http://loinc.org|34534-8';

async function main(): Promise<void> {
  const client = await FHIR.oauth2.ready();
  const context = parseAppContext(client.state.tokenResponse?.['appContext']);
  if (!context.observation) throw new Error('the launch named no ECG Observation (appContext.observation)');
  const [current, report, patient] = await Promise.all([
    load(client, context.observation),
    context.report ? (client.request(context.report) as Promise<fhir4.DiagnosticReport>).catch(() => undefined) : undefined,
    client.patient.id ? (client.patient.read() as Promise<fhir4.Patient>).catch(() => undefined) : undefined,
  ]);
  const app = document.getElementById('app')!;
  app.replaceChildren(
    banner(patient, current),
    el('main', { class: 'viewer' }, tracing(current), evidence(current.view, report)),
    el('section', { class: 'compare', id: 'compare' }, el('p', { class: 'muted' }, 'Looking for a previous ECG…')),
  );
  document.title = `ECG — ${patientName(patient)}`;
  await comparison(client, current);
}

function parseAppContext(raw: unknown): { observation?: string; report?: string } {
  if (typeof raw !== 'string') return {};
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    const ref = (x: unknown, type: string) =>
      typeof x === 'string' && new RegExp(`^${type}/[A-Za-z0-9\\-.]{1,64}$`).test(x) ? x : undefined;
    return { observation: ref(v['observation'], 'Observation'), report: ref(v['report'], 'DiagnosticReport') };
  } catch {
    return {};
  }
}

async function load(client: Client, ref: string): Promise<Loaded> {
  const obs = (await client.request(ref)) as fhir4.Observation;
  const ecg = decodeEcgObservation(obs);
  const res = await fetch('/viewer/api/analysis', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${client.state.tokenResponse?.access_token ?? ''}`,
    },
    body: JSON.stringify({ fhirServer: client.state.serverUrl, observation: ref }),
  });
  const body = (await res.json()) as { view?: EcgView; error?: string };
  if (!res.ok || !body.view) throw new Error(`analysis failed: ${body.error ?? res.status}`);
  return { obs, trace: { fs: ecg.fs, leads: ecg.leads }, view: body.view };
}

function banner(patient: fhir4.Patient | undefined, ecg: Loaded): HTMLElement {
  const p = patient;
  const bits = [p?.gender, p?.birthDate ? `born ${p.birthDate}` : undefined].filter(Boolean).join(', ');
  const dur = ecg.view.durationSeconds;
  const leads = ecg.trace.leads.map((l) => l.name).join(' ');
  return el(
    'header',
    { class: 'banner' },
    el('h1', {}, patientName(p)),
    el('span', { class: 'muted' }, bits),
    el(
      'span',
      { class: 'ecg-meta' },
      `ECG of ${formatDate(ecg.obs.effectiveDateTime)} · ${ecg.trace.leads.length} lead${ecg.trace.leads.length > 1 ? 's' : ''} (${leads}) · ${dur.toFixed(0)} s · ${ecg.trace.fs} Hz`,
      ecg.view.heartRateBpm ? ` · ${Math.round(ecg.view.heartRateBpm)}/min` : '',
    ),
  );
}

/** The tracing: 12-lead layout, strips, or (long recordings) overview + a window you can move and zoom. */
function tracing(ecg: Loaded): HTMLElement {
  const section = el('section', { class: 'tracing', 'data-layout': layoutOf(ecg.trace) });
  const layout = layoutOf(ecg.trace);
  if (layout === 'twelve-lead') {
    section.append(el('div', { class: 'paper' }, svgNode(renderTwelveLead(ecg.trace, ecg.view))));
    return section;
  }
  if (layout === 'strips') {
    section.append(el('div', { class: 'paper' }, svgNode(renderStrips(ecg.trace, ecg.view))));
    return section;
  }
  // Holter: the whole recording at a glance, then any window of it on paper.
  const dur = ecg.view.durationSeconds;
  let length = 10;
  let start = firstInterestingSecond(ecg.view, length);
  const overview = el('div', { class: 'overview' });
  const paper = el('div', { class: 'paper' });
  const slider = el('input', { type: 'range', min: '0', step: '1', 'aria-label': 'window start (s)' });
  const where = el('span', { class: 'where' });
  const zoom = el('select', { 'aria-label': 'window length' });
  for (const s of [5, 10, 20, 30, 60]) zoom.append(el('option', s === length ? { value: String(s), selected: '' } : { value: String(s) }, `${s} s`));
  const draw = () => {
    start = Math.max(0, Math.min(start, Math.max(0, dur - length)));
    slider.max = String(Math.max(0, Math.floor(dur - length)));
    slider.value = String(Math.floor(start));
    where.textContent = `${clockOf(start)} – ${clockOf(Math.min(dur, start + length))} of ${clockOf(dur)}`;
    overview.replaceChildren(svgNode(renderOverview(ecg.view, { window: { start, end: start + length } })));
    paper.replaceChildren(svgNode(renderStrips(ecg.trace, ecg.view, { start, seconds: length, rowSeconds: Math.min(length, 10) })));
  };
  const step = (k: number) => () => {
    start += k * length;
    draw();
  };
  slider.addEventListener('input', () => {
    start = Number(slider.value);
    draw();
  });
  zoom.addEventListener('change', () => {
    length = Number(zoom.value);
    draw();
  });
  overview.addEventListener('click', (e) => {
    const svg = overview.querySelector('svg');
    if (!svg) return;
    const box = svg.getBoundingClientRect();
    const left = Number(svg.dataset['plotLeft']);
    const width = Number(svg.dataset['plotWidth']);
    const scale = box.width / Number(svg.getAttribute('width'));
    const t = ((e.clientX - box.left) / scale - left) / width;
    start = t * dur - length / 2;
    draw();
  });
  const controls = el(
    'div',
    { class: 'window-controls' },
    el('button', { type: 'button', 'aria-label': 'earlier' }, '◀'),
    slider,
    el('button', { type: 'button', 'aria-label': 'later' }, '▶'),
    zoom,
    where,
  );
  const [prev, , next] = controls.querySelectorAll('button, input');
  prev?.addEventListener('click', step(-1));
  next?.addEventListener('click', step(1));
  section.append(overview, controls, paper);
  draw();
  return section;
}

/** Open the window on the strongest finding's first salient span, else the first noisy stretch, else the start. */
function firstInterestingSecond(view: EcgView, length: number): number {
  const s = view.findings.find((f) => f.saliency.length)?.saliency[0] ?? view.noisy[0];
  return s ? Math.max(0, Math.floor(s.start - length / 4)) : 0;
}

const clockOf = (t: number) => `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}`;

function evidence(view: EcgView, report: fhir4.DiagnosticReport | undefined): HTMLElement {
  const aside = el('aside', { class: 'evidence' }, el('h2', {}, 'Findings'));
  if (view.status === 'unable') aside.append(el('p', { class: 'unable' }, `Unable to analyse: ${view.reason ?? ''}`));
  const list = el('ol', { class: 'findings' });
  for (const f of view.findings)
    list.append(
      el(
        'li',
        { class: 'finding', 'data-code': f.code },
        el('strong', {}, f.title),
        ` — ${formatConfidence(f.confidence)}`,
        f.saliency.length ? el('span', { class: 'swatch', title: 'highlighted on the tracing' }) : undefined,
        el('ul', {}, ...f.evidence.map((e) => el('li', {}, e))),
      ),
    );
  aside.append(list);
  if (view.noisy.length) aside.append(el('p', { class: 'legend-noisy' }, `Grey: ${view.noisy.length} stretch(es) too noisy to read.`));
  for (const l of view.limitations) aside.append(el('p', { class: 'limitation' }, l));
  aside.append(
    el(
      'p',
      { class: 'legend' },
      'Labels above beats: N normal, S supraventricular, V ventricular, F fusion, Q unclassifiable. Amber: where a finding rests. Outlined: runs.',
    ),
  );
  if (report) {
    aside.append(el('h3', {}, 'Report'));
    if (report.conclusion) aside.append(el('p', { class: 'conclusion' }, report.conclusion));
    aside.append(el('p', { class: 'muted' }, `${report.status ?? ''} · issued ${formatDate(report.issued)}`));
  }
  aside.append(el('p', { class: 'ai-notice' }, 'AI-generated, preliminary — requires clinician review.'));
  return aside;
}

const formatConfidence = (p: number) => (p > 0.99 ? '> 99 %' : `${Math.round(p * 100)} %`);

/** The patient's previous ECG (the newest one before this), its first 10 s beside this one's. */
async function comparison(client: Client, current: Loaded): Promise<void> {
  const box = document.getElementById('compare')!;
  const patient = client.patient.id ?? current.obs.subject?.reference?.replace(/^Patient\//, '');
  const when = current.obs.effectiveDateTime ?? '';
  let previousRef: string | undefined;
  if (patient) {
    const bundle = (await client.request(
      `Observation?subject=${encodeURIComponent(`Patient/${patient}`)}&code=${encodeURIComponent(ECG_CODES)}&_sort=-date&_count=20&_elements=id,effectiveDateTime,code,subject`,
    )) as fhir4.Bundle;
    const older = (bundle.entry ?? [])
      .map((e) => e.resource as fhir4.Observation | undefined)
      .filter((o): o is fhir4.Observation => !!o?.id && o.id !== current.obs.id && (o.effectiveDateTime ?? '') < when);
    if (older[0]) previousRef = `Observation/${older[0].id}`;
  }
  if (!previousRef) {
    box.replaceChildren(el('p', { class: 'muted' }, 'No previous ECG for this patient.'));
    return;
  }
  const previous = await load(client, previousRef);
  box.replaceChildren(side('This ECG', current), side(`Previous ECG — ${formatDate(previous.obs.effectiveDateTime)}`, previous));
}

function side(title: string, ecg: Loaded): HTMLElement {
  const lead = findTraceLead(ecg.trace, ecg.view.lead ?? 'II') ?? ecg.trace.leads[0]!;
  const seconds = Math.min(10, ecg.view.durationSeconds || LONG_RECORDING_S);
  const summary =
    ecg.view.status === 'unable'
      ? `Unable to analyse: ${ecg.view.reason ?? ''}`
      : ecg.view.findings.map((f) => f.title).join(', ') || 'no finding';
  return el(
    'figure',
    { class: 'side' },
    el('figcaption', {}, el('strong', {}, title), ` · ${summary}`),
    svgNode(renderStrips({ fs: ecg.trace.fs, leads: [lead] }, ecg.view, { start: 0, seconds })),
  );
}

main().catch((err: unknown) => showError('The ECG could not be shown', err));
