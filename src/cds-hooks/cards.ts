/**
 * Analysed ECGs → CDS Hooks cards (https://cds-hooks.hl7.org/2.0/#card-attributes). All wording and
 * card policy live here (STYLE: handlers only gather the inputs).
 * One card per analysed ECG, newest first: led by its most severe finding with the others named in the
 * same card, indicator = the most severe, a summary under 140 characters with the ECG's date in the
 * configured time zone, and a short markdown detail (each finding with its evidence and how it compares
 * with the patient's previous analysed ECG, signal quality, the AI notice and the model version once).
 * A newest ECG that could not be analysed, or that the model could mostly not read, gets an info card
 * that says so, so an empty card list never stands for "normal" on an unreadable strip.
 * Every string that can come from outside (a stored report read back, an Observation's lead names and
 * dates, a decoder's reason) is text, never markup: escaped with `md()` in `detail`, `plain()` in
 * `summary`; links go only to http(s) URLs on allowed origins (card-text.ts, allowlist.ts).
 */
import { createHash } from 'node:crypto';
import type { Indicator } from '../config.js';
import type { StoredFinding, StoredResult } from '../fhir/stored-result.js';
import {
  FINDING_SYSTEM,
  OVERRIDE_REASON_SYSTEM,
  SNOMED_OF_FINDING,
  SNOMED_SYSTEM,
} from '../fhir/write-back/codes.js';
import { formatConfidence } from '../inference/analysis/calibration.js';
import type { FindingCode } from '../inference/analysis/types.js';
import { OriginAllowList } from './allowlist.js';
import { type DisplayDate, displayDate, isDisplayableDate, md, plain, SUMMARY_MAX } from './card-text.js';
import { afProblemSuggestion, holterSuggestion, type SuggestionBasis } from './suggestions.js';
import type { Card, Coding, Link, Suggestion } from './types.js';

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

/** Plain clinical names for summaries, where the stored titles are too long to list several. */
const SHORT_NAME: Readonly<Record<FindingCode, string>> = {
  'ventricular-tachycardia-run': 'ventricular tachycardia run',
  'atrial-fibrillation': 'atrial fibrillation or flutter',
  'supraventricular-tachycardia-run': 'SVT run',
  'frequent-pvcs': 'frequent PVCs',
  'frequent-pacs': 'frequent PACs',
  'ventricular-bigeminy': 'ventricular bigeminy',
  'ventricular-trigeminy': 'ventricular trigeminy',
  'sinus-bradycardia': 'sinus bradycardia',
  'sinus-tachycardia': 'sinus tachycardia',
  'other-rhythm': 'other rhythm',
  'sinus-rhythm': 'sinus rhythm',
  'paced-rhythm': 'paced rhythm',
};

/** Findings after which a 24-hour Holter is worth proposing: VT runs and frequent ectopy. */
const HOLTER_WORTHY: ReadonlySet<string> = new Set<FindingCode>([
  'ventricular-tachycardia-run',
  'frequent-pvcs',
  'frequent-pacs',
]);
/** A recording this long is itself a Holter: no Holter is proposed after it. */
const HOLTER_SECONDS = 20 * 3600;
/** Longer than a resting ECG or rhythm strip: called a Holter ECG in card text. */
const AMBULATORY_SECONDS = 10 * 60;
/** A newest ECG on which the model abstained this much gets a "limited analysis" card at least. */
const LIMITED_ABSTENTION = 0.5;

// Findings without a SNOMED concept in our code list ("other rhythm") use our own published code system
// (FINDING_SYSTEM); override reasons are in OVERRIDE_REASON_SYSTEM. Both are canonical URLs under the
// configured FHIR_DEFINITIONS_BASE (src/fhir/definitions/canonical.ts), live bindings set at start-up.
export { FINDING_SYSTEM, OVERRIDE_REASON_SYSTEM };

/** Offered with every card; CDS Hooks 2.0 requires `display` on each. */
export const OVERRIDE_REASON_CODES: readonly { readonly code: string; readonly display: string }[] = [
  { code: 'artifact', display: 'Signal artifact or misread ECG' },
  { code: 'disagree', display: 'Disagree with the interpretation' },
  { code: 'already-known', display: 'Already known and managed' },
  { code: 'not-relevant', display: 'Not relevant for this patient now' },
];

