/**
 * Cards a clinician reads in seconds (issue #12 item 1, 2): one card per analysed ECG, led by its most
 * severe finding, a summary under 140 characters with the ECG's date in the configured time zone, the
 * comparison with the previous analysed ECG, and suggestions that are never a medication.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AI_NOTICE, buildCards, type CardInput, stableUuid } from '../../src/cds-hooks/cards.js';
import { leadCountOf } from '../../src/cds-hooks/services/ecg-arrhythmia.js';
import type { Card } from '../../src/cds-hooks/types.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { StoredResult } from '../../src/fhir/stored-result.js';
import { responseRuleErrors, schemaErrors } from '../support/cds-schema.js';
import { shownText } from '../support/markdown.js';

const opts = {
  sourceLabel: 'ecg-cds AI ECG analysis',
  modelCardUrl: 'http://localhost:8080/models/MODEL_CARD.md',
};
const counts = { N: 2000, S: 3, V: 140, F: 0, Q: 0 };
const MODEL = 'beat-cnn@2.0.0+rhythm-cnn@1.0.0+ae-quality@1.0.0';

function result(over: Partial<StoredResult> & Pick<StoredResult, 'findings'>): StoredResult {
  return {
    source: {
      observationId: 'ecg1',
      versionId: '1',
      subject: 'Patient/p1',
      effective: '2026-11-20T09:30:00Z',
    },
    modelVersion: MODEL,
    status: 'ok',
    heartRateBpm: 88,
    rhythm: { label: 'N', probability: 0.91 },
    counts,
    durationSeconds: 1800,
    lead: 'MLII',
    abstainedFraction: 0.02,
    limitations: [],
    ...over,
  };
}

const vt = {
  code: 'ventricular-tachycardia-run' as const,
  title: 'Ventricular tachycardia (run)',
  confidence: 0.93,
  evidence: ['run of 5 V beats at 152 bpm at 00:12:04'],
  onset: 724,
};
const pvcs = {
  code: 'frequent-pvcs' as const,
  title: 'Frequent premature ventricular complexes',
  confidence: 0.88,
  evidence: ['140 PVCs (6.5 % of beats) including 2 couplets, first at 00:03:12'],
  onset: 192,
};
const bigeminy = {
  code: 'ventricular-bigeminy' as const,
  title: 'Ventricular bigeminy',
  confidence: 0.99,
  evidence: ['34 bigeminy cycles in 7 episodes, first at 00:00:22'],
};
const trigeminy = {
  code: 'ventricular-trigeminy' as const,
  title: 'Ventricular trigeminy',
  confidence: 0.99,
  evidence: ['4 trigeminy cycles in 1 episode, first at 00:00:13'],
};
const af = {
  code: 'atrial-fibrillation' as const,
  title: 'Atrial fibrillation or flutter',
  confidence: 0.97,
  evidence: ['burden 100 % of 30 s analysed', 'irregularly irregular RR'],
};
const sinus = {
  code: 'sinus-rhythm' as const,
  title: 'Sinus rhythm',
  confidence: 0.91,
  evidence: ['regular RR'],
};

const at = (id: string, effective: string) => ({
  observationId: id,
  versionId: '1',
  subject: 'Patient/p1',
  effective,
});
const conformant = (cards: Card[]) => {
  assert.deepEqual(schemaErrors('CdsResponse', { cards }), []);
  assert.deepEqual(responseRuleErrors({ cards }), []);
};
/** The resources of every suggestion's actions. */
const suggested = (cards: Card[]) =>
  cards
    .flatMap((c) => c.suggestions ?? [])
    .flatMap((s) => s.actions ?? [])
    .map((a) => a.resource!);

