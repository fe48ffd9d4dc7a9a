/**
 * Stored analyses → CDS Hooks cards (https://cds-hooks.hl7.org/2.0/#card-attributes).
 * At most one card per finding (the most recent ECG that shows it wins); an indicator policy decides
 * which findings make a card at all; every card states that it is AI output, preliminary, with the
 * model version, the confidence and the evidence it rests on.
 * Every string that can come from outside (a stored report read back, an Observation's lead names and
 * dates, a decoder's reason) is text, never markup: escaped with `md()` in `detail`, `plain()` in
 * `summary`; links go only to http(s) URLs on allowed origins (card-text.ts, allowlist.ts).
 */
import { createHash } from 'node:crypto';
import type { Indicator } from '../config.js';
import type { StoredFinding, StoredResult } from '../fhir/stored-result.js';
import { SNOMED_OF_FINDING, SNOMED_SYSTEM } from '../fhir/write-back/codes.js';
import { formatConfidence } from '../inference/analysis/calibration.js';
import type { FindingCode } from '../inference/analysis/types.js';
import { OriginAllowList } from './allowlist.js';
import { md, plain, SUMMARY_MAX } from './card-text.js';
import type { Card, Coding, Link } from './types.js';

/**
 * Default indicator per finding. Critical: a ventricular tachycardia run can be life-threatening.
 * Warning: AF (stroke risk, anticoagulation decision), SVT runs, frequent ectopy and bigeminy/trigeminy
 * (worth a look, not an emergency). Info: rate-only findings. None: a normal ECG makes no card
 * (CDS Hooks: cards should be actionable; alert fatigue) unless the policy says otherwise.
 */
export const DEFAULT_POLICY: Readonly<Record<FindingCode, Indicator>> = {
  'ventricular-tachycardia-run': 'critical',
  'atrial-fibrillation': 'warning',
  'supraventricular-tachycardia-run': 'warning',
  'frequent-pvcs': 'warning',
  'frequent-pacs': 'warning',
  'ventricular-bigeminy': 'warning',
  'ventricular-trigeminy': 'warning',
  'sinus-bradycardia': 'info',
  'sinus-tachycardia': 'info',
  'other-rhythm': 'info',
  'sinus-rhythm': 'none',
  'paced-rhythm': 'info',
};

/** Findings without a SNOMED concept in our code list ("other rhythm") use our own code system. */
export const FINDING_SYSTEM = 'urn:ecg-cds:finding';

function topicOf(f: StoredFinding): Coding {
  // The same concept as the report's conclusionCode.
  const sct = SNOMED_OF_FINDING[f.code];
  const display = plain(f.title, 200);
  return sct
    ? { system: SNOMED_SYSTEM, code: sct.code, display: sct.display }
    : { system: FINDING_SYSTEM, code: plain(f.code, 64), display };
}