/** The override reasons as codings in our (configured) system. */
export function overrideReasons(): Coding[] {
  return OVERRIDE_REASON_CODES.map((c) => ({ system: OVERRIDE_REASON_SYSTEM, ...c }));
}

export const AI_NOTICE = 'AI-generated, preliminary — requires clinician review.';

/** One analysed ECG with the links a card can offer. */
export interface CardInput {
  readonly result: StoredResult;
  /** Absolute URL of the DiagnosticReport (the rendered result). */
  readonly reportUrl?: string;
  /** Absolute URL of the source ECG Observation (the waveform). */
  readonly ecgUrl?: string;
  /** How suggested resources cite the report: `DiagnosticReport/<id>` on the EHR's server, else its URL. */
  readonly reportReference?: string;
  /** Number of leads, when the Observation says (its LOINC code or its components). */
  readonly leadCount?: number;
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
  /** IANA zone of the dates cards show (DISPLAY_TIME_ZONE; default UTC). */
  readonly timeZone?: string;
  /** The SMART viewer's launch URL (`<PUBLIC_BASE_URL>/viewer/launch`): a "View ECG" link when set. */
  readonly viewerLaunchUrl?: string;
}

/** Who the cards are for, and what else is known of the patient's ECGs. */
export interface CardContext {
  /** The context patient's logical id: suggested resources name it as subject. */
  readonly patientId?: string;
  /**
   * The patient's other stored results (our reports read back): the previous analysed ECG that a card
   * compares with may be older than the ECGs carded in this call.
   */
  readonly history?: readonly StoredResult[];
}

const RANK = { critical: 0, warning: 1, info: 2, none: 3 } as const;

/** Cards for a patient's recent analysed ECGs (`inputs`, any order): one per ECG, newest first. */
export function buildCards(inputs: readonly CardInput[], opts: CardOptions, ctx: CardContext = {}): Card[] {
  const c = cardContext(opts, ctx);
  const ordered = [...inputs].sort(byNewest((i) => i.result));
  const analysed = analysedEcgs([...ordered.map((i) => i.result), ...(ctx.history ?? [])], ctx.patientId);
  const cards: Card[] = [];
  const offered = new Set<string>();
  ordered.forEach((input, i) => {
    const r = input.result;
    if (r.status !== 'ok') {
      // "Unable to analyse" only for the newest ECG: an older failure is superseded by what came after.
      if (i === 0) cards.push(unableCard(input, c));
      return;
    }
    const shown = r.findings
      .map((f) => ({ f, level: c.levelOf(f.code) }))
      .filter((x): x is { f: StoredFinding; level: Exclude<Indicator, 'none'> } => x.level !== 'none')
      .sort((a, b) => RANK[a.level] - RANK[b.level] || b.f.confidence - a.f.confidence);
    if (shown.length) cards.push(ecgCard(input, shown, previousOf(r, analysed), offered, c));
    else if (i === 0 && (r.abstainedFraction ?? 0) >= LIMITED_ABSTENTION) cards.push(limitedCard(input, c));
  });
  return cards;
}

interface Ctx extends CardContext {
  readonly opts: CardOptions;
  readonly tz: string;
  readonly links: LinkFilter;
  levelOf(code: string): Indicator;
}

function cardContext(opts: CardOptions, ctx: CardContext): Ctx {
  const policy = { ...DEFAULT_POLICY, ...opts.policy } as Record<string, Indicator>;
  return {
    ...ctx,
    opts,
    tz: opts.timeZone ?? 'UTC',
    links: linkFilter(opts.linkOrigins),
    levelOf: (code) => policy[code] ?? 'info',
  };
}

type Shown = { readonly f: StoredFinding; readonly level: Exclude<Indicator, 'none'> };

function ecgCard(
  input: CardInput,
  shown: readonly Shown[],
  prev: StoredResult | undefined,
  offered: Set<string>,
  c: Ctx,
): Card {
  const r = input.result;
  const lead = shown[0]!;
  const when = displayDate(r.source.effective, c.tz);
  const kind = ecgKind(r, input.leadCount);
  const prevWhen = prev ? displayDate(prev.source.effective, c.tz) : undefined;
  const key = `${r.source.observationId}|${r.source.versionId ?? ''}|${r.modelVersion}`;
  const suggestions = suggestionsFor(input, shown, key, offered, c);
  return {
    uuid: stableUuid(`${key}|ecg`),
    summary: ecgSummary(shown, kind, when, prev, prevWhen),
    detail: ecgDetail(input, shown, kind, when, prev, prevWhen, c),
    indicator: lead.level,
    source: { label: c.opts.sourceLabel, url: c.opts.modelCardUrl, topic: topicOf(lead.f) },
    ...(suggestions.length ? { suggestions, selectionBehavior: 'any' as const } : {}),
    overrideReasons: overrideReasons(),
    ...linksOf(input, c),
  };
}

