/**
 * The demo EHR (issue #12 item 4), demo mode only: what a newcomer sees at `/`. A patient list from the
 * embedded FHIR server; opening a patient fires `patient-view` as an EHR does (discovery, prefetch filled
 * from its templates, a CDS client JWT for the exact URL — signed by the server's dev key, which the
 * browser cannot hold); the cards are drawn with their indicator, sanitized markdown detail, links,
 * suggestions and override reasons; a SMART link launches the viewer (launch context registered with the
 * dev authorization server); accepting or dismissing posts CDS Hooks feedback.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';
import { el, patientName, showError } from './dom.js';

interface Coding {
  system: string;
  code: string;
  display?: string;
}
interface Link {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
}
interface Suggestion {
  label: string;
  uuid?: string;
  isRecommended?: boolean;
  actions?: { type: string; description: string; resource?: fhir4.FhirResource }[];
}
interface Card {
  uuid?: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; url?: string; topic?: Coding };
  links?: Link[];
  suggestions?: Suggestion[];
  selectionBehavior?: string;
  overrideReasons?: Coding[];
}
interface Service {
  id: string;
  hook: string;
  title?: string;
  prefetch?: Record<string, string>;
}

const base = window.location.origin;
const fhirBase = `${base}/fhir`;
const USER = 'Practitioner/demo';

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new Error(`${res.status} ${body.error ?? res.statusText} (${new URL(url, base).pathname})`);
  return body;
}

/** A single-use CDS client JWT for exactly `aud` (the URL about to be called). */
async function cdsToken(aud: string): Promise<string> {
  const r = await json<{ token: string }>('/demo-ehr/api/cds-token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ aud }),
  });
  return r.token;
}

