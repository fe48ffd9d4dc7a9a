/**
 * Card text is data, not markup (issue #11 item 5): strings from outside are escaped for CommonMark in
 * `detail`, plain one-line text in `summary`, and links are http(s) on allowed origins only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { md, plain } from '../../src/cds-hooks/card-text.js';
import { buildCards } from '../../src/cds-hooks/cards.js';
import type { StoredResult } from '../../src/fhir/stored-result.js';
import { responseRuleErrors } from '../support/cds-schema.js';
import { shownText, unescapedMarkup } from '../support/markdown.js';

const LINK = '[click](javascript:alert(1))';
const IMG = '<img src=x onerror=alert(1)>';
const BOLD = '**bold**';
const ALL = `${LINK} ${IMG} ${BOLD}`;

const opts = {
  sourceLabel: 'ecg-cds AI ECG analysis',
  modelCardUrl: 'http://localhost:8080/models/MODEL_CARD.md',
  linkOrigins: ['http://localhost:8080', 'https://fhir.example.org'],
};

function hostile(over: Partial<StoredResult> = {}): StoredResult {
  return {
    source: {
      observationId: 'ecg1',
      versionId: '1',
      subject: 'Patient/p1',
      effective: `2026-11-20T09:30:00Z ${LINK}\n# heading`,
    },
    modelVersion: `v1 ${IMG}`,
    status: 'ok',
    heartRateBpm: 140,
    durationSeconds: 30,
    lead: `II ${LINK} ${IMG}`,
    abstainedFraction: 0,
    findings: [
      {
        code: 'atrial-fibrillation',
        title: `Atrial fibrillation ${ALL}\n\n<script>alert(1)</script>`,
        confidence: 0.9,
        evidence: [`irregular RR in lead ${LINK}`, `\n    indented code ${BOLD}`, `| a | b |\n|---|---|`],
      },
    ],
    limitations: [`${IMG} ![x](data:image/png;base64,AAAA)`, '---'],
    ...over,
  };
}

describe('card text from hostile input', () => {
  it('md() escapes every markdown construct; what a renderer shows is the input as text', () => {
    const m = md(ALL);
    assert.deepEqual(unescapedMarkup(m), []);
    assert.equal(shownText(m), ALL);
    assert.ok(m.includes('\\[click\\]\\(javascript\\:alert\\(1\\)\\)'), m);
    assert.ok(m.includes('\\<img src=x onerror=alert\\(1\\)\\>'), m);
    assert.ok(m.includes('\\*\\*bold\\*\\*'), m);
  });

  it('md() keeps input on one line and drops control and bidi characters', () => {
    assert.equal(md('a\n# b\r\n- c\u2028d'), 'a \\# b \\- c d');
    assert.equal(plain('x\u202Eevil\u0000\u200By'), 'xevily');
    assert.equal(plain(`  ${'z'.repeat(300)}`, 139).length, 139);
  });

  it('property: md(s) leaves no markup character unescaped and shows exactly plain(s)', () => {
    const printable = fc.string({
      unit: fc.constantFrom(...' ab:/.-_*[]()<>!#|~`\\{}+&%\n\u202E'),
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), printable), (s) => {
        const m = md(s);
        const bare = m.replace(/\\[!-/:-@[-`{-~]/g, '\u0001'); // each escaped pair: one inert character
        assert.doesNotMatch(bare, /[\\`*_{}[\]()<>#+\-.!|~]|[A-Za-z]:/);
        assert.doesNotMatch(m, /[\n\r]/);
        assert.equal(shownText(m), plain(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('a finding card built from hostile strings carries them only escaped', () => {
    const [card] = buildCards([{ result: hostile() }], opts);
    assert.ok(card);
    const detail = card.detail!;
    assert.deepEqual(unescapedMarkup(detail), [], detail);
    assert.ok(!detail.includes('](javascript:'));
    assert.doesNotMatch(detail, /(?<!\\)<img/);
    assert.doesNotMatch(detail, /(?<!\\)<script/);
    assert.ok(!detail.includes(BOLD) && detail.includes('\\*\\*bold\\*\\*'));
    // Every input line continues one of our lines: no heading, list, table or code block of its own.
    for (const line of detail.split('\n')) {
      assert.match(line, /^(?:$|\*\*|Limitations: |Signal quality|Model |- \*\*)/, line);
    }
    const shown = shownText(detail);
    assert.ok(shown.includes(`beats read on lead II ${LINK} ${IMG}.`), shown);
    assert.ok(shown.includes(`Atrial fibrillation ${ALL} <script>alert(1)</script>`), shown);
    assert.ok(shown.includes(`: irregular RR in lead ${LINK};`), shown);
    // The summary is one line of plain text under 140 characters; the topic display likewise.
    assert.doesNotMatch(card.summary, /[\n\r]/);
    assert.ok(card.summary.length < 140);
    assert.doesNotMatch(card.source.topic?.display ?? '', /[\n\r]/);
    assert.deepEqual(responseRuleErrors({ cards: [card] }), []);
  });

  it('a well-formed dateTime is shown as a date in the display zone; anything else is not shown at all', () => {
    const ok = hostile({ source: { observationId: 'e', effective: '2026-11-20T09:30:00.000+01:00' } });
    const [card] = buildCards([{ result: ok }], opts);
    assert.ok(card!.detail!.includes('recorded 20 Nov 2026 08:30 (UTC),'), card!.detail);
    assert.match(card!.summary, /of 20 Nov 2026 08:30/);
    const bad = hostile({ source: { observationId: 'e', effective: `2026-11-20 ${LINK}` } });
    const [badCard] = buildCards([{ result: bad }], opts);
    assert.doesNotMatch(`${badCard!.summary}${badCard!.detail}`, /recorded|2026/);
  });

  it('an "unable" card escapes the decoder reason that quotes the input', () => {
    const [card] = buildCards(
      [
        {
          result: hostile({
            status: 'unable',
            unable: { code: 'decode-unknown-lead-code', reason: `no known MDC lead code (${ALL}|x)` },
            findings: [],
          }),
        },
      ],
      opts,
    );
    assert.ok(card);
    assert.deepEqual(unescapedMarkup(card.detail!), [], card.detail);
    assert.ok(shownText(card.detail!).includes(ALL));
    assert.doesNotMatch(card.summary, /[\n\r]/);
  });

  it('links: only http(s), only allowed origins', () => {
    const cases: Array<[string | undefined, boolean]> = [
      ['javascript:alert(1)', false],
      ['data:text/html,<script>alert(1)</script>', false],
      ['vbscript:msgbox', false],
      ['https://evil.example/fhir/DiagnosticReport/1', false],
      ['http://user:pw@localhost:8080/fhir/Observation/1', false],
      ['not a url', false],
      ['http://localhost:8080/fhir/DiagnosticReport/r1', true],
      ['https://fhir.example.org/r4/Observation/o1', true],
    ];
    for (const [url, kept] of cases) {
      const [card] = buildCards(
        [{ result: hostile(), ...(url ? { reportUrl: url, ecgUrl: url } : {}) }],
        opts,
      );
      const urls = (card?.links ?? []).map((l) => l.url);
      assert.equal(urls.length, kept ? 2 : 0, `${url} → ${urls.join(', ')}`);
      for (const u of urls) assert.match(u, /^https?:\/\//);
    }
    // Without an origin list, still no other scheme.
    const [card] = buildCards([{ result: hostile(), reportUrl: 'javascript:alert(1)' }], {
      sourceLabel: 'x',
      modelCardUrl: 'http://localhost:8080/m',
    });
    assert.equal(card?.links, undefined);
  });
});