/**
 * "Ventricular bigeminy with frequent PVCs, ventricular trigeminy on ECG of 3 Mar 2025 14:05, new since
 * 1 Mar 2025 (AI)": the richest form that stays under 140 characters; parts are dropped, not cut.
 */
function ecgSummary(
  shown: readonly Shown[],
  kind: EcgKind,
  when: DisplayDate | undefined,
  prev: StoredResult | undefined,
  prevWhen: DisplayDate | undefined,
): string {
  const [lead, ...rest] = shown.map((s) => nameOf(s.f));
  const head = capitalise(lead!);
  const others = rest.length ? ` with ${rest.join(', ')}` : '';
  const fewer = rest.length ? ` with ${rest[0]}${rest.length > 1 ? ` and ${rest.length - 1} more` : ''}` : '';
  const on = ` on ${kind.short}${when ? ` of ${when.dateTime}` : ''}`;
  const onDate = ` on ECG${when ? ` of ${when.date}` : ''}`;
  const cmp =
    prev && prevWhen ? `, ${sameIn(prev, shown[0]!.f) ? 'also on' : 'new since'} ${prevWhen.date}` : '';
  const ai = ` (AI, ${formatConfidence(shown[0]!.f.confidence)})`;
  return fit([
    `${head}${others}${on}${cmp}${ai}`,
    `${head}${others}${on}${cmp} (AI)`,
    `${head}${fewer}${on}${cmp} (AI)`,
    `${head}${fewer}${onDate}${cmp} (AI)`,
    `${head}${onDate}${cmp} (AI)`,
    `${head}${onDate} (AI)`,
  ]);
}

/** The card's markdown. `md()` on every string from the result: it may have come from outside. */
function ecgDetail(
  input: CardInput,
  shown: readonly Shown[],
  kind: EcgKind,
  when: DisplayDate | undefined,
  prev: StoredResult | undefined,
  prevWhen: DisplayDate | undefined,
  c: Ctx,
): string {
  const r = input.result;
  const lines = [
    `**${AI_NOTICE}**`,
    '',
    `**${kind.long}**${recorded(when, c.tz)}${heartRate(r)}${leadRead(r)}.`,
    '',
  ];
  for (const { f } of shown) {
    const evidence = f.evidence.map((e) => md(e, 300)).filter(Boolean);
    const compare = prev ? ` — ${comparison(f, prev, prevWhen, c)}` : '';
    lines.push(
      `- **${md(f.title, 200)}** (${formatConfidence(f.confidence)})${compare}${evidence.length ? `: ${evidence.join('; ')}` : ''}`,
    );
  }
  lines.push('', qualityLine(r), ...limitationsBlock(r), '', modelLine(r));
  return lines.join('\n');
}

/** "new since the ECG of 3 Mar 2025 (sinus rhythm)" or "also on the ECG of 3 Mar 2025". */
function comparison(f: StoredFinding, prev: StoredResult, prevWhen: DisplayDate | undefined, c: Ctx): string {
  const of = `the ECG of ${prevWhen?.date ?? 'an earlier date'}`;
  return sameIn(prev, f) ? `also on ${of}` : `new since ${of} (${describe(prev, c)})`;
}

function sameIn(prev: StoredResult, f: StoredFinding): boolean {
  return prev.findings.some((p) => p.code === f.code);
}

/** What an earlier ECG showed, in a few words: its most severe finding (sinus rhythm included). */
function describe(r: StoredResult, c: Ctx): string {
  const top = [...r.findings].sort((a, b) => RANK[c.levelOf(a.code)] - RANK[c.levelOf(b.code)])[0];
  return top ? nameOf(top) : 'no rhythm finding';
}

