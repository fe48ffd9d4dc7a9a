import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AI_NOTICE, buildCards, stableUuid } from '../../src/cds-hooks/cards.js';
import type { StoredResult } from '../../src/fhir/stored-result.js';
import { responseRuleErrors, schemaErrors } from '../support/cds-schema.js';
import { shownText } from '../support/markdown.js';

const opts = {
  sourceLabel: 'ecg-cds AI ECG analysis',
  modelCardUrl: 'http://localhost:8080/models/MODEL_CARD.md',
};
const counts = { N: 2000, S: 3, V: 140, F: 0, Q: 0 };

function result(over: Partial<StoredResult> & Pick<StoredResult, 'findings'>): StoredResult {
  return {
    source: {
      observationId: 'ecg1',
      versionId: '1',
      subject: 'Patient/p1',
      effective: '2026-11-20T09:30:00Z',
    },
    modelVersion: 'beat-cnn@2.0.0+rhythm-cnn@1.0.0+ae-quality@1.0.0',
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
const sinus = {
  code: 'sinus-rhythm' as const,
  title: 'Sinus rhythm',
  confidence: 0.91,
  evidence: ['regular RR'],
};

describe('buildCards', () => {
  it('makes one card per finding with the policy indicator, critical first, conformant to CDS Hooks', () => {
    const cards = buildCards([{ result: result({ findings: [sinus, pvcs, vt] }) }], opts);
    assert.deepEqual(
      cards.map((c) => [c.indicator, c.source.topic?.code]),
      [
        ['critical', '164895002'],
        ['warning', '427172004'],
      ],
    );
    const body = { cards };
    assert.deepEqual(schemaErrors('CdsResponse', body), []);
    assert.deepEqual(responseRuleErrors(body), []);
    const [vtCard] = cards;
    assert.match(vtCard!.summary, /Ventricular tachycardia.*93 %/);
    assert.ok(vtCard!.detail!.includes(AI_NOTICE));
    assert.ok(vtCard!.detail!.includes('run of 5 V beats at 152 bpm'));
    assert.ok(shownText(vtCard!.detail!).includes('beat-cnn@2.0.0')); // escaped in the markdown
    assert.match(vtCard!.detail!, /abstained on 2 %/);
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

  it('keeps the most recent ECG for a finding seen twice, with a stable uuid', () => {
    const newer = result({
      findings: [pvcs],
      source: { observationId: 'ecg2', versionId: '1', effective: '2026-11-22' },
    });
    const older = result({ findings: [pvcs] });
    const a = buildCards([{ result: newer }, { result: older }], opts);
    const b = buildCards([{ result: newer }, { result: older }], opts);
    assert.equal(a.length, 1);
    assert.match(a[0]!.summary, /2026-11-22/);
    assert.equal(a[0]!.uuid, b[0]!.uuid);
    assert.equal(a[0]!.uuid, stableUuid(`ecg2|1|${newer.modelVersion}|frequent-pvcs`));
    assert.match(a[0]!.uuid!, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

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
    const card = cards.find((c) => c.summary.includes('could not be analysed'))!;
    assert.equal(card.indicator, 'info');
    assert.match(card.summary, /85 % of the recording is too noisy/);
    assert.equal(card.links![0]!.url, 'http://fhir.example/Observation/ecg3');
    assert.deepEqual(responseRuleErrors({ cards }), []);
  });

  it('keeps summaries under 140 characters', () => {
    const long = { ...pvcs, title: 'x'.repeat(200) };
    const [card] = buildCards([{ result: result({ findings: [long] }) }], opts);
    assert.ok(card!.summary.length < 140);
  });
});