async function cdsCall<T>(url: string, body?: unknown): Promise<T> {
  const token = await cdsToken(url);
  return json<T>(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function main(): Promise<void> {
  const bundle = await json<fhir4.Bundle>(`${fhirBase}/Patient?_count=100&_sort=family`);
  const patients = (bundle.entry ?? []).map((e) => e.resource as fhir4.Patient).filter((p) => p?.id);
  const list = el('ul', { class: 'patients' });
  for (const p of patients) {
    const button = el(
      'button',
      { type: 'button', class: 'patient', 'data-patient': p.id! },
      el('strong', {}, patientName(p)),
      el('span', { class: 'muted' }, [p.gender, p.birthDate].filter(Boolean).join(', ')),
    );
    button.addEventListener('click', () => void openPatient(p));
    list.append(el('li', {}, button));
  }
  const app = document.getElementById('app')!;
  app.replaceChildren(
    el('header', { class: 'ehr-bar' }, el('h1', {}, 'Demo EHR'), el('span', { class: 'muted' }, 'ecg-cds demo mode — not for clinical use')),
    el(
      'div',
      { class: 'ehr' },
      el('nav', { class: 'patient-list' }, el('h2', {}, 'Patients'), patients.length ? list : el('p', {}, 'No patients on the FHIR server.')),
      el('section', { id: 'chart', class: 'chart' }, el('p', { class: 'muted' }, 'Open a patient to see the CDS cards for their ECGs.')),
    ),
  );
}

async function openPatient(patient: fhir4.Patient): Promise<void> {
  const chart = document.getElementById('chart')!;
  for (const b of document.querySelectorAll('.patient')) b.classList.toggle('active', b.getAttribute('data-patient') === patient.id);
  chart.replaceChildren(
    el('h2', {}, patientName(patient)),
    el('p', { class: 'muted' }, [patient.gender, patient.birthDate ? `born ${patient.birthDate}` : undefined].filter(Boolean).join(', ')),
    el('div', { class: 'cards', 'aria-busy': 'true' }, el('p', { class: 'muted' }, 'Asking the CDS service…')),
  );
  const cardsBox = chart.querySelector('.cards')!;
  try {
    const discovery = await cdsCall<{ services: Service[] }>(`${base}/cds-services`);
    const context = { userId: USER, patientId: patient.id! };
    const cards: { card: Card; serviceUrl: string }[] = [];
    for (const s of discovery.services.filter((x) => x.hook === 'patient-view')) {
      const url = `${base}/cds-services/${s.id}`;
      const response = await cdsCall<{ cards: Card[] }>(url, {
        hook: 'patient-view',
        hookInstance: crypto.randomUUID(),
        fhirServer: fhirBase,
        context,
        prefetch: await prefetch(s.prefetch ?? {}, context),
      });
      for (const card of response.cards ?? []) cards.push({ card, serviceUrl: url });
    }
    cardsBox.replaceChildren(...(cards.length ? cards.map((c) => cardView(c.card, c.serviceUrl, patient.id!)) : [el('p', { class: 'no-cards' }, 'No cards for this patient.')]));
  } catch (err) {
    cardsBox.replaceChildren(el('p', { class: 'error' }, `CDS call failed: ${(err as Error).message}`));
  }
  cardsBox.setAttribute('aria-busy', 'false');
}

/** Fill each prefetch template (CDS Hooks 2.0 § Prefetch tokens) and read it from the FHIR server. */
async function prefetch(templates: Record<string, string>, context: Record<string, string>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(templates)) {
    const query = template.replace(/\{\{\s*context\.(\w+)\s*\}\}/g, (_m, name: string) => encodeURIComponent(context[name] ?? ''));
    const res = await fetch(`${fhirBase}/${query}`);
    // A failed query is left out: the service then reads it itself (never a guess in its place).
    if (res.ok) out[key] = await res.json();
    else if (res.status === 404) out[key] = null;
  }
  return out;
}

function cardView(card: Card, serviceUrl: string, patientId: string): HTMLElement {
  const box = el('article', { class: `card card-${card.indicator}`, 'data-indicator': card.indicator });
  box.append(el('header', {}, el('span', { class: 'indicator' }, card.indicator), el('h3', { class: 'summary' }, card.summary)));
  if (card.detail) {
    const detail = el('div', { class: 'detail' });
    // Markdown → HTML, then sanitized: the card text is data from a service, never trusted markup.
    detail.innerHTML = DOMPurify.sanitize(marked.parse(card.detail, { async: false }) as string);
    for (const a of detail.querySelectorAll('a')) {
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener noreferrer');
    }
    box.append(detail);
  }
  const source = el('p', { class: 'source muted' }, 'Source: ');
  source.append(card.source.url && /^https?:/.test(card.source.url) ? el('a', { href: card.source.url, target: '_blank', rel: 'noopener' }, card.source.label) : card.source.label);
  box.append(source);

  const actions = el('div', { class: 'card-actions' });
  for (const link of card.links ?? []) {
    if (!/^https?:/.test(link.url)) continue;
    if (link.type === 'smart') {
      const b = el('button', { type: 'button', class: 'smart-link primary' }, link.label);
      b.addEventListener('click', () => void launchSmart(link, patientId));
      actions.append(b);
    } else actions.append(el('a', { href: link.url, target: '_blank', rel: 'noopener noreferrer', class: 'link' }, link.label));
  }
  const status = el('p', { class: 'feedback-status', role: 'status' });
  for (const s of card.suggestions ?? []) {
    const b = el('button', { type: 'button', class: 'suggestion' }, `✓ ${s.label}`);
    b.title = (s.actions ?? []).map((a) => a.description).join('; ');
    b.addEventListener('click', async () => {
      await feedback(serviceUrl, card, { outcome: 'accepted', ...(s.uuid ? { acceptedSuggestions: [{ id: s.uuid }] } : {}) }, status, `Accepted: ${s.label}`);
      b.disabled = true;
    });
    actions.append(b);
  }
  if (card.overrideReasons?.length && card.uuid) {
    const select = el('select', { class: 'override-reason', 'aria-label': 'reason for dismissing' }, el('option', { value: '' }, 'Dismiss with reason…'));
    card.overrideReasons.forEach((r, i) => select.append(el('option', { value: String(i) }, r.display ?? r.code)));
    const comment = el('input', { type: 'text', class: 'override-comment', placeholder: 'comment (optional)', maxlength: '500' });
    const dismiss = el('button', { type: 'button', class: 'dismiss' }, 'Dismiss');
    dismiss.addEventListener('click', async () => {
      const reason = card.overrideReasons![Number(select.value)];
      if (!select.value || !reason) {
        status.textContent = 'Choose a reason first.';
        return;
      }
      const ok = await feedback(
        serviceUrl,
        card,
        { outcome: 'overridden', overrideReason: { reason, ...(comment.value ? { userComment: comment.value } : {}) } },
        status,
        `Dismissed: ${reason.display ?? reason.code}`,
      );
      if (ok) box.classList.add('dismissed');
    });
    actions.append(el('span', { class: 'override' }, select, comment, dismiss));
  }
  box.append(actions, status);
  return box;
}

async function feedback(serviceUrl: string, card: Card, entry: Record<string, unknown>, status: HTMLElement, done: string): Promise<boolean> {
  if (!card.uuid) return false;
  try {
    await cdsCall(`${serviceUrl}/feedback`, { feedback: [{ card: card.uuid, ...entry, outcomeTimestamp: new Date().toISOString() }] });
    status.textContent = `${done} — feedback sent.`;
    return true;
  } catch (err) {
    status.textContent = `Feedback failed: ${(err as Error).message}`;
    return false;
  }
}

/** EHR launch: register the launch context, then open the app with `iss` and `launch`. */
async function launchSmart(link: Link, patientId: string): Promise<void> {
  const { launch } = await json<{ launch: string }>(`${fhirBase}/auth/launch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ patient: patientId, ...(link.appContext ? { appContext: link.appContext } : {}) }),
  });
  const url = new URL(link.url);
  url.searchParams.set('iss', fhirBase);
  url.searchParams.set('launch', launch);
  window.open(url.href, '_blank');
}

main().catch((err: unknown) => showError('The demo EHR could not start', err));