function unableCard(input: CardInput, c: Ctx): Card {
  const r = input.result;
  const when = displayDate(r.source.effective, c.tz);
  // A decoder's reason may quote the field it could not read.
  const reason = plain(r.unable?.reason) || 'unknown reason';
  return infoCard(
    input,
    c,
    'unable',
    [`${ecgOf(when)} could not be analysed by AI: ${reason}`],
    [
      `The most recent ECG${recorded(when, c.tz)} could not be analysed automatically: ${md(reason, 500)}.`,
      'Read the tracing directly; no rhythm interpretation is offered for it, and none is implied.',
    ],
  );
}

/** The newest ECG has no card-worthy finding but the model could mostly not read it: never "all clear". */
function limitedCard(input: CardInput, c: Ctx): Card {
  const r = input.result;
  const when = displayDate(r.source.effective, c.tz);
  const pct = Math.round(100 * (r.abstainedFraction ?? 0));
  const unread = `AI could not read ${pct} % of it (noise or atypical signal)`;
  // What the model did say (findings the policy does not card, e.g. sinus rhythm) leads, when anything.
  const said = r.findings.map(nameOf);
  const summaries = [
    ...(said.length ? [`${capitalise(said.join(', '))} on ${ecgOf(when)}, but ${unread}`] : []),
    `${ecgOf(when)}: ${unread}`,
  ];
  return infoCard(input, c, 'limited', summaries, [
    `**${ecgKind(r, input.leadCount).long}**${recorded(when, c.tz)}${heartRate(r)}.`,
    '',
    `No arrhythmia was reported, but the analysis abstained on ${pct} % of the recording, so the absence of a finding is not reassuring. Read the tracing directly.`,
    ...limitationsBlock(r),
  ]);
}

/** An info card about one ECG: the AI notice, `body`, the model line; the first summary that fits. */
function infoCard(input: CardInput, c: Ctx, kind: string, summaries: string[], body: string[]): Card {
  const r = input.result;
  return {
    uuid: stableUuid(`${r.source.observationId}|${r.source.versionId ?? ''}|${r.modelVersion}|${kind}`),
    summary: fit(summaries),
    detail: [`**${AI_NOTICE}**`, '', ...body, '', modelLine(r)].join('\n'),
    indicator: 'info',
    source: { label: c.opts.sourceLabel, url: c.opts.modelCardUrl },
    overrideReasons: overrideReasons(),
    ...linksOf(input, c),
  };
}

/** "ECG of 3 Mar 2025 14:05", or "ECG" without a readable date. */
function ecgOf(when: DisplayDate | undefined): string {
  return `ECG${when ? ` of ${when.dateTime}` : ''}`;
}

/** The stored limitations as one escaped line after a blank one, when there are any. */
function limitationsBlock(r: StoredResult): string[] {
  const items = r.limitations.map((l) => md(l, 300)).filter(Boolean);
  return items.length ? ['', `Limitations: ${items.join('; ')}.`] : [];
}

/**
 * Suggestions (https://cds-hooks.hl7.org/2.0/#suggestion), each offered once per response, on the newest
 * card that warrants it; only when the report they cite was stored. Never a medication: whether to
 * anticoagulate or treat is a clinical decision that a rhythm read alone cannot support.
 */
function suggestionsFor(
  input: CardInput,
  shown: readonly Shown[],
  key: string,
  offered: Set<string>,
  c: Ctx,
): Suggestion[] {
  const r = input.result;
  if (!c.patientId || !input.reportReference) return [];
  const when = displayDate(r.source.effective, c.tz);
  const basis: SuggestionBasis = {
    patientId: c.patientId,
    reportReference: input.reportReference,
    ecgText: `the ${ecgKind(r, input.leadCount).short}${when ? ` of ${when.dateTime}${zoneNote(c.tz)}` : ''}`,
    modelVersion: plain(r.modelVersion, 200),
  };
  const out: Suggestion[] = [];
  const once = (kind: string, make: () => Suggestion) => {
    if (offered.has(kind)) return;
    offered.add(kind);
    out.push(make());
  };
  if (shown.some((s) => s.f.code === 'atrial-fibrillation'))
    once('af-problem', () => afProblemSuggestion(basis, stableUuid(`${key}|suggest|af-problem`)));
  const ectopy = shown.filter((s) => HOLTER_WORTHY.has(s.f.code));
  if (ectopy.length && (r.durationSeconds ?? 0) < HOLTER_SECONDS)
    once('holter', () =>
      holterSuggestion(
        basis,
        stableUuid(`${key}|suggest|holter`),
        capitalise(ectopy.map((s) => nameOf(s.f)).join(', ')),
      ),
    );
  return out;
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
  const c = cardContext(opts, {});
  const when = displayDate(ecg.effective, c.tz);
  return {
    uuid: stableUuid(`${ecg.observationId}|${ecg.versionId ?? ''}|unfetched`),
    summary: fit([`AI results for the ECG${when ? ` of ${when.dateTime}` : ''} could not be fetched`]),
    detail: [
      `**${AI_NOTICE}**`,
      '',
      `The AI results for this ECG${when ? ` (recorded ${when.dateTime}${zoneNote(c.tz)})` : ''} could not be read from the FHIR server in time.`,
      'No finding is shown for it and none is implied: it may have an AI result, or it may not have been analysed yet.',
      'It was not sent for a new analysis, because a result may already exist.',
      'Open the patient again later to see the AI results, or read the tracing directly.',
    ].join('\n'),
    indicator: 'info',
    source: { label: opts.sourceLabel, url: opts.modelCardUrl },
    ...linksOf({ ...(ecg.ecgUrl ? { ecgUrl: ecg.ecgUrl } : {}) }, c, ecg.observationId),
  };
}