export const OVERRIDE_REASON_SYSTEM = 'urn:ecg-cds:override-reason';
/** Offered with every card; CDS Hooks 2.0 requires `display` on each. */
export const OVERRIDE_REASONS: readonly Coding[] = [
  { system: OVERRIDE_REASON_SYSTEM, code: 'artifact', display: 'Signal artifact or misread ECG' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'disagree', display: 'Disagree with the interpretation' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'already-known', display: 'Already known and managed' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-relevant', display: 'Not relevant for this patient now' },
];

export const AI_NOTICE = 'AI-generated, preliminary — requires clinician review.';

/** One analysed ECG with the links a card can offer. */
export interface CardInput {
  readonly result: StoredResult;
  /** Absolute URL of the DiagnosticReport (the rendered result). */
  readonly reportUrl?: string;
  /** Absolute URL of the source ECG Observation (the waveform). */
  readonly ecgUrl?: string;
}

export interface CardOptions {
  readonly policy?: Readonly<Record<string, Indicator>>;
  readonly sourceLabel: string;
  readonly modelCardUrl: string;
  /**
   * Origins card links may point to (the public base URL, our FHIR server, the allowed `fhirServer`s);
   * a link elsewhere is dropped. Unset: any http(s) URL (non-http schemes are always dropped).
   */
  readonly linkOrigins?: readonly string[];
}

/** Cards for a patient's recent analysed ECGs, newest first in `inputs`. */
export function buildCards(inputs: readonly CardInput[], opts: CardOptions): Card[] {
  const policy = { ...DEFAULT_POLICY, ...opts.policy } as Record<string, Indicator>;
  const links = linkFilter(opts.linkOrigins);
  const seen = new Set<string>();
  const cards: Card[] = [];
  for (const input of inputs) {
    if (input.result.status !== 'ok') continue;
    for (const f of input.result.findings) {
      const level = policy[f.code] ?? 'info';
      if (level === 'none' || seen.has(f.code)) continue;
      seen.add(f.code);
      cards.push(findingCard(input, f, level, opts, links));
    }
  }
  // "Unable to analyse" only where the newest ECG could not be analysed: an older failure is superseded.
  const newest = inputs[0];
  if (newest?.result.status === 'unable') cards.push(unableCard(newest, opts, links));
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  return cards.sort((a, b) => rank[a.indicator] - rank[b.indicator]);
}

function findingCard(
  input: CardInput,
  f: StoredFinding,
  level: Exclude<Indicator, 'none'>,
  opts: CardOptions,
  links: LinkFilter,
): Card {
  const r = input.result;
  const pct = formatConfidence(f.confidence);
  const when = dateOf(r.source.effective);
  const summary = clip(
    `${plain(f.title)} suspected on ECG${when ? ` of ${when}` : ''} (AI, ${pct} confidence)`,
  );
  return {
    uuid: stableUuid(`${r.source.observationId}|${r.source.versionId ?? ''}|${r.modelVersion}|${f.code}`),
    summary,
    detail: findingDetail(r, f),
    indicator: level,
    source: {
      label: opts.sourceLabel,
      url: opts.modelCardUrl,
      topic: topicOf(f),
    },
    overrideReasons: OVERRIDE_REASONS,
    ...linksOf(input, links),
  };
}

/** The card's markdown. `md()` on every string from the result: it may have come from outside. */
function findingDetail(r: StoredResult, f: StoredFinding): string {
  const lines = [`**${AI_NOTICE}**`, ''];
  lines.push(
    `**${md(f.title, 200)}** — model confidence ${formatConfidence(f.confidence)} (calibrated probability).`,
  );
  const ecg = [
    r.source.effective ? `recorded ${dateTimeText(r.source.effective)}` : undefined,
    r.durationSeconds !== undefined ? `${formatDuration(r.durationSeconds)}` : undefined,
    r.lead ? `lead ${md(r.lead, 64)}` : undefined,
    r.heartRateBpm != null ? `heart rate ${Math.round(r.heartRateBpm)} bpm` : undefined,
  ].filter(Boolean);
  if (ecg.length) lines.push('', `ECG: ${ecg.join(', ')}.`);
  if (f.onset !== undefined) lines.push(`First seen at ${clock(f.onset)} into the recording.`);
  const items = (list: readonly string[]) => list.map((s) => `- ${md(s, 500)}`).filter((s) => s !== '- ');
  if (f.evidence.length) lines.push('', 'Evidence:', ...items(f.evidence));
  lines.push('', qualityLine(r));
  if (r.limitations.length) lines.push('', 'Limitations:', ...items(r.limitations));
  lines.push(
    '',
    `Model version ${md(r.modelVersion, 200)}; see the model card for intended use and measured accuracy.`,
  );
  return lines.join('\n');
}

function qualityLine(r: StoredResult): string {
  const a = r.abstainedFraction ?? 0;
  if (a < 0.005) return 'Signal quality: the whole recording was readable.';
  return `Signal quality: the analysis abstained on ${Math.round(100 * a)} % of the recording (noise or atypical signal).`;
}

function unableCard(input: CardInput, opts: CardOptions, links: LinkFilter): Card {
  const r = input.result;
  const when = dateOf(r.source.effective);
  // A decoder's reason may quote the field it could not read.
  const reason = plain(r.unable?.reason) || 'unknown reason';
  return {
    uuid: stableUuid(`${r.source.observationId}|${r.source.versionId ?? ''}|${r.modelVersion}|unable`),
    summary: clip(`ECG${when ? ` of ${when}` : ''} could not be analysed by AI: ${reason}`),
    detail: [
      `**${AI_NOTICE}**`,
      '',
      `The most recent ECG could not be analysed automatically: ${md(reason, 500)}.`,
      'Read the tracing directly; no rhythm interpretation is offered for it.',
      '',
      `Model version ${md(r.modelVersion, 200)}.`,
    ].join('\n'),
    indicator: 'info',
    source: { label: opts.sourceLabel, url: opts.modelCardUrl },
    ...linksOf(input, links),
  };
}

/** An ECG whose stored AI result could not be read (issue #13): whether it has one is unknown. */
export interface UnfetchedEcg {
  readonly observationId: string;
  readonly versionId?: string;
  /** The ECG's recording time (FHIR dateTime), when it has one. */
  readonly effective?: string;
  /** Absolute URL of the ECG Observation (the waveform). */
  readonly ecgUrl?: string;
}

/**
 * The card for an ECG whose AI result could not be fetched in time: info, no finding (none is known,
 * so none is shown or implied), and why nothing was re-analysed — a result may well exist already.
 */
export function resultsUnfetchedCard(ecg: UnfetchedEcg, opts: CardOptions): Card {
  const when = dateOf(ecg.effective);
  return {
    uuid: stableUuid(`${ecg.observationId}|${ecg.versionId ?? ''}|unfetched`),
    summary: clip(`AI results for the ECG${when ? ` of ${when}` : ''} could not be fetched`),
    detail: [
      `**${AI_NOTICE}**`,
      '',
      `The AI results for this ECG${ecg.effective ? ` (recorded ${dateTimeText(ecg.effective)})` : ''} could not be read from the FHIR server in time.`,
      'No finding is shown for it and none is implied: it may have an AI result, or it may not have been analysed yet.',
      'It was not sent for a new analysis, because a result may already exist.',
      'Open the patient again later to see the AI results, or read the tracing directly.',
    ].join('\n'),
    indicator: 'info',
    source: { label: opts.sourceLabel, url: opts.modelCardUrl },
    ...linksOf({ ...(ecg.ecgUrl ? { ecgUrl: ecg.ecgUrl } : {}) }, linkFilter(opts.linkOrigins)),
  };
}

type LinkFilter = (url: string | undefined) => string | undefined;

/** Only http(s) URLs, and with `origins` only on those (CDS Hooks links open in the clinician's browser). */
function linkFilter(origins: readonly string[] | undefined): LinkFilter {
  const allowed = origins ? new OriginAllowList(origins) : undefined;
  return (url) => {
    if (url === undefined || !URL.canParse(url)) return undefined;
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    if (allowed && !allowed.allows(u.href)) return undefined;
    return u.href;
  };
}

function linksOf(input: Pick<CardInput, 'reportUrl' | 'ecgUrl'>, allow: LinkFilter): { links?: Link[] } {
  const links: Link[] = [];
  const reportUrl = allow(input.reportUrl);
  const ecgUrl = allow(input.ecgUrl);
  if (reportUrl)
    links.push({ label: 'AI ECG report (FHIR DiagnosticReport)', url: reportUrl, type: 'absolute' });
  if (ecgUrl) links.push({ label: 'ECG waveform (FHIR Observation)', url: ecgUrl, type: 'absolute' });
  return links.length ? { links } : {};
}

/** A UUID (RFC 4122 layout, version 5 bits) derived from a key: the same finding keeps the same card id. */
export function stableUuid(key: string): string {
  const h = createHash('sha1').update(`ecg-cds-card:${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** CDS Hooks: summary SHALL be under 140 characters; plain text, one line. */
function clip(s: string): string {
  return plain(s, SUMMARY_MAX);
}

/** FHIR R4 dateTime (https://hl7.org/fhir/R4/datatypes.html#dateTime): digits and `-:.T+Z` only. */
const FHIR_DATE_TIME =
  /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** A well-formed dateTime cannot form markup mid-line and stays readable; anything else is escaped. */
function dateTimeText(effective: string): string {
  return FHIR_DATE_TIME.test(effective) ? effective : md(effective, 40);
}

function dateOf(effective?: string): string | undefined {
  return effective && /^\d{4}-\d{2}-\d{2}/.test(effective) ? effective.slice(0, 10) : undefined;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}`;
}

function formatDuration(seconds: number): string {
  return seconds < 120 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}
