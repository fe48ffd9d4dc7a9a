/**
 * Card text is data, not markup. A card's `detail` is GitHub-flavoured markdown that the EHR renders
 * (https://cds-hooks.hl7.org/2.0/#card-attributes); anything in it that came from outside (titles and
 * evidence read back from a report, lead names and dates from an Observation, a decoder's reason
 * quoting a bad field) goes through {@link md} first, so `[click](javascript:…)`, raw HTML or `**` are
 * shown as the characters they are. `summary` is plain text: {@link plain}.
 */

/**
 * Control characters (C0, C1), format characters that reorder or hide text (bidi embeddings,
 * overrides and isolates, zero-width characters, BOM) and lone surrogates: never wanted in a card.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/gu;
/** Line breaks of every kind, and tabs: an input string stays on the line it was put on. */
const BREAKS = /[\t\n\r\u0085\u2028\u2029]+/g;

/** One line of plain text: no controls or invisible format characters, runs of white space as one space. */
export function plain(s: unknown, max = Number.POSITIVE_INFINITY): string {
  const text = String(s ?? '')
    .replace(BREAKS, ' ')
    .replace(INVISIBLE, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Characters backslash-escaped by {@link md} (CommonMark §2.4: an escaped ASCII punctuation character is
 * always literal): link, image and autolink syntax `[ ] ( ) ! < >`, raw HTML `<`, emphasis and code
 * `* _ \``, the escape itself `\\`, tables `|`, strikethrough `~`, attribute braces `{ }`, and the line
 * starters `# + - .`. Others (`%`, `,`, `&`, …) cannot start markup and are left as they are, so the
 * text stays readable where an EHR shows it unrendered.
 */
const MARKUP = /[\\`*_{}[\]()<>#+\-.!|~]|(?<=[A-Za-z]):/g;

/**
 * A string as literal markdown text: {@link plain}, then {@link MARKUP} escaped. A `:` right after a
 * letter is escaped too, so a scheme (`javascript:`, `https:`) never forms, nor a GFM autolink (whose
 * `www.`/e-mail domains the escaped `.` already breaks). Line starts are neutral because the text has
 * no line breaks and no leading space: it only ever continues a line that our own text began.
 */
export function md(s: unknown, max?: number): string {
  return plain(s, max).replace(MARKUP, '\\$&');
}

/** CDS Hooks: `summary` SHALL be under 140 characters. */
export const SUMMARY_MAX = 139;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** FHIR R4 dateTime (https://hl7.org/fhir/R4/datatypes.html#dateTime); a time always carries a zone. */
const FHIR_DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** A clinician's reading of a FHIR dateTime: its calendar date (and time) in one IANA zone. */
export interface DisplayDate {
  /** "3 Mar 2025" */
  readonly date: string;
  /** "3 Mar 2025 14:05", or the date alone when the source had no time of day. */
  readonly dateTime: string;
}

/**
 * A FHIR dateTime as "3 Mar 2025 14:05" in `timeZone` (month names spelled out here rather than taken
 * from `Intl`, whose short English month differs between ICU versions, e.g. "Sept"). A date without a
 * time stays that date whatever the zone; anything that is not a FHIR dateTime gives undefined.
 */
export function displayDate(value: string | undefined, timeZone: string): DisplayDate | undefined {
  if (value === undefined) return undefined;
  const m = FHIR_DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d] = m;
  if (!value.includes('T')) {
    const date = [d ? String(Number(d)) : '', mo ? MONTHS[Number(mo) - 1] : '', y].filter(Boolean).join(' ');
    return { date, dateTime: date };
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return undefined;
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const date = `${Number(parts['day'])} ${MONTHS[Number(parts['month']) - 1]} ${parts['year']}`;
  return { date, dateTime: `${date} ${parts['hour']}:${parts['minute']}` };
}

/** True when `value` is a FHIR dateTime that {@link displayDate} can show (no formatting done). */
export function isDisplayableDate(value: string | undefined): boolean {
  if (value === undefined || !FHIR_DATE_TIME.test(value)) return false;
  return !value.includes('T') || !Number.isNaN(Date.parse(value));
}

/**
 * One formatter per zone, kept: constructing an `Intl.DateTimeFormat` costs tens of microseconds (ICU
 * loads the zone and locale data), and a card call formats a date several times per ECG (issue #14: it was
 * the hook's largest single cost under load). The set of zones is the configured one plus tests' few.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    // An invalid zone throws above, as before, and is never kept.
    if (formatters.size < 64) formatters.set(timeZone, f);
  }
  return f;
}