/** "12-lead ECG" / "2-lead Holter ECG" (short) and the same with its length (long). */
interface EcgKind {
  readonly short: string;
  readonly long: string;
}

function ecgKind(r: StoredResult, leadCount: number | undefined): EcgKind {
  const seconds = r.durationSeconds;
  const holter = seconds !== undefined && seconds >= AMBULATORY_SECONDS;
  const short = `${leadCount ? `${leadCount}-lead ` : ''}${holter ? 'Holter ' : ''}ECG`;
  return { short, long: seconds !== undefined ? `${short}, ${formatDuration(seconds)}` : short };
}

function recorded(when: DisplayDate | undefined, tz: string): string {
  return when ? ` recorded ${when.dateTime}${zoneNote(tz)}` : '';
}

/** The zone is named once in the detail ("(UTC)", "(Europe/Berlin)"), escaped: zone names hold `_`. */
function zoneNote(tz: string): string {
  return ` (${md(tz, 64)})`;
}

/** The lead the beats were read on, unless the source names it no better than "ECG" or "ch1". */
function leadRead(r: StoredResult): string {
  const lead = plain(r.lead, 64);
  return lead && !/^(?:ecg|ch\d+|unspecified|signal)$/i.test(lead)
    ? `, beats read on lead ${md(lead, 64)}`
    : '';
}

function heartRate(r: StoredResult): string {
  return r.heartRateBpm != null && Number.isFinite(r.heartRateBpm)
    ? `, heart rate ${Math.round(r.heartRateBpm)} bpm`
    : '';
}

function qualityLine(r: StoredResult): string {
  const a = r.abstainedFraction ?? 0;
  if (a < 0.005) return 'Signal quality: the whole recording was readable.';
  return `Signal quality: the analysis abstained on ${Math.round(100 * a)} % of the recording (noise or atypical signal).`;
}

function modelLine(r: StoredResult): string {
  return `Model ${md(r.modelVersion, 200)}; confidence is a calibrated probability. See the model card for intended use and measured accuracy.`;
}

function topicOf(f: StoredFinding): Coding {
  // The same concept as the report's conclusionCode.
  const sct = SNOMED_OF_FINDING[f.code];
  return sct
    ? { system: SNOMED_SYSTEM, code: sct.code, display: sct.display }
    : { system: FINDING_SYSTEM, code: plain(f.code, 64), display: plain(f.title, 200) };
}