describe('buildCards: one card per ECG', () => {
  it('one ECG with four findings is one card, led by the most severe, the others named in it', () => {
    const cards = buildCards(
      [{ result: result({ findings: [sinus, pvcs, bigeminy, trigeminy, vt] }) }],
      opts,
    );
    assert.equal(cards.length, 1);
    const [card] = cards as [Card];
    assert.equal(card.indicator, 'critical');
    assert.equal(card.source.topic?.code, '164895002');
    assert.match(card.summary, /^Ventricular tachycardia run with /);
    assert.match(card.summary, /frequent PVCs/);
    assert.ok(card.summary.length < 140, card.summary);
    // Each finding once in the detail with its evidence; the AI notice and the model version once.
    const detail = shownText(card.detail!);
    for (const f of [vt, pvcs, bigeminy, trigeminy]) {
      assert.ok(detail.includes(f.title), f.title);
      assert.ok(detail.includes(f.evidence[0]!), f.evidence[0]);
    }
    assert.ok(!detail.includes('Sinus rhythm'), 'a finding the policy does not card is not listed');
    assert.equal(detail.split(AI_NOTICE).length - 1, 1);
    assert.equal(detail.split(MODEL).length - 1, 1);
    assert.match(detail, /abstained on 2 %/);
    assert.ok(card.detail!.split('\n').length <= 14, 'short detail');
    conformant(cards);
  });

  it('names the kind of ECG: "12-lead ECG", "2-lead Holter ECG, 30 min", never "lead ECG"', () => {
    const [twelve] = buildCards(
      [{ result: result({ findings: [af], durationSeconds: 10, lead: 'II' }), leadCount: 12 }],
      opts,
    );
    assert.match(twelve!.summary, / on 12-lead ECG of 20 Nov 2026 09:30/);
    assert.match(twelve!.detail!, /\*\*12-lead ECG, 10 s\*\*/);
    const [holter] = buildCards([{ result: result({ findings: [pvcs] }), leadCount: 2 }], opts);
    assert.match(holter!.detail!, /\*\*2-lead Holter ECG, 30 min\*\*/);
    const [plainEcg] = buildCards(
      [{ result: result({ findings: [af], durationSeconds: 30, lead: 'ECG' }) }],
      opts,
    );
    assert.match(plainEcg!.detail!, /\*\*ECG, 30 s\*\*/);
    for (const c of [twelve!, holter!, plainEcg!])
      assert.doesNotMatch(`${c.summary}\n${c.detail}`, /(?<!\d-)lead ECG/);
  });

  it('shows the date in the configured time zone ("3 Mar 2025 14:05"), never a raw timestamp', () => {
    const r = result({ findings: [af], source: at('e', '2025-03-03T13:05:00.000Z') });
    const [utc] = buildCards([{ result: r }], opts);
    assert.match(utc!.summary, /of 3 Mar 2025 13:05/);
    assert.match(utc!.detail!, /recorded 3 Mar 2025 13:05 \(UTC\)/);
    const [berlin] = buildCards([{ result: r }], { ...opts, timeZone: 'Europe/Berlin' });
    assert.match(berlin!.summary, /of 3 Mar 2025 14:05/);
    assert.ok(shownText(berlin!.detail!).includes('recorded 3 Mar 2025 14:05 (Europe/Berlin)'));
    for (const c of [utc!, berlin!]) assert.doesNotMatch(`${c.summary}${c.detail}`, /2025-03-03|T13:05/);
  });

  it('DISPLAY_TIME_ZONE: UTC by default, an IANA zone when set, a start-up error naming it otherwise', () => {
    assert.equal(loadConfig({}).hook.timeZone, 'UTC');
    assert.equal(loadConfig({ DISPLAY_TIME_ZONE: 'America/New_York' }).hook.timeZone, 'America/New_York');
    assert.throws(
      () => loadConfig({ DISPLAY_TIME_ZONE: 'Mars/Olympus' }),
      (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /DISPLAY_TIME_ZONE: must be an IANA time zone/);
        return true;
      },
    );
  });

  it('one card per ECG, newest first (input order does not matter), with stable uuids', () => {
    const newer = result({ findings: [pvcs], source: at('ecg2', '2026-11-22T08:00:00Z') });
    const older = result({ findings: [vt] });
    const a = buildCards([{ result: older }, { result: newer }], opts);
    const b = buildCards([{ result: newer }, { result: older }], opts);
    assert.deepEqual(
      a.map((c) => c.uuid),
      b.map((c) => c.uuid),
    );
    assert.equal(a.length, 2);
    assert.match(a[0]!.summary, /22 Nov 2026/);
    assert.match(a[1]!.summary, /20 Nov 2026/);
    assert.equal(a[0]!.uuid, stableUuid(`ecg2|1|${MODEL}|ecg`));
    assert.match(a[0]!.uuid!, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('shows no card for a normal ECG unless the policy asks for one', () => {
    assert.deepEqual(buildCards([{ result: result({ findings: [sinus] }) }], opts), []);
    const cards = buildCards([{ result: result({ findings: [sinus] }) }], {
      ...opts,
      policy: { 'sinus-rhythm': 'info' },
    });
    assert.equal(cards.length, 1);
    assert.equal(cards[0]!.indicator, 'info');
  });

  it('CARD_POLICY sets the indicator and can silence a finding', () => {
    const [card] = buildCards([{ result: result({ findings: [pvcs, vt] }) }], {
      ...opts,
      policy: { 'ventricular-tachycardia-run': 'none', 'frequent-pvcs': 'info' },
    });
    assert.equal(card!.indicator, 'info');
    assert.match(card!.summary, /^Frequent PVCs on /);
    assert.ok(!shownText(card!.detail!).includes(vt.title));
  });

  it('keeps summaries under 140 characters whatever the titles', () => {
    const long = { ...pvcs, code: 'unknown-x' as never, title: 'x'.repeat(200) };
    const [card] = buildCards([{ result: result({ findings: [long, bigeminy, trigeminy, af] }) }], opts);
    assert.ok(card!.summary.length < 140, card!.summary);
  });
});

describe('buildCards: comparison with the previous analysed ECG', () => {
  const previous = result({ findings: [sinus], source: at('old', '2025-03-03T14:05:00Z') });
  const newest = result({ findings: [af, pvcs], source: at('new', '2025-03-10T08:00:00Z') });

  it('"new since the ECG of 3 Mar 2025 (sinus rhythm)" from the stored results already read', () => {
    const [card] = buildCards([{ result: newest }], opts, { patientId: 'p1', history: [previous] });
    assert.match(card!.summary, /new since 3 Mar 2025/);
    assert.ok(
      shownText(card!.detail!).includes('new since the ECG of 3 Mar 2025 (sinus rhythm)'),
      card!.detail,
    );
  });

  it('"also on the ECG of …" when the previous ECG showed the same finding', () => {
    const prevAf = result({ findings: [af], source: at('old', '2025-03-03T14:05:00Z') });
    const [card] = buildCards([{ result: newest }], opts, { patientId: 'p1', history: [prevAf] });
    const detail = shownText(card!.detail!);
    assert.match(card!.summary, /also on 3 Mar 2025/);
    assert.ok(detail.includes('also on the ECG of 3 Mar 2025'), detail);
    // PVCs were not on it: new since that ECG, which showed AF.
    assert.ok(detail.includes('new since the ECG of 3 Mar 2025 (atrial fibrillation or flutter)'), detail);
  });

  it('compares each carded ECG with the one before it; unanalysable ECGs and other patients are skipped', () => {
    const unable: StoredResult = {
      source: at('noise', '2025-03-05T10:00:00Z'),
      modelVersion: MODEL,
      status: 'unable',
      unable: { code: 'poor-signal-quality', reason: 'noise' },
      findings: [],
      limitations: [],
    };
    const stranger = result({
      findings: [pvcs],
      source: { ...at('x', '2025-03-08T10:00:00Z'), subject: 'Patient/other' },
    });
    const cards = buildCards([{ result: newest }, { result: previous }], opts, {
      patientId: 'p1',
      history: [unable, stranger, previous],
    });
    assert.equal(cards.length, 1, 'the sinus ECG makes no card of its own');
    assert.ok(shownText(cards[0]!.detail!).includes('new since the ECG of 3 Mar 2025 (sinus rhythm)'));
  });

  it('no previous analysed ECG: no comparison sentence', () => {
    const [card] = buildCards([{ result: newest }], opts, { patientId: 'p1' });
    assert.doesNotMatch(`${card!.summary}${card!.detail}`, /new since|also on/);
  });
});

describe('buildCards: an ECG that could not be read', () => {
  it('says when the newest ECG could not be analysed, with the reason', () => {
    const unable: StoredResult = {
      source: { observationId: 'ecg3', effective: '2026-11-24T08:00:00Z' },
      modelVersion: 'm@1',
      status: 'unable',
      unable: { code: 'poor-signal-quality', reason: '85 % of the recording is too noisy to read' },
      findings: [],
      limitations: [],
    };
    const cards = buildCards(
      [
        { result: unable, ecgUrl: 'http://fhir.example/Observation/ecg3' },
        { result: result({ findings: [vt] }) },
      ],
      opts,
    );
    assert.equal(cards.length, 2);
    const card = cards[0]!;
    assert.equal(card.indicator, 'info');
    assert.match(
      card.summary,
      /^ECG of 24 Nov 2026 08:00 could not be analysed by AI: 85 % of the recording is too noisy/,
    );
    assert.ok(card.links!.some((l) => l.url === 'http://fhir.example/Observation/ecg3'));
    conformant(cards);
  });

  it('a newest ECG the model mostly could not read is never silent ("all clear"): an info card says so', () => {
    const mostlyUnread = result({ findings: [sinus], abstainedFraction: 0.8, durationSeconds: 30 });
    const cards = buildCards([{ result: mostlyUnread }], opts);
    assert.equal(cards.length, 1);
    assert.equal(cards[0]!.indicator, 'info');
    assert.match(
      cards[0]!.summary,
      /^Sinus rhythm on ECG of 20 Nov 2026 09:30, but AI could not read 80 % of it/,
    );
    assert.ok(cards[0]!.summary.length < 140);
    assert.match(cards[0]!.detail!, /not reassuring/);
  });
});

describe('buildCards: links and suggestions', () => {
  const input = (r: StoredResult): CardInput => ({
    result: r,
    reportUrl: 'http://localhost:8080/fhir/DiagnosticReport/rep1',
    ecgUrl: 'http://localhost:8080/fhir/Observation/ecg1',
    reportReference: 'DiagnosticReport/rep1',
  });
  const withViewer = {
    ...opts,
    viewerLaunchUrl: 'http://localhost:8080/viewer/launch',
    linkOrigins: ['http://localhost:8080'],
  };

  it('a SMART "View ECG" link first, with appContext naming the Observation and the report; FHIR links after', () => {
    const [card] = buildCards([input(result({ findings: [af] }))], withViewer, { patientId: 'p1' });
    const [viewer, ...rest] = card!.links!;
    assert.deepEqual(viewer, {
      label: 'View ECG',
      url: 'http://localhost:8080/viewer/launch',
      type: 'smart',
      appContext: JSON.stringify({ observation: 'Observation/ecg1', report: 'DiagnosticReport/rep1' }),
    });
    assert.deepEqual(
      rest.map((l) => [l.type, l.url]),
      [
        ['absolute', 'http://localhost:8080/fhir/DiagnosticReport/rep1'],
        ['absolute', 'http://localhost:8080/fhir/Observation/ecg1'],
      ],
    );
  });

  it('AF → "Add atrial fibrillation (provisional) to the problem list": a provisional Condition citing our report', () => {
    const cards = buildCards([input(result({ findings: [af] }))], withViewer, { patientId: 'p1' });
    const card = cards[0]!;
    assert.equal(card.selectionBehavior, 'any');
    const [s] = card.suggestions!;
    assert.equal(s!.label, 'Add atrial fibrillation (provisional) to the problem list');
    assert.match(s!.uuid!, /^[0-9a-f-]{36}$/);
    const [action] = s!.actions!;
    assert.equal(action!.type, 'create');
    const c = action!.resource as fhir4.Condition;
    assert.equal(c.resourceType, 'Condition');
    assert.deepEqual(c.code!.coding![0], {
      system: 'http://snomed.info/sct',
      code: '49436004',
      display: 'Atrial fibrillation',
    });
    assert.equal(c.verificationStatus!.coding![0]!.code, 'provisional');
    assert.equal(c.category![0]!.coding![0]!.code, 'problem-list-item');
    assert.equal(c.subject.reference, 'Patient/p1');
    assert.equal(c.evidence![0]!.detail![0]!.reference, 'DiagnosticReport/rep1');
    conformant(cards);
  });

  it('VT runs or frequent ectopy → "Request 24-hour Holter monitoring": a draft ServiceRequest proposal', () => {
    const cards = buildCards([input(result({ findings: [vt, pvcs], durationSeconds: 600 }))], withViewer, {
      patientId: 'p1',
    });
    const [s] = cards[0]!.suggestions!;
    assert.equal(s!.label, 'Request 24-hour Holter monitoring');
    const sr = s!.actions![0]!.resource as fhir4.ServiceRequest;
    assert.equal(sr.resourceType, 'ServiceRequest');
    assert.equal(sr.status, 'draft');
    assert.equal(sr.intent, 'proposal');
    assert.ok(sr.code!.coding!.some((c) => c.system === 'http://snomed.info/sct' && c.code === '164850009'));
    assert.equal(sr.subject.reference, 'Patient/p1');
    assert.equal(sr.reasonReference![0]!.reference, 'DiagnosticReport/rep1');
  });

  it('each suggestion once per response, on the newest card; none after a 24-h recording; none without a stored report', () => {
    const newer = { ...input(result({ findings: [af], source: at('n', '2026-11-22T08:00:00Z') })) };
    const older = input(result({ findings: [af] }));
    const twice = buildCards([newer, older], withViewer, { patientId: 'p1' });
    assert.equal(twice[0]!.suggestions?.length, 1);
    assert.equal(twice[1]!.suggestions, undefined);
    assert.equal(twice[1]!.selectionBehavior, undefined);
    const day = buildCards([input(result({ findings: [pvcs], durationSeconds: 24 * 3600 }))], withViewer, {
      patientId: 'p1',
    });
    assert.equal(day[0]!.suggestions, undefined);
    const { reportReference: _, ...noReport } = input(result({ findings: [af] }));
    assert.equal(buildCards([noReport], withViewer, { patientId: 'p1' })[0]!.suggestions, undefined);
  });

  it('never suggests a medication, whatever the findings', () => {
    const all = [vt, pvcs, bigeminy, trigeminy, af, sinus];
    const cards = buildCards([input(result({ findings: all, durationSeconds: 60 }))], withViewer, {
      patientId: 'p1',
    });
    const resources = suggested(cards);
    assert.deepEqual(resources.map((r) => r.resourceType).sort(), ['Condition', 'ServiceRequest']);
    const text = JSON.stringify(cards).toLowerCase();
    for (const word of [
      'medication',
      'anticoagul',
      'warfarin',
      'apixaban',
      'amiodarone',
      'beta-blocker',
      'dose',
    ])
      assert.ok(!text.includes(word), word);
  });
});

describe('the ECG kind a card names, from the Observation', () => {
  const lead = (code: string, part?: number): fhir4.ObservationComponent => ({
    code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.24', code }] },
    valueSampledData: { origin: { value: 0 }, period: 2.8, dimensions: 1, data: '0 1 2' },
    ...(part
      ? {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/observation-timeOffset', valueInteger: part },
          ],
        }
      : {}),
  });
  const obs = (over: Partial<fhir4.Observation>): fhir4.Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '11524-6' }] },
    ...over,
  });

  it('12 for the 12-lead panel code (even without components, as in the _elements prefetch)', () => {
    assert.equal(
      leadCountOf(obs({ code: { coding: [{ system: 'http://loinc.org', code: '34534-8' }] } })),
      12,
    );
  });

  it('a long recording written in parts counts each lead once (2 leads × 3 parts → 2-lead)', () => {
    const parts = [0, 300_000, 600_000].flatMap((t) => [
      lead('131329', t || undefined),
      lead('131330', t || undefined),
    ]);
    assert.equal(leadCountOf(obs({ component: parts })), 2);
  });

  it('unknown without components or dimensions', () => {
    assert.equal(leadCountOf(obs({})), undefined);
  });
});