/** Our own short name for a known finding code; a stored title (plain text) otherwise. */
function nameOf(f: StoredFinding): string {
  return SHORT_NAME[f.code] ?? (plain(f.title, 60).toLowerCase() || 'finding');
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One analysed (status ok) result per ECG of this patient, newest first. */
function analysedEcgs(results: readonly StoredResult[], patientId: string | undefined): StoredResult[] {
  const seen = new Set<string>();
  const out: StoredResult[] = [];
  for (const r of results) {
    if (r.status !== 'ok' || seen.has(r.source.observationId)) continue;
    // A stored result names its subject; one of another patient never enters this patient's comparison.
    if (patientId && r.source.subject !== undefined && !isSubject(r.source.subject, patientId)) continue;
    seen.add(r.source.observationId);
    out.push(r);
  }
  return out.sort(byNewest((x) => x));
}

function isSubject(ref: string, patientId: string): boolean {
  return ref === `Patient/${patientId}` || ref.endsWith(`/Patient/${patientId}`);
}

/** The patient's analysed ECG recorded just before `r`, when both have a recording time. */
function previousOf(r: StoredResult, analysed: readonly StoredResult[]): StoredResult | undefined {
  const t = timeOf(r);
  if (t === undefined) return undefined;
  return analysed.find((p) => {
    const pt = timeOf(p);
    return p.source.observationId !== r.source.observationId && pt !== undefined && pt < t;
  });
}

function timeOf(r: StoredResult): number | undefined {
  const e = r.source.effective;
  if (!e || !isDisplayableDate(e)) return undefined;
  const t = Date.parse(e.length === 4 ? `${e}-01-01` : e.length === 7 ? `${e}-01` : e);
  return Number.isNaN(t) ? undefined : t;
}

/** Newest recording first; results without a recording time last, in their given order. */
function byNewest<T>(get: (x: T) => StoredResult): (a: T, b: T) => number {
  return (a, b) => (timeOf(get(b)) ?? -Infinity) - (timeOf(get(a)) ?? -Infinity) || 0;
}

type LinkFilter = (url: string | undefined) => string | undefined;

/** Only http(s) URLs, and with `origins` only on those (CDS Hooks links open in the clinician's browser). */
function linkFilter(origins: readonly string[] | undefined): LinkFilter {
  // One filter per configured list (the service passes the same array on every call), not one per call.
  const key = origins ?? NO_ORIGINS;
  let filter = filters.get(key);
  if (!filter) {
    filter = makeLinkFilter(origins);
    filters.set(key, filter);
  }
  return filter;
}

const NO_ORIGINS: readonly string[] = [];
const filters = new WeakMap<readonly string[], LinkFilter>();

function makeLinkFilter(origins: readonly string[] | undefined): LinkFilter {
  const allowed = origins ? new OriginAllowList(origins) : undefined;
  return (url) => {
    if (url === undefined || !URL.canParse(url)) return undefined;
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    if (allowed && !allowed.allows(u.href)) return undefined;
    return u.href;
  };
}

/**
 * The SMART viewer first (https://cds-hooks.hl7.org/2.0/#link: `type: "smart"`, `appContext` a string
 * the EHR passes to the app at launch), then the report and the waveform as raw FHIR for the curious.
 */
function linksOf(
  input: Partial<Pick<CardInput, 'reportUrl' | 'ecgUrl' | 'result'>>,
  c: Ctx,
  observationId = input.result?.source.observationId,
): { links?: Link[] } {
  const links: Link[] = [];
  const viewer = c.links(c.opts.viewerLaunchUrl);
  const reportId = input.result?.reportId ?? idAfter(input.reportUrl, 'DiagnosticReport');
  if (viewer && observationId)
    links.push({
      label: 'View ECG',
      url: viewer,
      type: 'smart',
      appContext: JSON.stringify({
        observation: `Observation/${observationId}`,
        ...(reportId ? { report: `DiagnosticReport/${reportId}` } : {}),
      }),
    });
  const reportUrl = c.links(input.reportUrl);
  const ecgUrl = c.links(input.ecgUrl);
  if (reportUrl)
    links.push({ label: 'AI ECG report (FHIR DiagnosticReport)', url: reportUrl, type: 'absolute' });
  if (ecgUrl) links.push({ label: 'ECG waveform (FHIR Observation)', url: ecgUrl, type: 'absolute' });
  return links.length ? { links } : {};
}

/** The id after `/<type>/` in a URL we built (ids there are FHIR ids, URI-encoded). */
function idAfter(url: string | undefined, type: string): string | undefined {
  const m = url ? new RegExp(`/${type}/([^/?#]+)$`).exec(url) : null;
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

/** A UUID (RFC 4122 layout, version 5 bits) derived from a key: the same finding keeps the same card id. */
export function stableUuid(key: string): string {
  const h = createHash('sha1').update(`ecg-cds-card:${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** CDS Hooks: summary SHALL be under 140 characters; the first candidate that fits, else the last cut. */
function fit(candidates: readonly string[]): string {
  const texts = candidates.map((s) => plain(s));
  return texts.find((s) => s.length <= SUMMARY_MAX) ?? plain(texts[texts.length - 1], SUMMARY_MAX);
}

function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}
